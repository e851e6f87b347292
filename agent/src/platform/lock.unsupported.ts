// Platforms Custodian cannot lock: report it, never pretend.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { ScreenLocker } from './lock.ts';

export function createUnsupportedScreenLocker(platform: string): ScreenLocker {
  const reason = `screen locking is not supported on ${platform}`;
  return {
    methods: [],
    availability: async () => ({ available: false, reason }),
    lock: () =>
      Promise.reject(new CustodianError(ErrorCode.UNAVAILABLE, reason, { details: { method: 'none' } })),
    isLocked: () => Promise.reject(new CustodianError(ErrorCode.UNAVAILABLE, reason)),
  };
}
