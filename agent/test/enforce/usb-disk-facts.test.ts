// Pure disk judgements (issue 11 items 8, 9, 11) on captured and constructed tool output, and the
// decision they lead to.
import { describe, expect, it } from 'vitest';
import { decideUsb } from '../../src/enforce/usb-decision.ts';
import type { UsbVolumeInfo } from '../../src/platform/usb.ts';
import {
  judgeEncryption,
  parseLuksDump,
  removableBus,
  systemUseOf,
} from '../../src/platform/usb-disk-facts.linux.ts';
import { buildVolumes, volumesOf } from '../../src/platform/usb-guard.linux.ts';
import {
  type LsblkNode,
  parseBlkidExport,
  parseFindmntList,
  parseLsblkJson,
} from '../../src/platform/usb-parse.linux.ts';
import { testdata } from './harness.ts';

const byName = (file: string) => new Map(parseLsblkJson(testdata(file)).map((d) => [d.name, d]));
const plan = { mode: 'block-unencrypted-writes' as const, allow: [], treatAsUsb: [] };
const noId = { vendorId: '', productId: '', vendor: '', product: '', serial: '' };

describe('system disks are never blocked (item 8)', () => {
  it('the VM root disk (captured lsblk + findmnt): vda holds /', () => {
    const vm = byName('usb/lsblk-vm-root.json');
    const mounts = parseFindmntList(testdata('usb/findmnt-list.json'));
    expect(systemUseOf(vm.get('vda') as LsblkNode, mounts)).toBe('vda holds /');
    expect(systemUseOf(vm.get('zram0') as LsblkNode, mounts)).toBe('');
    // Named in treatAsUsb: the volume is built, and the decision refuses to block it.
    const [vol] = buildVolumes(
      vm.get('vda') as LsblkNode,
      'treat-as-usb',
      noId,
      mounts,
      () => ({ TYPE: 'ext4' }),
      {
        systemUse: systemUseOf(vm.get('vda') as LsblkNode, mounts),
      },
    );
    expect(vol?.mounts.map((m) => m.target)).toEqual(['/']);
    for (const mode of ['block-unencrypted-writes', 'block-all-writes', 'audit', 'allow'] as const) {
      expect(decideUsb(vol as UsbVolumeInfo, { ...plan, mode })).toEqual({
        decision: 'system-disk',
        reason: 'not blocked: vda holds /; a disk holding the running system is never made read-only',
      });
    }
  });

  it('/boot, swap and mounts outside /media or /run/media mark a system disk; removable-media mounts do not', () => {
    const d = byName('usb/lsblk-removable-buses.constructed.json');
    const use = (name: string, mounts = []) => systemUseOf(d.get(name) as LsblkNode, mounts);
    expect(use('nvme0n1')).toBe('nvme0n1p1 holds /boot/efi');
    expect(use('sdg')).toBe('sdg1 holds swap');
    expect(use('mmcblk1')).toBe(
      'mmcblk1p1 is mounted at /data, outside the removable-media mount points (/media, /run/media)',
    );
    expect(use('nvme1n1')).toBe('');
    expect(use('mmcblk0')).toBe('');
    expect(use('sdf')).toBe('');
    // A mount lsblk does not show (findmnt only) counts too.
    expect(
      systemUseOf(d.get('sdf') as LsblkNode, [
        { source: '/dev/sdf1', target: '/srv/backup', fsType: 'vfat', options: ['rw'], readOnly: false },
      ]),
    ).toMatch(/^sdf1 is mounted at \/srv\/backup, outside/);
  });
});

describe('removable storage on other buses (item 11)', () => {
  it('Thunderbolt NVMe, SD cards and removable media count; internal NVMe, eMMC and optical drives do not', () => {
    const d = byName('usb/lsblk-removable-buses.constructed.json');
    const bus = (name: string, sd = false) => removableBus(d.get(name) as LsblkNode, sd);
    expect(bus('nvme1n1')).toBe('hot-pluggable NVMe (Thunderbolt/USB4)');
    expect(bus('mmcblk0', true)).toBe('SD card');
    expect(bus('sde')).toBe('removable media on sata');
    expect(bus('nvme0n1')).toBeUndefined();
    expect(bus('mmcblk1', false)).toBeUndefined();
    expect(bus('sr0')).toBeUndefined();
  });

  it('a filesystem on the whole disk of a partitioned stick is a volume too', () => {
    const sdf = byName('usb/lsblk-removable-buses.constructed.json').get('sdf') as LsblkNode;
    const sigs: Record<string, Record<string, string>> = {
      '/dev/sdf': { TYPE: 'ext4', PTTYPE: 'dos' },
      '/dev/sdf1': { TYPE: 'vfat' },
    };
    expect(volumesOf(sdf).map((n) => n.kname)).toEqual(['sdf1']);
    expect(volumesOf(sdf, (n) => !!sigs[n.path]?.['TYPE']).map((n) => n.kname)).toEqual(['sdf', 'sdf1']);
    const vols = buildVolumes(sdf, 'usb', noId, [], (n) => sigs[n.path] ?? {});
    expect(vols.map((v) => [v.device, v.fsType, v.encryption])).toEqual([
      ['sdf', 'ext4', 'unencrypted'],
      ['sdf1', 'vfat', 'unencrypted'],
    ]);
    // Only a partition table on the disk: the disk itself is not a volume.
    expect(
      buildVolumes(
        sdf,
        'usb',
        noId,
        [],
        (n): Record<string, string> => (n.path === '/dev/sdf' ? { PTTYPE: 'dos' } : { TYPE: 'vfat' }),
      ).map((v) => v.device),
    ).toEqual(['sdf1']);
  });
});

describe('a signature alone is not encryption (item 9)', () => {
  const luks1 = parseLuksDump(testdata('usb/cryptsetup-luksdump-luks1.txt'));
  const luks2 = parseLuksDump(testdata('usb/cryptsetup-luksdump-luks2.txt'));

  it('parses cryptsetup luksDump for LUKS1 and LUKS2 (captured)', () => {
    expect(luks1).toEqual({ version: 1, ciphers: ['aes-xts-plain64'], keyslots: 1 });
    expect(luks2).toEqual({ version: 2, ciphers: ['aes-xts-plain64'], keyslots: 1 });
  });

  it('genuine LUKS1/LUKS2 headers with no filesystem alongside are encrypted', () => {
    for (const dump of [luks1, luks2]) {
      expect(
        judgeEncryption({ type: 'crypto_LUKS', filesystemAlongside: '', luks: { isLuks: true, dump } }),
      ).toEqual({ encryption: 'encrypted', kind: 'luks', note: '' });
    }
  });

  it('the attack image: a LUKS1 header over ext4 is unencrypted (captured blkid -u filesystem)', () => {
    const alongside = parseBlkidExport(testdata('usb/blkid-u-filesystem-fake-luks.txt'))['TYPE'] ?? '';
    expect(alongside).toBe('ext4');
    // cryptsetup accepts the copied header: only the filesystem alongside gives it away.
    const verdict = judgeEncryption({
      type: 'crypto_LUKS',
      filesystemAlongside: alongside,
      luks: { isLuks: true, dump: luks1 },
    });
    expect(verdict).toEqual({
      encryption: 'unencrypted',
      kind: '',
      note: 'a LUKS header sits alongside a mountable ext4 filesystem: not encrypted',
    });
    expect(judgeEncryption({ type: 'BitLocker', filesystemAlongside: 'vfat' }).encryption).toBe(
      'unencrypted',
    );
  });

  it('cipher_null, no key slot, a header cryptsetup refuses, or no cryptsetup: not counted as encrypted', () => {
    const nullDump = parseLuksDump(
      testdata('usb/cryptsetup-luksdump-luks2.txt').replace(
        '\tcipher: aes-xts-plain64',
        '\tcipher: cipher_null-ecb',
      ),
    );
    expect(nullDump.ciphers).toEqual(['cipher_null-ecb']);
    const nullLuks1 = parseLuksDump(
      testdata('usb/cryptsetup-luksdump-luks1.txt')
        .replace(/^Cipher name:.*$/m, 'Cipher name:   \tcipher_null')
        .replace(/^Cipher mode:.*$/m, 'Cipher mode:   \tecb'),
    );
    const noSlots = parseLuksDump(
      testdata('usb/cryptsetup-luksdump-luks1.txt').replace('Key Slot 0: ENABLED', 'Key Slot 0: DISABLED'),
    );
    const judge = (luks: Parameters<typeof judgeEncryption>[0]['luks']) =>
      judgeEncryption({ type: 'crypto_LUKS', filesystemAlongside: '', ...(luks ? { luks } : {}) });
    expect(judge({ isLuks: true, dump: nullDump })).toMatchObject({
      encryption: 'unencrypted',
      note: expect.stringMatching(/cipher_null-ecb/),
    });
    expect(judge({ isLuks: true, dump: nullLuks1 })).toMatchObject({
      encryption: 'unencrypted',
      note: expect.stringMatching(/cipher_null-ecb/),
    });
    expect(judge({ isLuks: true, dump: noSlots })).toMatchObject({
      encryption: 'unencrypted',
      note: expect.stringMatching(/no key slot/),
    });
    expect(judge({ isLuks: false, dump: undefined })).toMatchObject({ encryption: 'unencrypted' });
    expect(judge(undefined)).toMatchObject({ encryption: 'unknown' });
  });

  it('the decision says why a volume that looked encrypted is blocked', () => {
    const sdf = byName('usb/lsblk-removable-buses.constructed.json').get('sde') as LsblkNode;
    const [vol] = buildVolumes(sdf, 'removable', noId, [], () => ({ TYPE: 'crypto_LUKS' }), {
      viaNote: 'removable media on sata',
      judged: new Map([
        [
          '/dev/sde',
          {
            encryption: 'unencrypted',
            kind: '',
            note: 'a LUKS header sits alongside a mountable ext4 filesystem: not encrypted',
            fsType: 'ext4',
          },
        ],
      ]),
    });
    expect(vol).toMatchObject({
      fsType: 'ext4',
      encryption: 'unencrypted',
      encryptionKind: '',
      viaNote: 'removable media on sata',
    });
    expect(decideUsb(vol as UsbVolumeInfo, plan)).toEqual({
      decision: 'block',
      reason: 'unencrypted: a LUKS header sits alongside a mountable ext4 filesystem: not encrypted',
    });
  });
});
