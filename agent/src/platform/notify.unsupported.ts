// Platforms where Custodian cannot show the idle warning: say so, never pretend.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { IdleNotifier } from './notify.ts';

export function createUnsupportedNotifier(platform: string): IdleNotifier {
  const reason = `no idle-lock warning notice on ${platform}`;
  return {
    method: 'none',
    availability: async () => ({ available: false, reason }),
    show: () => Promise.reject(new CustodianError(ErrorCode.UNAVAILABLE, reason)),
    dismiss: async () => undefined,
  };
}
