// USB write control on Windows (command construction and parsing; not run on Windows here).
//
// Detection: one PowerShell run lists USB disks (Get-Disk BusType=USB, or disks named in
// usb.treatAsUsb as "diskN"), their partitions/volumes and BitLocker state (Get-BitLockerVolume,
// admin only) and the parent USB instance id (VID/PID) as JSON.
// Pre-mount guard: machine policy. With no allow list, block-unencrypted-writes sets
// FVE\RDVDenyWriteAccess=1 (removable drives without BitLocker mount read-only; BitLocker ones
// read-write) and block-all-writes sets RemovableStorageDevices\{53f5630d…}\Deny_Write=1. Neither
// can express exceptions, so with an allow list the agent relies on per-disk read-only instead.
// Now: `Set-Disk -IsReadOnly $true`, cycled offline/online so mounted volumes come back read-only.
// Limits: the policies apply to volumes mounted after they are set (the CSP notes a restart may
// be needed); RDVDenyWriteAccess is ignored when Deny_Write is on; Set-Disk needs admin.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import { powershellArgs } from './idle.win32.ts';
import type { UsbBlockResult, UsbGuard, UsbGuardOptions, UsbPlan, UsbVolumeInfo } from './usb.ts';

export const FVE_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Policies\\Microsoft\\FVE';
export const DENY_WRITE_KEY =
  'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}';

export const WIN32_SCAN_SCRIPT = `$ErrorActionPreference = 'Stop'
$treat = @($env:CUSTODIAN_TREAT_AS_USB -split ',' | Where-Object { $_ })
$bl = @{}
try { foreach ($v in Get-BitLockerVolume) { $bl[$v.MountPoint] = @{ volumeStatus = [string]$v.VolumeStatus; protectionStatus = [string]$v.ProtectionStatus; lockStatus = [string]$v.LockStatus } } } catch { $bl = $null }
$out = foreach ($d in Get-Disk) {
  if ($d.BusType -ne 'USB' -and $treat -notcontains ('disk' + $d.Number)) { continue }
  $parent = ''
  $drive = Get-CimInstance Win32_DiskDrive | Where-Object { $_.Index -eq $d.Number } | Select-Object -First 1
  if ($drive) { try { $parent = (Get-PnpDeviceProperty -InstanceId $drive.PNPDeviceID -KeyName DEVPKEY_Device_Parent).Data } catch { $parent = '' } }
  $parts = foreach ($p in (Get-Partition -DiskNumber $d.Number -ErrorAction SilentlyContinue)) {
    $vol = $p | Get-Volume -ErrorAction SilentlyContinue
    $letter = if ($p.DriveLetter) { [string]$p.DriveLetter + ':' } else { '' }
    [pscustomobject]@{ number = $p.PartitionNumber; driveLetter = $letter; size = $p.Size
      fileSystem = if ($vol) { [string]$vol.FileSystem } else { '' }; label = if ($vol) { [string]$vol.FileSystemLabel } else { '' }
      bitlocker = if ($bl -ne $null -and $letter) { $bl[$letter] } else { $null } }
  }
  [pscustomobject]@{ number = $d.Number; busType = [string]$d.BusType; friendlyName = $d.FriendlyName; serialNumber = $d.SerialNumber
    size = $d.Size; isReadOnly = $d.IsReadOnly; parentInstanceId = $parent; bitlockerQueried = ($bl -ne $null); partitions = @($parts) }
}
ConvertTo-Json -Depth 5 -Compress @($out)`;

interface WinPartition {
  number?: number;
  driveLetter?: string;
  size?: number;
  fileSystem?: string;
  label?: string;
  bitlocker?: { volumeStatus?: string; protectionStatus?: string; lockStatus?: string } | null;
}
interface WinDisk {
  number?: number;
  busType?: string;
  friendlyName?: string;
  serialNumber?: string;
  size?: number;
  isReadOnly?: boolean;
  parentInstanceId?: string;
  bitlockerQueried?: boolean;
  partitions?: WinPartition[] | WinPartition | null;
}

/** "USB\VID_0781&PID_5567\4C530001230812345678" → ids (lower-case hex) and the serial. */
export function parseUsbInstanceId(id: string): { vendorId: string; productId: string; serial: string } {
  const m = /^USB\\VID_([0-9A-F]{4})&PID_([0-9A-F]{4})(?:&[^\\]*)?\\(.*)$/i.exec(id.trim());
  if (!m) return { vendorId: '', productId: '', serial: '' };
  // A serial with '&' is one Windows made up (no iSerialNumber): not an identity.
  const serial = (m[3] ?? '').includes('&') ? '' : (m[3] ?? '');
  return { vendorId: (m[1] as string).toLowerCase(), productId: (m[2] as string).toLowerCase(), serial };
}

function classifyWin(
  p: WinPartition,
  bitlockerQueried: boolean,
): { encryption: UsbVolumeInfo['encryption']; kind: string } {
  const b = p.bitlocker;
  if (b) {
    if (b.lockStatus === 'Locked') return { encryption: 'encrypted', kind: 'bitlocker' };
    if (b.volumeStatus && b.volumeStatus !== 'FullyDecrypted')
      return { encryption: 'encrypted', kind: 'bitlocker' };
    return { encryption: 'unencrypted', kind: '' };
  }
  const fs = (p.fileSystem ?? '').toUpperCase();
  // Without BitLocker data (Home edition, no admin) a locked BitLocker To Go drive reads as RAW/Unknown.
  if (!fs || fs === 'RAW' || fs === 'UNKNOWN') return { encryption: 'unknown', kind: '' };
  return bitlockerQueried ? { encryption: 'unencrypted', kind: '' } : { encryption: 'unknown', kind: '' };
}

/** Parses WIN32_SCAN_SCRIPT's JSON into volumes (one per partition). */
export function parseWin32UsbScan(stdout: string, treatAsUsb: readonly string[] = []): UsbVolumeInfo[] {
  const text = stdout.trim();
  if (!text) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'USB scan (PowerShell): output is not JSON');
  }
  const disks = (Array.isArray(doc) ? doc : [doc]) as WinDisk[];
  const out: UsbVolumeInfo[] = [];
  for (const d of disks) {
    const disk = `disk${d.number ?? '?'}`;
    const ids = parseUsbInstanceId(d.parentInstanceId ?? '');
    const parts = d.partitions == null ? [] : Array.isArray(d.partitions) ? d.partitions : [d.partitions];
    for (const p of parts) {
      const { encryption, kind } = classifyWin(p, d.bitlockerQueried === true);
      out.push({
        device: `${disk}p${p.number ?? 0}`,
        devicePath: p.driveLetter || `${disk}p${p.number ?? 0}`,
        disk,
        via: d.busType === 'USB' ? 'usb' : treatAsUsb.includes(disk) ? 'treat-as-usb' : 'usb',
        vendorId: ids.vendorId,
        productId: ids.productId,
        vendor: '',
        product: (d.friendlyName ?? '').trim(),
        serial: (d.serialNumber ?? '').trim() || ids.serial,
        sizeBytes: p.size ?? 0,
        label: p.label ?? '',
        uuid: '',
        fsType: p.fileSystem ?? '',
        encryption,
        encryptionKind: kind,
        deviceReadOnly: d.isReadOnly === true,
        mounts: p.driveLetter
          ? [{ target: p.driveLetter, fsType: p.fileSystem ?? '', readOnly: d.isReadOnly === true }]
          : [],
      });
    }
  }
  return out;
}

type Cmd = [string, string[]];

/** The registry changes that put the machine-wide pre-mount policy in place for a plan. */
export function win32PolicyCommands(plan: UsbPlan): Cmd[] {
  const set = (key: string, value: string): Cmd => [
    'reg.exe',
    ['add', key, '/v', value, '/t', 'REG_DWORD', '/d', '1', '/f'],
  ];
  const del = (key: string, value: string): Cmd => ['reg.exe', ['delete', key, '/v', value, '/f']];
  const exceptions = plan.allow.length > 0;
  const rdv = plan.mode === 'block-unencrypted-writes' && !exceptions;
  const deny = plan.mode === 'block-all-writes' && !exceptions;
  return [
    rdv ? set(FVE_KEY, 'RDVDenyWriteAccess') : del(FVE_KEY, 'RDVDenyWriteAccess'),
    deny ? set(DENY_WRITE_KEY, 'Deny_Write') : del(DENY_WRITE_KEY, 'Deny_Write'),
  ];
}

/** Per-disk read-only now; offline/online makes mounted volumes pick it up. */
export function setDiskReadOnlyScript(diskNumber: number, readOnly: boolean): string {
  if (!Number.isInteger(diskNumber) || diskNumber < 0)
    throw new RangeError('disk number must be a non-negative integer');
  const flag = readOnly ? '$true' : '$false';
  return `$ErrorActionPreference = 'Stop'; Set-Disk -Number ${diskNumber} -IsOffline $true; Set-Disk -Number ${diskNumber} -IsReadOnly ${flag}; Set-Disk -Number ${diskNumber} -IsOffline $false`;
}

function diskNumber(volume: UsbVolumeInfo): number {
  const m = /^disk(\d+)$/.exec(volume.disk);
  if (!m) throw new CustodianError(ErrorCode.INVALID_INPUT, `not a Windows disk: ${volume.disk}`);
  return Number(m[1]);
}

export function createWin32UsbGuard(options: UsbGuardOptions = {}): UsbGuard {
  const run: ExecRunner = options.run ?? realRun;
  const env = options.env ?? process.env;
  const ps = (script: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    run('powershell.exe', powershellArgs(script), { env: { ...env, ...extraEnv }, timeoutMs: 30_000 });
  return {
    platform: 'win32',
    async availability(plan) {
      try {
        await run('net.exe', ['session'], { env, timeoutMs: 5_000 });
      } catch {
        return { available: false, reason: 'not running as administrator: cannot set disks read-only' };
      }
      if (plan.mode === 'audit' || plan.mode === 'allow')
        return { available: true, reason: `usb.mode=${plan.mode}: recorded, not blocked` };
      return {
        available: true,
        reason: plan.allow.length
          ? 'disks set read-only after they appear (no machine policy: it cannot express the allow list)'
          : 'machine write-deny policy for new drives; attached ones set read-only',
      };
    },
    async scan(plan) {
      const { stdout } = await ps(WIN32_SCAN_SCRIPT, { CUSTODIAN_TREAT_AS_USB: plan.treatAsUsb.join(',') });
      return parseWin32UsbScan(stdout, plan.treatAsUsb);
    },
    // Polling only (the enforcer rescans on its interval); a Win32_VolumeChangeEvent listener is future work.
    watch: () => ({ stop: async () => undefined }),
    async applyPlan(plan) {
      for (const [cmd, args] of win32PolicyCommands(plan)) {
        // reg delete of a value that does not exist exits 1: nothing to remove.
        await run(cmd, args, { env, timeoutMs: 10_000, okExitCodes: args[0] === 'delete' ? [1] : [] });
      }
      const cmds = win32PolicyCommands(plan).filter(([, a]) => a[0] === 'add');
      return cmds.length ? `registry ${cmds.map(([, a]) => a[3]).join(', ')}` : null;
    },
    async block(volume): Promise<UsbBlockResult[]> {
      await ps(setDiskReadOnlyScript(diskNumber(volume), true));
      return [{ method: 'set-disk-readonly', mountpoint: volume.mounts[0]?.target ?? '' }];
    },
    async release(volume) {
      await ps(setDiskReadOnlyScript(diskNumber(volume), false));
    },
    async teardown() {
      for (const [cmd, args] of win32PolicyCommands({ mode: 'allow', allow: [], treatAsUsb: [] })) {
        await run(cmd, args, { env, timeoutMs: 10_000, okExitCodes: [1] });
      }
    },
  };
}
