// Platforms Custodian has no idle measurement for: say so instead of guessing.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { IdleProbe } from './idle.ts';

export function createUnsupportedIdleProbe(platform: string): IdleProbe {
  const reason = `idle time is not supported on ${platform}`;
  return {
    method: 'none',
    idleMs: () => Promise.reject(new CustodianError(ErrorCode.UNAVAILABLE, reason)),
    availability: async () => ({ available: false, reason }),
  };
}
