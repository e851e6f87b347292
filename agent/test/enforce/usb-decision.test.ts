import { describe, expect, it } from 'vitest';
import { decideUsb } from '../../src/enforce/usb-decision.ts';
import type { UsbPlan, UsbVolumeInfo } from '../../src/platform/usb.ts';

const vol = (over: Partial<UsbVolumeInfo> = {}): UsbVolumeInfo => ({
  device: 'sdb1',
  devicePath: '/dev/sdb1',
  disk: 'sdb',
  via: 'usb',
  vendorId: '0781',
  productId: '5567',
  vendor: '',
  product: '',
  serial: 'S1',
  sizeBytes: 1,
  label: '',
  uuid: '',
  fsType: 'vfat',
  encryption: 'unencrypted',
  encryptionKind: '',
  deviceReadOnly: false,
  mounts: [],
  ...over,
});
const plan = (over: Partial<UsbPlan> = {}): UsbPlan => ({
  mode: 'block-unencrypted-writes',
  allow: [],
  treatAsUsb: [],
  ...over,
});
const entry = {
  vendorId: '0781',
  productId: '5567',
  serial: '',
  approvedBy: 'it@school',
  reason: 'school stick',
};

describe('decideUsb', () => {
  it('block-unencrypted-writes: blocks unencrypted and unknown, allows encrypted', () => {
    expect(decideUsb(vol(), plan())).toEqual({ decision: 'block', reason: 'unencrypted vfat' });
    expect(decideUsb(vol({ encryption: 'unknown', fsType: '' }), plan()).decision).toBe('block');
    expect(decideUsb(vol({ encryption: 'encrypted', encryptionKind: 'luks' }), plan())).toEqual({
      decision: 'allow',
      reason: 'encrypted (luks)',
    });
  });
  it('block-all-writes blocks encrypted too; allow and audit never block', () => {
    expect(
      decideUsb(vol({ encryption: 'encrypted', encryptionKind: 'luks' }), plan({ mode: 'block-all-writes' }))
        .decision,
    ).toBe('block');
    expect(decideUsb(vol(), plan({ mode: 'allow' })).decision).toBe('allow');
    expect(decideUsb(vol(), plan({ mode: 'audit' })).decision).toBe('audit');
  });
  it('the allow list matches vendor+product, and the serial when one is given', () => {
    expect(decideUsb(vol(), plan({ allow: [entry] }))).toEqual({
      decision: 'allowed-by-list',
      reason: 'on the allow list: approved by it@school (school stick)',
    });
    expect(decideUsb(vol(), plan({ mode: 'block-all-writes', allow: [entry] })).decision).toBe(
      'allowed-by-list',
    );
    expect(decideUsb(vol(), plan({ allow: [{ ...entry, serial: 'OTHER' }] })).decision).toBe('block');
    expect(decideUsb(vol({ productId: '5581' }), plan({ allow: [entry] })).decision).toBe('block');
    expect(
      decideUsb(
        vol({ vendorId: '', productId: '' }),
        plan({ allow: [{ ...entry, vendorId: '', productId: '' }] }),
      ).decision,
    ).toBe('block');
  });
  it('the demo agent says why it only audits; with --enforce (an enforcing policy) it blocks', () => {
    expect(decideUsb(vol(), plan({ mode: 'audit' }), true)).toEqual({
      decision: 'audit',
      reason: expect.stringMatching(/demo agent.*--enforce/),
    });
    expect(decideUsb(vol(), plan(), true).decision).toBe('block');
  });
});
