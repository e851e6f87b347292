// Several suites skip themselves (with the reason in the test name) on a machine that lacks a
// tool they drive: a developer's laptop without Xvfb or root. In CI none of those skips may
// happen silently, so this suite fails there if anything they need is missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const TOOLS = [
  'protoc',
  'Xvfb',
  'openbox',
  'xterm',
  'xprop',
  'xwininfo',
  'xdotool',
  'xprintidle',
  'i3lock',
  'import',
  'losetup',
  'mkfs.ext4',
  'mkntfs',
  'ntfs-3g',
  'cryptsetup',
  'blkid',
  'lsblk',
  'findmnt',
  'udevadm',
  'fuser',
  'setpriv',
  'openssl',
];

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

describe.runIf(process.env['CI'] === 'true')(
  'CI machine has everything the suites drive (no silent skips)',
  () => {
    it.each(TOOLS)('%s is installed', (tool) => {
      expect(has(tool)).toBe(true);
    });
    it('Chromium is at /usr/bin/chromium', () => {
      expect(existsSync('/usr/bin/chromium')).toBe(true);
    });
    it('runs as root (loop devices, mounts, udev rules)', () => {
      expect(process.getuid?.()).toBe(0);
    });
    it('can create a loop device', () => {
      expect(existsSync('/dev/loop-control')).toBe(true);
    });
  },
);
