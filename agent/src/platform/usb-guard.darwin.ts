// USB write control on macOS (command construction and parsing; not run on a Mac here).
// Detection: `diskutil list -plist external physical`, then `diskutil info -plist` per volume
// (BusProtocol, Internal, FilesystemType, Encrypted/FileVault, WritableVolume, MountPoint).
// Enforcement: `diskutil unmount` + `diskutil mount readOnly`. DiskArbitration mounts new media
// read-write first, so there is always a window; closing it needs native code (a DiskArbitration
// approval callback or Endpoint Security AUTH_MOUNT) — not done. No VID/PID from diskutil, so the
// allow list cannot match on macOS yet.
import { createInterface } from 'node:readline';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { type ChildProcess, run as realRun, spawnTied } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import type { UsbGuard, UsbGuardOptions, UsbVolumeInfo } from './usb.ts';
import { type PlistValue, parsePlist } from './usb-plist.darwin.ts';

type Dict = { [key: string]: PlistValue };
const dict = (v: PlistValue | undefined): Dict => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
const str = (v: PlistValue | undefined): string => (typeof v === 'string' ? v : '');
const num = (v: PlistValue | undefined): number => (typeof v === 'number' ? v : 0);

export const LIST_ARGS = ['list', '-plist', 'external', 'physical'] as const;
export const infoArgs = (id: string): string[] => ['info', '-plist', id];

const IDENT = /^disk\d+(s\d+)*$/;

/** Volume identifiers (partitions and APFS volumes) of external physical disks, with their disk. */
export function parseDiskutilList(xml: string): { disk: string; volume: string }[] {
  const root = dict(parsePlist(xml));
  const all = root['AllDisksAndPartitions'];
  if (!Array.isArray(all))
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'diskutil list: no AllDisksAndPartitions');
  const out: { disk: string; volume: string }[] = [];
  for (const d of all) {
    const disk = str(dict(d)['DeviceIdentifier']);
    const parts = dict(d)['Partitions'];
    const apfs = dict(d)['APFSVolumes'];
    const children = [...(Array.isArray(parts) ? parts : []), ...(Array.isArray(apfs) ? apfs : [])];
    if (children.length === 0 && IDENT.test(disk)) out.push({ disk, volume: disk });
    for (const c of children) {
      const id = str(dict(c)['DeviceIdentifier']);
      // EFI system partitions are not user storage.
      if (IDENT.test(id) && str(dict(c)['Content']) !== 'EFI') out.push({ disk, volume: id });
    }
  }
  return out;
}

/** One `diskutil info -plist diskNsM` → a volume record; undefined when it is not external USB storage. */
export function parseDiskutilInfo(
  xml: string,
  disk: string,
  treatAsUsb: readonly string[] = [],
): UsbVolumeInfo | undefined {
  const i = dict(parsePlist(xml));
  const id = str(i['DeviceIdentifier']);
  const usb = str(i['BusProtocol']) === 'USB' && i['Internal'] !== true;
  const treated = treatAsUsb.includes(disk) || treatAsUsb.includes(id);
  if (!usb && !treated) return undefined;
  const fsType = str(i['FilesystemType']) || str(i['FilesystemName']);
  let encryption: UsbVolumeInfo['encryption'] = fsType ? 'unencrypted' : 'unknown';
  let kind = '';
  if (i['FileVault'] === true) {
    encryption = 'encrypted';
    kind = 'filevault';
  } else if (i['Encrypted'] === true || i['Locked'] === true) {
    encryption = 'encrypted';
    kind = 'apfs-encrypted';
  }
  const mount = str(i['MountPoint']);
  const writable = i['WritableVolume'] !== false && i['WritableMedia'] !== false;
  return {
    device: id,
    devicePath: str(i['DeviceNode']) || `/dev/${id}`,
    disk,
    via: usb ? 'usb' : 'treat-as-usb',
    vendorId: '',
    productId: '',
    vendor: '',
    product: str(i['MediaName']),
    serial: '',
    sizeBytes: num(i['Size']) || num(i['TotalSize']),
    label: str(i['VolumeName']),
    uuid: str(i['VolumeUUID']) || str(i['DiskUUID']),
    fsType,
    encryption,
    encryptionKind: kind,
    deviceReadOnly: i['WritableMedia'] === false,
    mounts: mount ? [{ target: mount, fsType, readOnly: !writable }] : [],
  };
}

/** `diskutil activity` prints "***DiskAppeared ('disk4', …)" and similar lines; any of them means "look again". */
export function parseDiskutilActivityLine(line: string): string | undefined {
  return /^\*\*\*(Disk\w+)/.exec(line)?.[1];
}

export function createDarwinUsbGuard(options: UsbGuardOptions = {}): UsbGuard {
  const run: ExecRunner = options.run ?? realRun;
  const env = options.env ?? process.env;
  const diskutil = (args: readonly string[], timeoutMs = 15_000) => run('diskutil', args, { env, timeoutMs });
  return {
    platform: 'darwin',
    async availability(plan) {
      if (typeof process.getuid === 'function' && process.getuid() !== 0) {
        return { available: false, reason: 'not root: cannot remount volumes read-only' };
      }
      if (plan.mode === 'audit' || plan.mode === 'allow')
        return { available: true, reason: `usb.mode=${plan.mode}: recorded, not blocked` };
      return {
        available: true,
        reason:
          'volumes are remounted read-only after macOS mounts them (a short window; no pre-mount hook without native code)',
      };
    },
    async scan(plan) {
      const list = parseDiskutilList((await diskutil(LIST_ARGS)).stdout);
      const out: UsbVolumeInfo[] = [];
      for (const { disk, volume } of list) {
        const v = parseDiskutilInfo((await diskutil(infoArgs(volume))).stdout, disk, plan.treatAsUsb);
        if (v) out.push(v);
      }
      return out;
    },
    watch(onChange) {
      // Long-lived, so not run(): restarted with a fixed back-off while the agent runs.
      let stopped = false;
      let child: ChildProcess | undefined;
      let timer: NodeJS.Timeout | undefined;
      const start = (): void => {
        child = spawnTied('diskutil', ['activity'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
        child.on('error', () => undefined);
        createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
          const action = parseDiskutilActivityLine(l);
          if (action) onChange({ source: 'diskutil-activity', action });
        });
        child.once('close', () => {
          if (!stopped) timer = setTimeout(start, 5_000);
        });
      };
      start();
      return {
        async stop() {
          stopped = true;
          clearTimeout(timer);
          child?.kill('SIGTERM');
        },
      };
    },
    applyPlan: async () => null,
    async block(volume) {
      if (!IDENT.test(volume.device))
        throw new CustodianError(ErrorCode.INVALID_INPUT, `not a disk identifier: ${volume.device}`);
      const target = volume.mounts[0]?.target ?? '';
      if (target) await diskutil(['unmount', volume.device]);
      await diskutil(['mount', 'readOnly', volume.device]);
      return [{ method: 'unmount-remount-ro', mountpoint: target }];
    },
    async release(volume) {
      if (!IDENT.test(volume.device))
        throw new CustodianError(ErrorCode.INVALID_INPUT, `not a disk identifier: ${volume.device}`);
      await diskutil(['unmount', volume.device]);
      await diskutil(['mount', volume.device]);
    },
    teardown: async () => undefined,
  };
}
