// The udev rule that makes USB block devices read-only before anything can mount them
// (platform-notes §3: `blockdev --setro` after a rw mount does NOT stop writes; before the mount
// it does, and the mount then comes up read-only). Generated from policy, installed and removed
// by the agent. Pure: the installer lives in usb-guard.linux.ts.
//
// The file is run by udevd as root, so it is built like code, not like a report: every comment is
// fixed text from this file, and every value from policy or config (identifiers, device names, the
// owner path, the blockdev path) must match a strict character set or it is left out (named in
// `skipped`) or refused. No free text (who approved, why) is ever written: systemd-udevd ends a
// line at NUL as well as at a newline, and a NUL in an allow-list reason once became a RUN+= line
// (issue 11, item 4). A last check refuses any byte outside printable ASCII and newline.

import { createHash } from 'node:crypto';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { UsbPlan } from './usb.ts';

export const UDEV_RULES_DIR = '/etc/udev/rules.d';
export const DEFAULT_UDEV_RULE_PATH = `${UDEV_RULES_DIR}/61-custodian-usb-readonly.rules`;
export const RULE_FILE_PATTERN = /^61-custodian-usb-readonly(-[0-9a-f]{12})?\.rules$/;

/**
 * One rule file per agent data dir: a test machine may run several agents, and one agent's
 * stop must not remove another's rule. A production machine has one agent, hence one file.
 */
export function udevRulePathFor(owner: string): string {
  const id = createHash('sha256').update(owner).digest('hex').slice(0, 12);
  return `${UDEV_RULES_DIR}/61-custodian-usb-readonly-${id}.rules`;
}

/** The owner recorded in a rule file's header ("# owner: /var/lib/custodian-agent"). */
export function ruleOwner(text: string): string | undefined {
  const owner = /^# owner: (.*)$/m.exec(text)?.[1];
  return owner !== undefined && SAFE_PATH.test(owner) ? owner : undefined;
}

/** USB vendor/product ids as udev writes them (ID_VENDOR_ID, ID_MODEL_ID). */
const HEX4 = /^[0-9a-f]{4}$/;
/** Serials (ID_SERIAL_SHORT): udev itself replaces anything else with '_'. No glob characters. */
const SAFE_SERIAL = /^[A-Za-z0-9._-]{1,128}$/;
/** Kernel block device names (also limited by policy validation). No glob characters. */
const KERNEL_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Absolute paths (the agent's data dir, blockdev): no spaces, quotes, '$' or '%' (udev substitutions). */
const SAFE_PATH = /^\/[A-Za-z0-9._/+-]{0,255}$/;
/** What the finished file may contain at all. */
const RULE_TEXT = /^[\x20-\x7e\n]*$/;

const MODE_LINE: Record<UsbPlan['mode'], string> = {
  audit: '# Policy: usb.mode=audit.',
  allow: '# Policy: usb.mode=allow.',
  'block-unencrypted-writes': '# Policy: usb.mode=block-unencrypted-writes.',
  'block-all-writes': '# Policy: usb.mode=block-all-writes.',
};

export interface UdevRuleResult {
  /** null when the plan allows writes (no rule should exist). */
  text: string | null;
  /**
   * Policy entries that could not be written safely, by position ("usb.allow[2]",
   * "usb.treatAsUsb[0]"), never by their text. The agent still honours allow entries after attach.
   */
  skipped: string[];
}

/** Absolute paths of the programs the rule runs (udev does no PATH search). */
export interface RuleTools {
  blockdev: string;
  blkid: string;
}

export function udevRuleFor(plan: UsbPlan, tools: RuleTools, owner = ''): UdevRuleResult {
  if (plan.mode !== 'block-unencrypted-writes' && plan.mode !== 'block-all-writes')
    return { text: null, skipped: [] };
  if (!SAFE_PATH.test(tools.blockdev) || !SAFE_PATH.test(tools.blkid))
    throw new CustodianError(ErrorCode.UNAVAILABLE, 'blockdev/blkid path is not a plain absolute path');
  if (owner !== '' && !SAFE_PATH.test(owner)) {
    throw new CustodianError(
      ErrorCode.INVALID_CONFIG,
      'agent data dir must be a plain absolute path (letters, digits, . _ / + -) to own a udev rule',
    );
  }
  const skipped: string[] = [];
  const lines = [
    '# Installed by custodian-agent; removed when it stops or policy allows USB writes. Do not edit.',
    ...(owner ? [`# owner: ${owner}`] : []),
    MODE_LINE[plan.mode],
    '# Runs after 60-persistent-storage.rules, which sets ID_BUS/ID_FS_*.',
    'ACTION!="add|change", GOTO="custodian_usb_end"',
    'SUBSYSTEM!="block", GOTO="custodian_usb_end"',
  ];
  if (plan.allow.length > 0) lines.push('# Devices on the policy allow list.');
  plan.allow.forEach((a, i) => {
    if (
      !HEX4.test(a.vendorId) ||
      !HEX4.test(a.productId) ||
      (a.serial !== '' && !SAFE_SERIAL.test(a.serial))
    ) {
      skipped.push(`usb.allow[${i}]`);
      return;
    }
    const serial = a.serial ? `, ENV{ID_SERIAL_SHORT}=="${a.serial}"` : '';
    lines.push(
      `ENV{ID_VENDOR_ID}=="${a.vendorId}", ENV{ID_MODEL_ID}=="${a.productId}"${serial}, GOTO="custodian_usb_end"`,
    );
  });
  lines.push(
    'ENV{ID_BUS}=="usb", GOTO="custodian_usb_check"',
    '# Removable storage on other buses: SD cards (not soldered eMMC), disks with removable media',
    '# (not optical drives), disks behind an external (Thunderbolt/USB4) PCIe port. ATTRS: partitions too.',
    'SUBSYSTEMS=="mmc", ATTRS{type}=="SD", GOTO="custodian_usb_check"',
    'KERNEL!="sr[0-9]*", SUBSYSTEMS=="block", ATTRS{removable}=="1", GOTO="custodian_usb_check"',
    'SUBSYSTEMS=="pci", ATTRS{removable}=="removable", GOTO="custodian_usb_check"',
  );
  plan.treatAsUsb.forEach((name, i) => {
    if (!KERNEL_NAME.test(name)) {
      skipped.push(`usb.treatAsUsb[${i}]`);
      return;
    }
    // Partitions: "loop3p1", "mmcblk0p1", "nvme0n1p1" after a digit; "sdb1" after a letter. A bare
    // `${name}[0-9]*` after a digit would also match other disks ("loop1" → "loop12").
    const parts = /[0-9]$/.test(name) ? `${name}p[0-9]*` : `${name}[0-9]*`;
    lines.push(`KERNEL=="${name}|${parts}", GOTO="custodian_usb_check"`);
  });
  lines.push('GOTO="custodian_usb_end"', 'LABEL="custodian_usb_check"');
  if (plan.mode === 'block-unencrypted-writes') {
    lines.push(
      '# A filesystem signature alongside an encryption header: not encrypted (a copied LUKS header).',
      `ENV{ID_FS_USAGE}=="crypto", PROGRAM=="${tools.blkid} -p -o value -s TYPE -u filesystem $devnode", GOTO="custodian_usb_readonly"`,
      '# Encrypted containers stay writable so they can be opened read-write.',
      'ENV{ID_FS_USAGE}=="crypto", GOTO="custodian_usb_end"',
      'ENV{ID_FS_TYPE}=="crypto_LUKS|BitLocker", GOTO="custodian_usb_end"',
      '# An opened container (dm-crypt) is encrypted storage.',
      'KERNEL=="dm-*", GOTO="custodian_usb_end"',
      '# A partitioned disk: each partition is judged on its own (a read-only disk would make all of them read-only),',
      '# unless a filesystem sits on the whole disk as well: that one is judged too (it could be mounted writable).',
      'ENV{ID_PART_TABLE_TYPE}=="?*", ENV{DEVTYPE}=="disk", ENV{ID_FS_TYPE}=="", GOTO="custodian_usb_end"',
    );
  }
  lines.push(
    'LABEL="custodian_usb_readonly"',
    `RUN+="${tools.blockdev} --setro $devnode"`,
    'LABEL="custodian_usb_end"',
    '',
  );
  const text = lines.join('\n');
  if (!RULE_TEXT.test(text)) {
    // Unreachable while every value above is checked; kept so a future edit cannot write one.
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'udev rule text holds a byte outside printable ASCII');
  }
  return { text, skipped };
}
