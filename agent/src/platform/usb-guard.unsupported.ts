// Platforms without USB write control: the capability says so, nothing is pretended.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { UsbGuard } from './usb.ts';

export function createUnsupportedUsbGuard(platform: string): UsbGuard {
  const reason = `USB write control is not supported on ${platform}`;
  const fail = () => Promise.reject(new CustodianError(ErrorCode.UNAVAILABLE, reason));
  return {
    platform,
    availability: async () => ({ available: false, reason }),
    scan: fail,
    watch: () => ({ stop: async () => undefined }),
    applyPlan: async () => null,
    block: fail,
    release: fail,
    teardown: async () => undefined,
  };
}
