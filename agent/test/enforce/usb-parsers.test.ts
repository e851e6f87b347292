// Linux storage-tool parsers and volume building, on output captured here (loop devices, with and
// without udevd) and a constructed lsblk tree of real USB sticks (this VM has no USB bus).
import { describe, expect, it } from 'vitest';
import { classifyEncryption } from '../../src/platform/usb.ts';
import { buildVolumes, volumesOf } from '../../src/platform/usb-guard.linux.ts';
import {
  isBusyMountError,
  parseBlkidExport,
  parseFindmntList,
  parseFindmntPollLine,
  parseLsblkJson,
  parseUdevMonitorEvent,
  parseUdevMonitorLine,
  parseUdevProperties,
} from '../../src/platform/usb-parse.linux.ts';
import { isWriteFd, parseFdinfoFlags } from '../../src/platform/usb-writers.linux.ts';
import { testdata } from './harness.ts';

describe('lsblk', () => {
  it('parses loop devices (captured, udev database present)', () => {
    const devs = parseLsblkJson(testdata('usb/lsblk-loops-udev.json'));
    expect(devs.filter((d) => d.type !== 'loop').map((d) => d.name)).toEqual(['zram0', 'vda']);
    expect(
      devs.filter((d) => d.type === 'loop').map((d) => [d.name, d.type, d.fsType, d.mountpoints]),
    ).toEqual([
      ['loop0', 'loop', 'ext4', ['/mnt/capA']],
      ['loop1', 'loop', 'crypto_LUKS', []],
      ['loop2', 'loop', '', []],
    ]);
    expect(devs.find((d) => d.name === 'loop0')).toMatchObject({
      removable: false,
      readOnly: false,
      sizeBytes: 33_554_432,
      label: 'STICK',
      tran: '',
    });
  });
  it('builds volumes of USB sticks: partitions, an opened LUKS child, an unpartitioned stick', () => {
    const devs = parseLsblkJson(testdata('usb/lsblk-usb-sticks.constructed.json'));
    const byName = new Map(devs.map((d) => [d.name, d]));
    expect(volumesOf(byName.get('sdb') as never).map((n) => n.kname)).toEqual(['sdb1']);
    expect(volumesOf(byName.get('sdc') as never).map((n) => n.kname)).toEqual(['sdc1', 'dm-0']);
    expect(volumesOf(byName.get('sdd') as never).map((n) => n.kname)).toEqual(['sdd']);
    const mounts = [
      {
        source: '/dev/sdb1',
        target: "/media/pupil/KEVIN'S USB",
        fsType: 'vfat',
        options: ['rw'],
        readOnly: false,
      },
      {
        source: '/dev/mapper/luks-6b1e8c2a',
        target: '/media/staff/Reports',
        fsType: 'ext4',
        options: ['rw'],
        readOnly: false,
      },
    ];
    const id = {
      vendorId: '0781',
      productId: '5567',
      vendor: 'SanDisk',
      product: 'Cruzer Blade',
      serial: '4C530001230812345678',
    };
    const sigs: Record<string, Record<string, string>> = {
      '/dev/sdb1': { TYPE: 'vfat', LABEL: "KEVIN'S USB", UUID: 'A1B2-C3D4' },
      '/dev/sdc1': { TYPE: 'crypto_LUKS', UUID: '6b1e8c2a' },
      '/dev/mapper/luks-6b1e8c2a': { TYPE: 'ext4', LABEL: 'Reports' },
      '/dev/sdd': {},
    };
    const vols = ['sdb', 'sdc', 'sdd'].flatMap((d) =>
      buildVolumes(byName.get(d) as never, 'usb', id, mounts, (n) => sigs[n.path] ?? {}),
    );
    expect(
      vols.map((v) => [
        v.device,
        v.disk,
        v.fsType,
        v.encryption,
        v.encryptionKind,
        v.mounts.map((m) => m.target),
      ]),
    ).toEqual([
      ['sdb1', 'sdb', 'vfat', 'unencrypted', '', ["/media/pupil/KEVIN'S USB"]],
      ['sdc1', 'sdc', 'crypto_LUKS', 'encrypted', 'luks', []],
      ['dm-0', 'sdc', 'ext4', 'encrypted', 'dm-crypt', ['/media/staff/Reports']],
      ['sdd', 'sdd', '', 'unknown', '', []],
    ]);
    expect(vols[0]).toMatchObject({
      label: "KEVIN'S USB",
      vendorId: '0781',
      serial: '4C530001230812345678',
      via: 'usb',
    });
  });
  it('rejects output that is not lsblk JSON', () => {
    expect(() => parseLsblkJson('lsblk: unknown column')).toThrow(/not JSON/);
    expect(() => parseLsblkJson('{}')).toThrow(/blockdevices/);
  });
});

describe('encryption classification', () => {
  it('follows the signature; no signature is unknown', () => {
    expect(classifyEncryption({ type: 'part', fsType: 'crypto_LUKS' })).toEqual({
      encryption: 'encrypted',
      kind: 'luks',
    });
    expect(classifyEncryption({ type: 'part', fsType: 'BitLocker' })).toEqual({
      encryption: 'encrypted',
      kind: 'bitlocker',
    });
    expect(classifyEncryption({ type: 'crypt', fsType: 'ext4' })).toEqual({
      encryption: 'encrypted',
      kind: 'dm-crypt',
    });
    expect(classifyEncryption({ type: 'part', fsType: 'exfat' })).toEqual({
      encryption: 'unencrypted',
      kind: '',
    });
    expect(classifyEncryption({ type: 'disk', fsType: '' })).toEqual({ encryption: 'unknown', kind: '' });
  });
});

describe('blkid, findmnt, udevadm, fuser', () => {
  it('parses blkid -p export output (captured)', () => {
    expect(parseBlkidExport(testdata('usb/blkid-ext4.txt'))).toMatchObject({
      TYPE: 'ext4',
      USAGE: 'filesystem',
      LABEL: 'STICK',
    });
    expect(parseBlkidExport(testdata('usb/blkid-luks.txt'))).toMatchObject({
      TYPE: 'crypto_LUKS',
      USAGE: 'crypto',
    });
    expect(parseBlkidExport(testdata('usb/blkid-random.txt'))).toEqual({});
  });
  it('parses the mount table (captured)', () => {
    const mounts = parseFindmntList(testdata('usb/findmnt-list.json'));
    expect(mounts.find((m) => m.target === '/mnt/capA')).toEqual({
      source: '/dev/loop0',
      target: '/mnt/capA',
      fsType: 'ext4',
      options: ['rw', 'relatime'],
      readOnly: false,
    });
    expect(
      parseFindmntList(
        '{"filesystems":[{"source":"/dev/sdb1[/photos]","target":"/x","fstype":"vfat","options":"ro"}]}',
      )[0],
    ).toMatchObject({ source: '/dev/sdb1', readOnly: true });
  });
  it('parses findmnt --poll pairs, including targets with spaces (captured)', () => {
    const lines = testdata('usb/findmnt-poll-pairs.txt').trim().split('\n').map(parseFindmntPollLine);
    expect(lines.map((l) => [l?.action, l?.target])).toEqual([
      ['remount', '/mnt/capA'],
      ['umount', '/mnt/capA'],
      ['mount', '/mnt/cap B'],
      ['umount', '/mnt/cap B'],
      ['mount', '/mnt/capA'],
    ]);
    expect(parseFindmntPollLine('ACTION="mount" SOURCE="/dev/sdb1" TARGET="/media/a\\x22b"')?.target).toBe(
      '/media/a"b',
    );
  });
  it('parses udevadm monitor lines and properties', () => {
    expect(parseUdevMonitorLine('UDEV  [1234.567890] add      /devices/virtual/block/loop3 (block)')).toEqual(
      { action: 'add', kernelName: 'loop3' },
    );
    expect(parseUdevMonitorLine('monitor will print the received events for:')).toBeUndefined();
    // One `udevadm monitor --udev --kernel`: each line says which side it came from.
    expect(
      parseUdevMonitorEvent('KERNEL[3254.866980] change   /devices/virtual/block/loop0 (block)'),
    ).toEqual({
      from: 'kernel',
      action: 'change',
      kernelName: 'loop0',
    });
    expect(
      parseUdevMonitorEvent('UDEV  [3254.870000] change   /devices/virtual/block/loop0 (block)'),
    ).toEqual({
      from: 'udev',
      action: 'change',
      kernelName: 'loop0',
    });
    expect(
      parseUdevMonitorEvent('UDEV  - the event which udev sends out after rule processing'),
    ).toBeUndefined();
    expect(parseUdevProperties(testdata('usb/udevadm-info-luks-loop.txt'))).toMatchObject({
      ID_FS_TYPE: 'crypto_LUKS',
      DEVNAME: '/dev/loop1',
    });
  });
  it('reads open flags from /proc fdinfo (captured: fds opened >, <, <>) and recognises a busy mount', () => {
    const flags = testdata('usb/proc-fdinfo-w-r-rw.txt')
      .split(/^== fd \d+\n/m)
      .filter(Boolean)
      .map(parseFdinfoFlags);
    expect(flags).toEqual([0o100001, 0o100000, 0o100002]);
    expect(flags.map((f) => isWriteFd(f as number))).toEqual([true, false, true]);
    expect(parseFdinfoFlags('pos:\t0\n')).toBeUndefined();
    expect(
      isBusyMountError({ details: { exitCode: 32, stderr: 'mount: /mnt/capA: mount point is busy.' } }),
    ).toBe(true);
    expect(isBusyMountError({ details: { exitCode: 32, stderr: 'mount: /mnt: wrong fs type' } })).toBe(false);
  });
});
