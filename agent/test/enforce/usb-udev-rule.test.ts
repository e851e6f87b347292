import { describe, expect, it } from 'vitest';
import { udevRuleFor } from '../../src/platform/usb-udev-rule.linux.ts';

const base = { allow: [], treatAsUsb: [] };

describe('udevRuleFor', () => {
  it('no rule when the plan allows writes', () => {
    expect(udevRuleFor({ ...base, mode: 'audit' }, '/usr/sbin/blockdev').text).toBeNull();
    expect(udevRuleFor({ ...base, mode: 'allow' }, '/usr/sbin/blockdev').text).toBeNull();
  });
  it('block-unencrypted-writes: USB and treat-as-USB devices, encrypted containers and partition tables exempt', () => {
    const { text } = udevRuleFor(
      { ...base, mode: 'block-unencrypted-writes', treatAsUsb: ['loop3', 'mmcblk0'] },
      '/usr/sbin/blockdev',
    );
    const lines = (text ?? '').split('\n');
    expect(lines).toContain('ENV{ID_BUS}=="usb", GOTO="custodian_usb_check"');
    expect(lines).toContain('KERNEL=="loop3|loop3p[0-9]*|loop3[0-9]*", GOTO="custodian_usb_check"');
    expect(lines).toContain('ENV{ID_FS_USAGE}=="crypto", GOTO="custodian_usb_end"');
    expect(lines).toContain('ENV{ID_PART_TABLE_TYPE}=="?*", ENV{DEVTYPE}=="disk", GOTO="custodian_usb_end"');
    expect(lines).toContain('RUN+="/usr/sbin/blockdev --setro $devnode"');
    expect(lines.indexOf('LABEL="custodian_usb_check"')).toBeLessThan(
      lines.indexOf('RUN+="/usr/sbin/blockdev --setro $devnode"'),
    );
  });
  it('block-all-writes exempts nothing but the allow list', () => {
    const { text } = udevRuleFor(
      {
        ...base,
        mode: 'block-all-writes',
        allow: [
          {
            vendorId: '0781',
            productId: '5581',
            serial: 'AB12',
            approvedBy: 'it\nRUN+="/bin/sh"',
            reason: 'x',
          },
        ],
      },
      '/sbin/blockdev',
    );
    expect(text).not.toContain('ID_FS_USAGE');
    expect(text).toContain(
      'ENV{ID_VENDOR_ID}=="0781", ENV{ID_MODEL_ID}=="5581", ENV{ID_SERIAL_SHORT}=="AB12", GOTO="custodian_usb_end"',
    );
    // Text from policy only ever reaches a comment, on one line.
    expect((text ?? '').split('\n').filter((l) => l.includes('/bin/sh'))).toEqual([
      '# approved by it RUN+="/bin/sh": x',
    ]);
  });
  it('allow entries that cannot be quoted safely are left out and named', () => {
    const r = udevRuleFor(
      {
        ...base,
        mode: 'block-all-writes',
        allow: [{ vendorId: '0781', productId: '5581', serial: 'A"B', approvedBy: 'a', reason: 'b' }],
      },
      '/sbin/blockdev',
    );
    expect(r.skipped).toEqual(['0781:5581']);
    expect(r.text).not.toContain('A"B');
  });
});
