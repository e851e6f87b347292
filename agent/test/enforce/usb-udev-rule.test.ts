// The udev rule writer: what it writes, and (issue 11 item 4) that no string from policy or config
// can make udev run anything but blockdev. The second part asks udev itself: `udevadm test` parses
// the generated file in a private mount namespace (unshare -m) where a temp dir is bind-mounted over
// /etc/udev/rules.d and a tmpfs over /run/udev, so nothing reaches the real /etc or udev database.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupLoopScaffolding, tempDir } from '../../../test/support/loopdev.ts';
import type { UsbPlan } from '../../src/platform/usb.ts';
import { ruleOwner, udevRuleFor } from '../../src/platform/usb-udev-rule.linux.ts';

const base = { allow: [], treatAsUsb: [] };
const TOOLS = { blockdev: '/usr/sbin/blockdev', blkid: '/usr/sbin/blkid' };
const SBIN = { blockdev: '/sbin/blockdev', blkid: '/sbin/blkid' };

describe('udevRuleFor', () => {
  it('no rule when the plan allows writes', () => {
    expect(udevRuleFor({ ...base, mode: 'audit' }, TOOLS).text).toBeNull();
    expect(udevRuleFor({ ...base, mode: 'allow' }, TOOLS).text).toBeNull();
  });
  it('block-unencrypted-writes: USB and treat-as-USB devices, encrypted containers and partition tables exempt', () => {
    const { text } = udevRuleFor(
      { ...base, mode: 'block-unencrypted-writes', treatAsUsb: ['loop3', 'mmcblk0'] },
      TOOLS,
    );
    const lines = (text ?? '').split('\n');
    expect(lines).toContain('ENV{ID_BUS}=="usb", GOTO="custodian_usb_check"');
    expect(lines).toContain('SUBSYSTEMS=="mmc", ATTRS{type}=="SD", GOTO="custodian_usb_check"');
    expect(lines).toContain(
      'KERNEL!="sr[0-9]*", SUBSYSTEMS=="block", ATTRS{removable}=="1", GOTO="custodian_usb_check"',
    );
    expect(lines).toContain('SUBSYSTEMS=="pci", ATTRS{removable}=="removable", GOTO="custodian_usb_check"');
    expect(lines).toContain('KERNEL=="loop3|loop3p[0-9]*", GOTO="custodian_usb_check"');
    expect(lines).toContain('ENV{ID_FS_USAGE}=="crypto", GOTO="custodian_usb_end"');
    // A filesystem alongside the header sends a claimed-encrypted volume to the read-only label first.
    const alongside =
      'ENV{ID_FS_USAGE}=="crypto", PROGRAM=="/usr/sbin/blkid -p -o value -s TYPE -u filesystem $devnode", GOTO="custodian_usb_readonly"';
    expect(lines.indexOf(alongside)).toBeGreaterThan(-1);
    expect(lines.indexOf(alongside)).toBeLessThan(
      lines.indexOf('ENV{ID_FS_USAGE}=="crypto", GOTO="custodian_usb_end"'),
    );
    expect(lines.indexOf('LABEL="custodian_usb_readonly"')).toBe(
      lines.indexOf('RUN+="/usr/sbin/blockdev --setro $devnode"') - 1,
    );
    expect(lines).toContain(
      'ENV{ID_PART_TABLE_TYPE}=="?*", ENV{DEVTYPE}=="disk", ENV{ID_FS_TYPE}=="", GOTO="custodian_usb_end"',
    );
    expect(lines).toContain('RUN+="/usr/sbin/blockdev --setro $devnode"');
    expect(lines.indexOf('LABEL="custodian_usb_check"')).toBeLessThan(
      lines.indexOf('RUN+="/usr/sbin/blockdev --setro $devnode"'),
    );
  });
  it('block-all-writes exempts nothing but the allow list, and writes no free text from policy', () => {
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
            reason: 'Head of maths',
          },
        ],
      },
      SBIN,
    );
    expect(text).not.toContain('ID_FS_USAGE');
    expect(text).toContain(
      'ENV{ID_VENDOR_ID}=="0781", ENV{ID_MODEL_ID}=="5581", ENV{ID_SERIAL_SHORT}=="AB12", GOTO="custodian_usb_end"',
    );
    expect(text).not.toContain('/bin/sh');
    expect(text).not.toContain('Head of maths');
  });
  it('entries that cannot be written safely are left out and named by position, never by their text', () => {
    const r = udevRuleFor(
      {
        ...base,
        mode: 'block-all-writes',
        allow: [
          { vendorId: '0781', productId: '5581', serial: 'A"B', approvedBy: 'a', reason: 'b' },
          { vendorId: '0781', productId: '5581', serial: 'SAFE1', approvedBy: 'a', reason: 'b' },
          { vendorId: '07"1', productId: '5581', serial: '', approvedBy: 'a', reason: 'b' },
        ],
        treatAsUsb: ['sd*', 'loop2'],
      },
      SBIN,
    );
    expect(r.skipped).toEqual(['usb.allow[0]', 'usb.allow[2]', 'usb.treatAsUsb[0]']);
    expect(r.text).not.toContain('A"B');
    expect(r.text).not.toContain('sd*');
    expect(r.text).toContain('ENV{ID_SERIAL_SHORT}=="SAFE1"');
    expect(r.text).toContain('KERNEL=="loop2|');
  });
  it('refuses an owner or blockdev path that is not a plain absolute path', () => {
    const plan: UsbPlan = { ...base, mode: 'block-all-writes' };
    expect(() => udevRuleFor(plan, SBIN, '/var/lib/x\0RUN+="/bin/sh"')).toThrow(/plain absolute path/);
    expect(() => udevRuleFor(plan, SBIN, '/var/lib/my agent')).toThrow(/plain absolute path/);
    expect(() => udevRuleFor(plan, { blockdev: '/sbin/blockdev $devnode"', blkid: '/sbin/blkid' })).toThrow(
      /plain absolute path/,
    );
    const { text } = udevRuleFor(plan, SBIN, '/var/lib/custodian-agent');
    expect(ruleOwner(text ?? '')).toBe('/var/lib/custodian-agent');
    expect(ruleOwner('# owner: /tmp/a"b\n')).toBeUndefined();
  });
});

// Strings a rogue collector (or a bug upstream of validation) could hand the writer. The writer is
// called with the plan as given, without policy validation, so it must hold on its own.
const HOSTILE = [
  'x\u0000RUN+="/bin/touch /tmp/custodian-pwned"',
  'x\nRUN+="/bin/touch /tmp/custodian-pwned"',
  'x\rRUN+="/bin/touch /tmp/custodian-pwned"',
  'x\u000bRUN+="/bin/touch /tmp/custodian-pwned"',
  'x\u000cRUN+="/bin/touch /tmp/custodian-pwned"',
  'x\u2028RUN+="/bin/touch /tmp/custodian-pwned"',
  'x\u0085RUN+="/bin/touch /tmp/custodian-pwned"',
  '", RUN+="/bin/touch /tmp/custodian-pwned", ENV{X}="',
  '\\\nRUN+="/bin/touch /tmp/custodian-pwned"',
  'PROGRAM="/bin/touch /tmp/custodian-pwned"',
  '*',
];

function hostilePlan(mode: UsbPlan['mode'], s: string): UsbPlan {
  return {
    mode,
    allow: [
      { vendorId: '0781', productId: '5581', serial: s, approvedBy: s, reason: s },
      { vendorId: s, productId: s, serial: '', approvedBy: s, reason: s },
      { vendorId: '0781', productId: '5582', serial: '', approvedBy: s, reason: s },
    ],
    treatAsUsb: [s, 'loop7'],
  };
}

/** `udevadm test` of one rules file for /sys/class/block/loop7, in a private mount namespace. */
function udevTest(ruleText: string | null): { runs: string[]; programs: string[]; raw: string } {
  const dir = tempDir('custodian-udev-rules-');
  if (ruleText !== null) writeFileSync(join(dir, '61-custodian-usb-readonly.rules'), ruleText);
  const r = spawnSync(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$1" /etc/udev/rules.d && mount -t tmpfs tmpfs /run/udev && exec udevadm test --action=add /sys/class/block/loop7',
      'sh',
      dir,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  const raw = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`udevadm test failed (${r.status}): ${raw.slice(0, 2000)}`);
  const runs = [...raw.matchAll(/^run: '(.*)'$/gm)].map((m) => m[1] as string);
  const programs = [...raw.matchAll(/61-custodian-usb-readonly\.rules:\d+ (PROGRAM|IMPORT)\b/g)].map(
    (m) => m[0],
  );
  return { runs, programs, raw };
}

describe('the generated rule as udev parses it (udevadm test, private mount namespace)', () => {
  afterAll(() => {
    cleanupLoopScaffolding();
  });

  it('with no rule of ours, udev runs nothing for loop7 (the baseline)', () => {
    expect(udevTest(null).runs).toEqual([]);
  });

  it('the plain rule runs exactly blockdev --setro for a treat-as-USB device', () => {
    const { text } = udevRuleFor({ ...base, mode: 'block-all-writes', treatAsUsb: ['loop7'] }, TOOLS);
    expect(udevTest(text).runs).toEqual(['/usr/sbin/blockdev --setro /dev/loop7']);
  });

  it('no string in any policy field makes udev run anything else (NUL, CR, LF, VT, FF, U+2028, quotes, …)', () => {
    // The attack of issue 11 item 4 as it reached the old writer (a comment line with the reason):
    const oldStyle = `# approved by it: ${HOSTILE[0]}\nKERNEL=="loop7", RUN+="/usr/sbin/blockdev --setro $devnode"\n`;
    expect(udevTest(oldStyle).runs).toContain('/bin/touch /tmp/custodian-pwned');
    for (const mode of ['block-all-writes', 'block-unencrypted-writes'] as const) {
      for (const s of HOSTILE) {
        const { text, skipped } = udevRuleFor(hostilePlan(mode, s), TOOLS, '/var/lib/custodian-agent');
        expect(text).not.toContain('custodian-pwned');
        expect(skipped).toEqual(['usb.allow[0]', 'usb.allow[1]', 'usb.treatAsUsb[0]']);
        const seen = udevTest(text);
        expect(seen.runs, JSON.stringify(s)).toEqual(['/usr/sbin/blockdev --setro /dev/loop7']);
        expect(seen.programs).toEqual([]);
      }
    }
  });
});
