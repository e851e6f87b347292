import { ErrorCode, isCustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { defaultPolicy, mergePolicy, policyFromWire, policyToWire, validatePolicy } from '../src/index.ts';

describe('policy', () => {
  it('defaults are valid and match the school defaults', () => {
    const p = validatePolicy(defaultPolicy());
    expect(p.idleLock.idleLockSeconds).toBe(900);
    expect(p.usb.mode).toBe('block-unencrypted-writes');
    expect(p.capture.enabled).toBe(true);
    expect(p.heartbeatSeconds).toBe(60);
  });

  it('round-trips through the wire form', () => {
    const p = mergePolicy(defaultPolicy(), {
      version: 7,
      usb: {
        mode: 'block-all-writes',
        allow: [
          { vendorId: '0781', productId: '5581', serial: 'S1', approvedBy: 'it@school', reason: 'issued' },
        ],
        treatAsUsb: ['loop3'],
      },
      capture: { customTerms: [{ term: 'fight after school', category: 'bullying', severity: 3 }] },
    });
    expect(policyFromWire(policyToWire(p))).toEqual(p);
  });

  it('names every bad field and keeps nothing half-valid', () => {
    let err: unknown;
    try {
      mergePolicy(defaultPolicy(), {
        idleLock: { idleLockSeconds: 0 },
        usb: { mode: 'nope' as never, treatAsUsb: ['../etc'] },
        capture: { minSeverity: 9 },
      });
    } catch (e) {
      err = e;
    }
    expect(isCustodianError(err, ErrorCode.INVALID_POLICY)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain('idleLock.idleLockSeconds');
    expect(msg).toContain('usb.mode');
    expect(msg).toContain('usb.treatAsUsb[0]');
    expect(msg).toContain('capture.minSeverity');
  });

  it('requires who and why on every USB allow entry', () => {
    expect(() =>
      mergePolicy(defaultPolicy(), {
        usb: { allow: [{ vendorId: '0781', productId: '5581', serial: '', approvedBy: '', reason: '' }] },
      }),
    ).toThrow(/approvedBy.*reason|who approved/);
  });

  it('rejects a wire policy with an unknown USB mode', () => {
    const wire = policyToWire(defaultPolicy());
    expect(() => policyFromWire({ ...wire, usb: { ...wire.usb, mode: 0 } })).toThrow(/usb.mode/);
  });
});
