// What policy says about one USB volume. Pure: the enforcer acts on the answer.
import type { UsbPlan, UsbVolumeInfo } from '../platform/usb.ts';

/** `system-disk`: the disk holds the running system; it is never made read-only (reported as writable). */
export type UsbDecision = 'allow' | 'block' | 'audit' | 'allowed-by-list' | 'system-disk';

export interface UsbVerdict {
  decision: UsbDecision;
  /** Plain words for the timeline. */
  reason: string;
}

/**
 * `demo` only changes the wording: the demo agent's audit mode arrives through the policy (the
 * agent's policy store lays it over the collector's unless --enforce).
 */
export function decideUsb(v: UsbVolumeInfo, plan: UsbPlan, demo = false): UsbVerdict {
  if (v.systemUse) {
    // Before every mode: making the system disk read-only (`treatAsUsb: ['vda']`) takes the
    // machine down; no policy may ask for it.
    return {
      decision: 'system-disk',
      reason: `not blocked: ${v.systemUse}; a disk holding the running system is never made read-only`,
    };
  }
  if (plan.mode === 'audit') {
    return {
      decision: 'audit',
      reason: demo
        ? 'demo agent: USB in audit mode, recorded not blocked (--enforce blocks)'
        : 'usb.mode=audit: recorded, not blocked',
    };
  }
  if (plan.mode === 'allow') return { decision: 'allow', reason: 'usb.mode=allow' };
  const entry = plan.allow.find(
    (a) =>
      v.vendorId !== '' &&
      a.vendorId === v.vendorId &&
      a.productId === v.productId &&
      (a.serial === '' || a.serial === v.serial),
  );
  if (entry) {
    return {
      decision: 'allowed-by-list',
      reason: `on the allow list: approved by ${entry.approvedBy} (${entry.reason})`,
    };
  }
  if (plan.mode === 'block-all-writes') return { decision: 'block', reason: 'usb.mode=block-all-writes' };
  switch (v.encryption) {
    case 'encrypted':
      return { decision: 'allow', reason: `encrypted (${v.encryptionKind})` };
    case 'unknown':
      // Nothing proves it is encrypted (VeraCrypt and raw data look the same): fail closed.
      return {
        decision: 'block',
        reason: 'no recognisable filesystem or encryption header: treated as unencrypted',
      };
    default:
      return {
        decision: 'block',
        reason: v.encryptionNote ? `unencrypted: ${v.encryptionNote}` : `unencrypted ${v.fsType || 'volume'}`,
      };
  }
}
