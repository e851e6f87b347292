// Windows and macOS USB adapters: parsers and command construction on documented-format output
// in testdata/usb (not captured on those systems here; see agent/src/enforce/README.md).
import { describe, expect, it } from 'vitest';
import {
  createDarwinUsbGuard,
  infoArgs,
  LIST_ARGS,
  parseDiskutilActivityLine,
  parseDiskutilInfo,
  parseDiskutilList,
} from '../../src/platform/usb-guard.darwin.ts';
import {
  createWin32UsbGuard,
  DENY_WRITE_KEY,
  FVE_KEY,
  parseUsbInstanceId,
  parseWin32UsbScan,
  setDiskReadOnlyScript,
  WIN32_SCAN_SCRIPT,
  win32PolicyCommands,
} from '../../src/platform/usb-guard.win32.ts';
import { parsePlist } from '../../src/platform/usb-plist.darwin.ts';
import { recordingRunner, testdata } from './harness.ts';

const plan = (over = {}) => ({
  mode: 'block-unencrypted-writes' as const,
  allow: [],
  treatAsUsb: [],
  ...over,
});

describe('Windows USB', () => {
  it('parses the scan: FAT32 unencrypted, BitLocker unlocked, BitLocker locked', () => {
    const vols = parseWin32UsbScan(testdata('usb/win32-usb-scan.json'));
    expect(
      vols.map((v) => [
        v.device,
        v.devicePath,
        v.fsType,
        v.encryption,
        v.encryptionKind,
        v.vendorId,
        v.productId,
        v.serial,
      ]),
    ).toEqual([
      ['disk2p1', 'E:', 'FAT32', 'unencrypted', '', '0781', '5567', '4C530001230812345678'],
      ['disk3p1', 'F:', 'NTFS', 'encrypted', 'bitlocker', '0951', '1666', 'E0D55EA574DAF4A1A9A2019C'],
      ['disk4p1', 'G:', '', 'encrypted', 'bitlocker', '058f', '6387', ''],
    ]);
    expect(vols[0]?.mounts).toEqual([{ target: 'E:', fsType: 'FAT32', readOnly: false }]);
    expect(parseWin32UsbScan('')).toEqual([]);
    expect(() => parseWin32UsbScan('Get-Disk : Access denied')).toThrow(/not JSON/);
  });
  it('without BitLocker data a known filesystem is unknown, not unencrypted', () => {
    const doc = JSON.parse(testdata('usb/win32-usb-scan.json'));
    doc[0].bitlockerQueried = false;
    doc[0].partitions[0].bitlocker = null;
    expect(parseWin32UsbScan(JSON.stringify(doc))[0]?.encryption).toBe('unknown');
  });
  it('reads VID/PID/serial from the parent USB instance id', () => {
    expect(parseUsbInstanceId('USB\\VID_0781&PID_5567\\4C530001230812345678')).toEqual({
      vendorId: '0781',
      productId: '5567',
      serial: '4C530001230812345678',
    });
    expect(parseUsbInstanceId('USB\\VID_058F&PID_6387\\6&2B5A4C9&0&3').serial).toBe('');
    expect(parseUsbInstanceId('SCSI\\DISK&VEN_X')).toEqual({ vendorId: '', productId: '', serial: '' });
  });
  it('machine policy: RDVDenyWriteAccess for unencrypted, Deny_Write for all, removed when exceptions exist', () => {
    expect(win32PolicyCommands(plan())).toEqual([
      ['reg.exe', ['add', FVE_KEY, '/v', 'RDVDenyWriteAccess', '/t', 'REG_DWORD', '/d', '1', '/f']],
      ['reg.exe', ['delete', DENY_WRITE_KEY, '/v', 'Deny_Write', '/f']],
    ]);
    expect(win32PolicyCommands(plan({ mode: 'block-all-writes' }))[1]?.[1][0]).toBe('add');
    const withAllow = win32PolicyCommands(
      plan({ allow: [{ vendorId: '0781', productId: '5567', serial: '', approvedBy: 'a', reason: 'b' }] }),
    );
    expect(withAllow.map(([, a]) => a[0])).toEqual(['delete', 'delete']);
  });
  it('blocks a disk with Set-Disk -IsReadOnly, cycled offline/online', async () => {
    expect(setDiskReadOnlyScript(2, true)).toBe(
      "$ErrorActionPreference = 'Stop'; Set-Disk -Number 2 -IsOffline $true; Set-Disk -Number 2 -IsReadOnly $true; Set-Disk -Number 2 -IsOffline $false",
    );
    expect(() => setDiskReadOnlyScript(-1, true)).toThrow(RangeError);
    const r = recordingRunner((cmd) => (cmd === 'powershell.exe' ? testdata('usb/win32-usb-scan.json') : ''));
    const g = createWin32UsbGuard({ run: r.run, env: {} });
    const vols = await g.scan(plan({ treatAsUsb: ['disk7'] }));
    expect(r.calls[0]?.args.at(-1)).toBe(WIN32_SCAN_SCRIPT);
    expect(r.calls[0]?.env?.['CUSTODIAN_TREAT_AS_USB']).toBe('disk7');
    await expect(g.block(vols[0] as never)).resolves.toEqual([
      { method: 'set-disk-readonly', mountpoint: 'E:' },
    ]);
    expect(r.calls[1]?.args.at(-1)).toBe(setDiskReadOnlyScript(2, true));
    await expect(g.applyPlan(plan())).resolves.toBe('registry RDVDenyWriteAccess');
  });
});

describe('macOS USB', () => {
  it('reads plists, including entities, booleans and nesting', () => {
    expect(
      parsePlist(
        '<plist><dict><key>a &amp; b</key><array><true/><integer>5</integer><string>x&lt;y</string></array></dict></plist>',
      ),
    ).toEqual({ 'a & b': [true, 5, 'x<y'] });
    expect(() => parsePlist('<plist><dict><string>x</string></dict></plist>')).toThrow(/without <key>/);
  });
  it('lists external volumes, skipping EFI', () => {
    expect(parseDiskutilList(testdata('usb/darwin-diskutil-list-external.plist'))).toEqual([
      { disk: 'disk4', volume: 'disk4s2' },
    ]);
  });
  it('classifies exFAT as unencrypted, encrypted APFS as encrypted, internal as not USB', () => {
    expect(parseDiskutilInfo(testdata('usb/darwin-diskutil-info-exfat.plist'), 'disk4')).toMatchObject({
      device: 'disk4s2',
      fsType: 'exfat',
      encryption: 'unencrypted',
      label: 'KEVIN & CO',
      mounts: [{ target: '/Volumes/KEVIN & CO', readOnly: false }],
    });
    expect(
      parseDiskutilInfo(testdata('usb/darwin-diskutil-info-apfs-encrypted.plist'), 'disk5'),
    ).toMatchObject({
      device: 'disk5s1',
      fsType: 'apfs',
      encryption: 'encrypted',
      encryptionKind: 'apfs-encrypted',
    });
    expect(parseDiskutilInfo(testdata('usb/darwin-diskutil-info-internal.plist'), 'disk4')).toBeUndefined();
    expect(
      parseDiskutilInfo(testdata('usb/darwin-diskutil-info-internal.plist'), 'disk4', ['disk4'])?.via,
    ).toBe('treat-as-usb');
  });
  it('scans with diskutil and blocks by unmount + mount readOnly', async () => {
    const r = recordingRunner((_cmd, args) =>
      args[0] === 'list'
        ? testdata('usb/darwin-diskutil-list-external.plist')
        : args[0] === 'info'
          ? testdata('usb/darwin-diskutil-info-exfat.plist')
          : '',
    );
    const g = createDarwinUsbGuard({ run: r.run, env: {} });
    const [v] = await g.scan(plan());
    await expect(g.block(v as never)).resolves.toEqual([
      { method: 'unmount-remount-ro', mountpoint: '/Volumes/KEVIN & CO' },
    ]);
    expect(r.calls.map((c) => [c.cmd, ...c.args])).toEqual([
      ['diskutil', ...LIST_ARGS],
      ['diskutil', ...infoArgs('disk4s2')],
      ['diskutil', 'unmount', 'disk4s2'],
      ['diskutil', 'mount', 'readOnly', 'disk4s2'],
    ]);
    await expect(g.block({ ...(v as object), device: 'disk4s2; rm -rf /' } as never)).rejects.toThrow(
      /not a disk identifier/,
    );
    expect(
      parseDiskutilActivityLine("***DiskAppeared ('disk4s2', DAVolumePath = 'file:///Volumes/X/')"),
    ).toBe('DiskAppeared');
  });
});
