// Pure judgements about one disk from what lsblk, findmnt, blkid and cryptsetup printed (tested on
// captured output in testdata/usb): does it hold the running system, is it removable storage on a
// bus other than USB, and is a LUKS/BitLocker signature on it real encryption.
import type { Encryption } from './usb.ts';
import type { LsblkNode, MountEntry } from './usb-parse.linux.ts';

/** Where desktops (udisks) mount removable media. A mount anywhere else was made by root on purpose. */
export const REMOVABLE_MOUNT_ROOTS = ['/media/', '/run/media/'] as const;

/** Every node of one disk's subtree, the disk first. */
export function nodesOf(disk: LsblkNode): LsblkNode[] {
  const out: LsblkNode[] = [];
  const walk = (n: LsblkNode): void => {
    out.push(n);
    for (const c of n.children) walk(c);
  };
  walk(disk);
  return out;
}

/**
 * Why this disk must never be made read-only, or '' when nothing on it says so: any node of it
 * (partition, crypt/LVM child) holds /, /boot, swap, or a mount outside the removable-media mount
 * points (issue 11 item 8: `treatAsUsb: ['vda']` once led to `remount,ro /`). lsblk's MOUNTPOINTS
 * shows swap as "[SWAP]"; findmnt adds mounts lsblk may miss.
 */
export function systemUseOf(disk: LsblkNode, mounts: readonly MountEntry[]): string {
  for (const n of nodesOf(disk)) {
    const targets = new Set([
      ...n.mountpoints,
      ...mounts.filter((m) => m.source === n.path).map((m) => m.target),
    ]);
    for (const t of targets) {
      if (t === '[SWAP]') return `${n.kname} holds swap`;
      if (t === '/' || t === '/boot' || t.startsWith('/boot/')) return `${n.kname} holds ${t}`;
    }
    for (const t of targets) {
      if (!REMOVABLE_MOUNT_ROOTS.some((root) => t.startsWith(root)))
        return `${n.kname} is mounted at ${t}, outside the removable-media mount points (/media, /run/media)`;
    }
  }
  return '';
}

/**
 * Removable storage that is not on the USB bus (issue 11 item 11), from lsblk's transport and
 * hot-plug/removable flags: an NVMe disk behind a hot-pluggable (Thunderbolt/USB4) PCIe port, an
 * SD card (`sdCard`: sysfs device/type is "SD", so soldered eMMC, also "mmc", is not one), or any
 * disk whose media is removable. Returns words for the timeline, or undefined.
 */
export function removableBus(disk: LsblkNode, sdCard: boolean): string | undefined {
  if (disk.type !== 'disk') return undefined;
  if (disk.tran === 'nvme' && disk.hotplug) return 'hot-pluggable NVMe (Thunderbolt/USB4)';
  if (disk.tran === 'mmc' && sdCard) return 'SD card';
  if (disk.removable) return `removable media${disk.tran ? ` on ${disk.tran}` : ''}`;
  return undefined;
}

export interface LuksDumpFacts {
  version: number;
  /** Data ciphers ("aes-xts-plain64"); LUKS1 joins "Cipher name" and "Cipher mode". */
  ciphers: string[];
  /** Enabled (LUKS1) or defined (LUKS2) key slots. */
  keyslots: number;
}

/** `cryptsetup luksDump DEV` for LUKS1 and LUKS2 (the text format, not --dump-json-metadata). */
export function parseLuksDump(stdout: string): LuksDumpFacts {
  const version = Number(/^Version:\s*(\d+)/m.exec(stdout)?.[1] ?? 0);
  if (version === 1) {
    const name = /^Cipher name:\s*(\S+)/m.exec(stdout)?.[1];
    const mode = /^Cipher mode:\s*(\S+)/m.exec(stdout)?.[1];
    return {
      version,
      ciphers: name ? [mode ? `${name}-${mode}` : name] : [],
      keyslots: [...stdout.matchAll(/^Key Slot \d+: ENABLED/gm)].length,
    };
  }
  const section = (title: string): string => {
    const m = new RegExp(`^${title}:\\n((?:[ \\t].*\\n?)*)`, 'm').exec(stdout);
    return m?.[1] ?? '';
  };
  return {
    version,
    ciphers: [...section('Data segments').matchAll(/^\s+cipher:\s*(\S+)/gm)].map((m) => m[1] as string),
    keyslots: [...section('Keyslots').matchAll(/^ {2}\d+: \S+/gm)].length,
  };
}

/** What the guard learnt about a volume whose signature says it is encrypted. */
export interface EncryptionEvidence {
  /** blkid -p TYPE of the volume ("crypto_LUKS", "BitLocker", "ext4", ...). */
  type: string;
  /** blkid -p -u filesystem: a filesystem signature found on the same device, or ''. */
  filesystemAlongside: string;
  /** LUKS only: `cryptsetup isLuks` succeeded, and the parsed dump; undefined when cryptsetup is missing. */
  luks?: { isLuks: boolean; dump: LuksDumpFacts | undefined };
}

/**
 * A signature alone does not make a stick encrypted (issue 11 item 9): 592 bytes of a LUKS1
 * header copied into the unused first KiB of an ext4 image made blkid say crypto_LUKS while the
 * ext4 stayed mountable. Encrypted only when no filesystem signature sits alongside and, for LUKS,
 * cryptsetup accepts the header with a real cipher and at least one key slot.
 */
export function judgeEncryption(e: EncryptionEvidence): {
  encryption: Encryption;
  kind: string;
  note: string;
} {
  const kind = e.type === 'crypto_LUKS' ? 'luks' : e.type === 'BitLocker' ? 'bitlocker' : '';
  const what = kind === 'luks' ? 'LUKS header' : 'BitLocker header';
  if (e.filesystemAlongside) {
    return {
      encryption: 'unencrypted',
      kind: '',
      note: `a ${what} sits alongside a mountable ${e.filesystemAlongside} filesystem: not encrypted`,
    };
  }
  if (kind !== 'luks') return { encryption: 'encrypted', kind, note: '' };
  if (!e.luks)
    return { encryption: 'unknown', kind: '', note: 'LUKS header not verified: cryptsetup is not installed' };
  if (!e.luks.isLuks || !e.luks.dump)
    return {
      encryption: 'unencrypted',
      kind: '',
      note: 'cryptsetup does not accept the LUKS header: not encrypted',
    };
  const { ciphers, keyslots } = e.luks.dump;
  if (ciphers.length === 0)
    return { encryption: 'unencrypted', kind: '', note: 'LUKS header names no data cipher' };
  const nullCipher = ciphers.find((c) => /cipher_null/i.test(c));
  if (nullCipher)
    return {
      encryption: 'unencrypted',
      kind: '',
      note: `LUKS with ${nullCipher} stores data in clear: not encrypted`,
    };
  if (keyslots < 1)
    return { encryption: 'unencrypted', kind: '', note: 'LUKS header has no key slot: not encrypted' };
  return { encryption: 'encrypted', kind, note: '' };
}
