// The udev rule that makes USB block devices read-only before anything can mount them
// (platform-notes §3: `blockdev --setro` after a rw mount does NOT stop writes; before the mount
// it does, and the mount then comes up read-only). Generated from policy, installed and removed
// by the agent. Pure: the installer lives in usb-guard.linux.ts.

import { createHash } from 'node:crypto';
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
  return /^# owner: (.*)$/m.exec(text)?.[1];
}

/** Only these characters reach a rule file; anything else could break out of the quoted match. */
const SAFE = /^[A-Za-z0-9._-]+$/;

export interface UdevRuleResult {
  /** null when the plan allows writes (no rule should exist). */
  text: string | null;
  /** Allow-list entries that could not be expressed safely (the agent still honours them after attach). */
  skipped: string[];
}

export function udevRuleFor(plan: UsbPlan, blockdevPath: string, owner = ''): UdevRuleResult {
  if (plan.mode !== 'block-unencrypted-writes' && plan.mode !== 'block-all-writes')
    return { text: null, skipped: [] };
  const skipped: string[] = [];
  const lines = [
    '# Installed by custodian-agent; removed when it stops or policy allows USB writes. Do not edit.',
    `# owner: ${oneLine(owner)}`,
    `# Policy: usb.mode=${plan.mode}. Runs after 60-persistent-storage.rules, which sets ID_BUS/ID_FS_*.`,
    'ACTION!="add|change", GOTO="custodian_usb_end"',
    'SUBSYSTEM!="block", GOTO="custodian_usb_end"',
  ];
  for (const a of plan.allow) {
    if (!SAFE.test(a.vendorId) || !SAFE.test(a.productId) || (a.serial !== '' && !SAFE.test(a.serial))) {
      skipped.push(`${a.vendorId}:${a.productId}`);
      continue;
    }
    const serial = a.serial ? `, ENV{ID_SERIAL_SHORT}=="${a.serial}"` : '';
    lines.push(
      `# approved by ${oneLine(a.approvedBy)}: ${oneLine(a.reason)}`,
      `ENV{ID_VENDOR_ID}=="${a.vendorId}", ENV{ID_MODEL_ID}=="${a.productId}"${serial}, GOTO="custodian_usb_end"`,
    );
  }
  lines.push('ENV{ID_BUS}=="usb", GOTO="custodian_usb_check"');
  for (const name of plan.treatAsUsb) {
    if (!SAFE.test(name)) continue; // policy validation already limits these to kernel names
    lines.push(`KERNEL=="${name}|${name}p[0-9]*|${name}[0-9]*", GOTO="custodian_usb_check"`);
  }
  lines.push('GOTO="custodian_usb_end"', 'LABEL="custodian_usb_check"');
  if (plan.mode === 'block-unencrypted-writes') {
    lines.push(
      '# Encrypted containers stay writable so they can be opened read-write.',
      'ENV{ID_FS_USAGE}=="crypto", GOTO="custodian_usb_end"',
      'ENV{ID_FS_TYPE}=="crypto_LUKS|BitLocker", GOTO="custodian_usb_end"',
      '# An opened container (dm-crypt) is encrypted storage.',
      'KERNEL=="dm-*", GOTO="custodian_usb_end"',
      '# A partitioned disk: each partition is judged on its own (a read-only disk would make all of them read-only).',
      'ENV{ID_PART_TABLE_TYPE}=="?*", ENV{DEVTYPE}=="disk", GOTO="custodian_usb_end"',
    );
  }
  lines.push(`RUN+="${blockdevPath} --setro $devnode"`, 'LABEL="custodian_usb_end"', '');
  return { text: lines.join('\n'), skipped };
}

/** Comments only: no newline may end the comment early. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 120);
}
