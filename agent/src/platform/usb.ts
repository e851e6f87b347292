// Removable USB storage: what a volume looks like to the enforcer, how its encryption is
// classified, and the platform guard that finds volumes and makes them read-only. One interface,
// one file per OS (usb-guard.<os>.ts), chosen here only.
import type { Policy } from '@custodian/policy';
import type { Availability, ExecRunner } from './idle.ts';

export type Encryption = 'encrypted' | 'unencrypted' | 'unknown';

export interface UsbMount {
  target: string;
  fsType: string;
  readOnly: boolean;
}

/** One block device that can carry data: a partition, an unpartitioned disk, or an opened crypt child. */
export interface UsbVolumeInfo {
  /** Kernel name ("sdb1", "loop3", "dm-0"); on Windows "disk2:E:", on macOS "disk4s1". */
  device: string;
  devicePath: string;
  /** The physical disk it belongs to ("sdb"); identity (vendor/product/serial) is the disk's. */
  disk: string;
  /**
   * Why it counts as USB: the bus says so, policy usb.treatAsUsb names it, or it is removable
   * storage on another bus (Thunderbolt/USB4 NVMe, SD card, removable media; `viaNote` says which).
   */
  via: 'usb' | 'treat-as-usb' | 'removable';
  viaNote?: string;
  /**
   * Set when the disk holds the running system (/, /boot, swap, or a mount outside the
   * removable-media mount points): it is never made read-only, and this says why.
   */
  systemUse?: string;
  vendorId: string;
  productId: string;
  vendor: string;
  product: string;
  serial: string;
  sizeBytes: number;
  label: string;
  uuid: string;
  fsType: string;
  encryption: Encryption;
  /** "luks", "bitlocker", "dm-crypt", "apfs-encrypted", "filevault"; empty when not encrypted. */
  encryptionKind: string;
  /** Why a signature that looks encrypted was not counted as encryption (fake or null-cipher LUKS). */
  encryptionNote?: string;
  /** The block device itself refuses writes (blockdev --setro, write-protect switch, Set-Disk -IsReadOnly). */
  deviceReadOnly: boolean;
  mounts: UsbMount[];
}

/** The part of policy the guard needs, after demo mode has been applied. */
export type UsbPlan = Policy['usb'];

export interface UsbBlockResult {
  /** "blockdev-setro", "remount-ro", "unmount-remount-ro", "remount-ro-writers-stopped", "set-disk-readonly", ... */
  method: string;
  /** Empty when the volume was not mounted. */
  mountpoint: string;
  /** Extra facts for the timeline, e.g. the PIDs that kept the mount busy. */
  note?: string;
}

export interface UsbChangeHint {
  source: string;
  action?: string;
  /** Mount target, when the source knows it (findmnt). */
  target?: string;
}

export interface UsbWatchHandle {
  stop(): Promise<void>;
  /**
   * True while the change sources are running and together see every attach, detach, mount and
   * unmount, so a full rescan is only a safety net. Absent: never assumed (poll at the fast rate).
   */
  complete?(): boolean;
}

export interface UsbGuard {
  readonly platform: string;
  availability(plan: UsbPlan): Promise<Availability>;
  scan(plan: UsbPlan): Promise<UsbVolumeInfo[]>;
  /** Starts the platform's change sources; hints only say "look again". */
  watch(onChange: (hint: UsbChangeHint) => void): UsbWatchHandle;
  /**
   * Installs (or removes, when the plan allows writes) the guard that makes devices read-only
   * before they are mounted: the udev rule on Linux, the write-deny policy on Windows.
   * Returns what is in place, in words, or null when nothing is.
   */
  applyPlan(plan: UsbPlan): Promise<string | null>;
  /** Makes this volume read-only now, including its current mounts. Rejects with why not. */
  block(volume: UsbVolumeInfo): Promise<UsbBlockResult[]>;
  /** Undoes block() for a volume policy now allows. */
  release(volume: UsbVolumeInfo): Promise<void>;
  /** Removes whatever applyPlan installed. */
  teardown(): Promise<void>;
}

export interface UsbGuardOptions {
  run?: ExecRunner;
  env?: NodeJS.ProcessEnv;
  /** Who owns the pre-mount guard: the agent's data dir (one udev rule file per owner). */
  owner?: string;
  /** Linux: where the udev rule goes. Default: udevRulePathFor(owner), or 61-custodian-usb-readonly.rules. */
  udevRulePath?: string;
}

export async function createUsbGuard(
  options: UsbGuardOptions = {},
  platform: NodeJS.Platform = process.platform,
): Promise<UsbGuard> {
  switch (platform) {
    case 'linux':
      return (await import('./usb-guard.linux.ts')).createLinuxUsbGuard(options);
    case 'win32':
      return (await import('./usb-guard.win32.ts')).createWin32UsbGuard(options);
    case 'darwin':
      return (await import('./usb-guard.darwin.ts')).createDarwinUsbGuard(options);
    default:
      return (await import('./usb-guard.unsupported.ts')).createUnsupportedUsbGuard(platform);
  }
}

/**
 * Encryption from what the OS reports about one block device (platform-notes §3). No signature
 * at all (VeraCrypt, raw data) is "unknown": nothing proves it is encrypted, so policy decides.
 */
export function classifyEncryption(node: { type: string; fsType: string }): {
  encryption: Encryption;
  kind: string;
} {
  if (node.type === 'crypt') return { encryption: 'encrypted', kind: 'dm-crypt' };
  if (node.fsType === 'crypto_LUKS') return { encryption: 'encrypted', kind: 'luks' };
  if (node.fsType === 'BitLocker') return { encryption: 'encrypted', kind: 'bitlocker' };
  if (node.fsType === '') return { encryption: 'unknown', kind: '' };
  return { encryption: 'unencrypted', kind: '' };
}
