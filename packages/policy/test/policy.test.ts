import { ErrorCode, isCustodianError } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import {
  defaultPolicy,
  EDIT_LIMITS,
  mergePolicy,
  type PolicyPatch,
  policyFromWire,
  policyToWire,
  RECEIVED_LIMITS,
  validatePolicy,
} from '../src/index.ts';

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

  it('refuses control characters in every policy string, naming the field (a NUL once became a udev RUN line)', () => {
    const attack = 'school stick\u0000RUN+="/bin/sh -c id>/tmp/pwned"';
    const fields: [string, PolicyPatch][] = [
      [
        'usb.allow[0].reason',
        {
          usb: {
            allow: [{ vendorId: '0781', productId: '5581', serial: '', approvedBy: 'it', reason: attack }],
          },
        },
      ],
      [
        'usb.allow[0].approvedBy',
        {
          usb: {
            allow: [{ vendorId: '0781', productId: '5581', serial: '', approvedBy: attack, reason: 'r' }],
          },
        },
      ],
      [
        'usb.allow[0].serial',
        {
          usb: {
            allow: [{ vendorId: '0781', productId: '5581', serial: 'A\nB', approvedBy: 'it', reason: 'r' }],
          },
        },
      ],
      ['idleLock.exemptionReason', { idleLock: { exemptionReason: 'x\ry' } }],
      ['usb.treatAsUsb[0]', { usb: { treatAsUsb: ['loop3\u0000'] } }],
      ['capture.categories[0]', { capture: { categories: ['a\u007fb'] } }],
      [
        'capture.customTerms[0].term',
        { capture: { customTerms: [{ term: 'a\u2028b', category: 'c', severity: 3 }] } },
      ],
      [
        'capture.customTerms[0].category',
        { capture: { customTerms: [{ term: 't', category: '\u0085', severity: 3 }] } },
      ],
    ];
    for (const [field, patch] of fields) {
      expect(() => mergePolicy(defaultPolicy(), patch), field).toThrow(
        new RegExp(`${field.replace(/[.[\]]/g, '\\$&')} must not contain control characters`),
      );
    }
    // The agent validates a pushed wire policy with the same rule.
    const wire = policyToWire(defaultPolicy());
    expect(() =>
      policyFromWire({
        ...wire,
        usb: {
          ...wire.usb,
          allow: [{ vendorId: '0781', productId: '5581', approvedBy: 'it', reason: attack }],
        },
      }),
    ).toThrow(/usb\.allow\[0\]\.reason must not contain control characters \(U\+0000 at position 12\)/);
    // Ordinary text, accents and emoji stay allowed.
    expect(
      mergePolicy(defaultPolicy(), {
        idleLock: { exemptionReason: 'Café — SEN pupil 👍, agreed "in writing"' },
      }).idleLock.exemptionReason,
    ).toContain('Café');
  });

  it('an idle lock sooner than 60 s is refused to people editing policy; a received one is read as sent', () => {
    for (const s of [1, 59]) {
      expect(() =>
        mergePolicy(defaultPolicy(), { idleLock: { idleLockSeconds: s, warningSeconds: 0 } }),
      ).toThrow(/idleLock\.idleLockSeconds must be a whole number from 60 to 86400/);
    }
    expect(
      mergePolicy(defaultPolicy(), { idleLock: { idleLockSeconds: 60, warningSeconds: 30 } }).idleLock
        .idleLockSeconds,
    ).toBe(60);
    const low = {
      ...defaultPolicy(),
      idleLock: { ...defaultPolicy().idleLock, idleLockSeconds: 3, warningSeconds: 0 },
    };
    expect(() => validatePolicy(low)).toThrow(/idleLockSeconds/);
    expect(validatePolicy(low, RECEIVED_LIMITS).idleLock.idleLockSeconds).toBe(3);
    expect(policyFromWire(policyToWire(low)).idleLock.idleLockSeconds).toBe(3);
    expect(() => policyFromWire(policyToWire(low), EDIT_LIMITS)).toThrow(/from 60/);
    expect(() =>
      validatePolicy({ ...low, idleLock: { ...low.idleLock, idleLockSeconds: 0 } }, RECEIVED_LIMITS),
    ).toThrow(/from 1 to/);
  });

  it('rejects a wire policy with an unknown USB mode', () => {
    const wire = policyToWire(defaultPolicy());
    expect(() => policyFromWire({ ...wire, usb: { ...wire.usb, mode: 0 } })).toThrow(/usb.mode/);
  });
});
