// Tests that are not about MFA sign admins and DSLs in with a password only. The production
// default (config auth.mfaRequiredRoles = admin, dsl) is what collector/test/auth/mfa-*.test.ts run.
import type { CollectorConfig } from '../../src/config.ts';

export function passwordOnly(config: CollectorConfig): CollectorConfig {
  return { ...config, auth: { ...config.auth, mfaRequiredRoles: [] } };
}
