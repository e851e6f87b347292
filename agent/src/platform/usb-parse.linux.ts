// Pure parsers for the Linux storage tools' output (tested on captured output in testdata/usb).
import { CustodianError, ErrorCode } from '@custodian/protocol';

export const LSBLK_ARGS = [
  '-J',
  '-b',
  '-o',
  'NAME,KNAME,PKNAME,PATH,TYPE,TRAN,RM,HOTPLUG,RO,FSTYPE,MOUNTPOINTS,SIZE,LABEL,UUID,SERIAL,MODEL,VENDOR',
] as const;
export const FINDMNT_LIST_ARGS = ['-J', '-l', '-o', 'SOURCE,TARGET,FSTYPE,OPTIONS'] as const;
export const FINDMNT_POLL_ARGS = ['--poll', '-n', '-P', '-o', 'ACTION,SOURCE,TARGET'] as const;
/**
 * udev events and the kernel's own uevents (seen without udevd: containers, minimal systems; and
 * before any udev rule runs) from ONE `udevadm monitor`: its lines say which (UDEV / KERNEL).
 */
export const UDEV_MONITOR_ARGS = ['monitor', '--udev', '--kernel', '--subsystem-match=block'] as const;

export interface LsblkNode {
  name: string;
  kname: string;
  pkname: string;
  path: string;
  type: string;
  tran: string;
  removable: boolean;
  /** lsblk HOTPLUG: removable or hot-pluggable (usb, mmc, a PCIe port marked removable, ...). */
  hotplug: boolean;
  readOnly: boolean;
  fsType: string;
  mountpoints: string[];
  sizeBytes: number;
  label: string;
  uuid: string;
  serial: string;
  model: string;
  vendor: string;
  children: LsblkNode[];
}

function bad(what: string, detail: string): CustodianError {
  return new CustodianError(ErrorCode.COMMAND_FAILED, `${what}: ${detail}`);
}

const s = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
// lsblk prints booleans as JSON booleans (util-linux >= 2.33) or "0"/"1" strings (older).
const b = (v: unknown): boolean => v === true || v === '1' || v === 1;

function node(raw: Record<string, unknown>): LsblkNode {
  const mps = Array.isArray(raw['mountpoints'])
    ? (raw['mountpoints'] as unknown[])
    : raw['mountpoint'] !== undefined
      ? [raw['mountpoint']]
      : [];
  return {
    name: s(raw['name']),
    kname: s(raw['kname']) || s(raw['name']),
    pkname: s(raw['pkname']),
    path: s(raw['path']),
    type: s(raw['type']),
    tran: s(raw['tran']),
    removable: b(raw['rm']),
    hotplug: b(raw['hotplug']),
    readOnly: b(raw['ro']),
    fsType: s(raw['fstype']),
    mountpoints: mps.filter((m): m is string => typeof m === 'string' && m !== ''),
    sizeBytes: Number(raw['size'] ?? 0) || 0,
    label: s(raw['label']),
    uuid: s(raw['uuid']),
    serial: s(raw['serial']),
    model: s(raw['model']),
    vendor: s(raw['vendor']),
    children: Array.isArray(raw['children']) ? (raw['children'] as Record<string, unknown>[]).map(node) : [],
  };
}

/** `lsblk -J -b -o …` as a tree of top-level devices with their children. */
export function parseLsblkJson(stdout: string): LsblkNode[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw bad('lsblk', 'output is not JSON');
  }
  const list = (doc as { blockdevices?: unknown }).blockdevices;
  if (!Array.isArray(list)) throw bad('lsblk', 'no "blockdevices" list');
  return (list as Record<string, unknown>[]).map(node);
}

/** `blkid -p -o export DEV`: KEY=VALUE lines (TYPE, USAGE, LABEL, UUID, ...). Empty when nothing was found. */
export function parseBlkidExport(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export interface MountEntry {
  source: string;
  target: string;
  fsType: string;
  options: string[];
  readOnly: boolean;
}

/** Bind mounts show the subtree in brackets: "/dev/sdb1[/photos]". */
function mountSource(source: string): string {
  const i = source.indexOf('[');
  return i > 0 ? source.slice(0, i) : source;
}

/** `findmnt -J -l -o SOURCE,TARGET,FSTYPE,OPTIONS`. */
export function parseFindmntList(stdout: string): MountEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw bad('findmnt', 'output is not JSON');
  }
  const list = (doc as { filesystems?: unknown }).filesystems;
  if (!Array.isArray(list)) throw bad('findmnt', 'no "filesystems" list');
  return (list as Record<string, unknown>[]).map((f) => {
    const options = s(f['options']).split(',').filter(Boolean);
    return {
      source: mountSource(s(f['source'])),
      target: s(f['target']),
      fsType: s(f['fstype']),
      options,
      readOnly: options.includes('ro'),
    };
  });
}

/** One `findmnt --poll -n -P` line: ACTION="mount" SOURCE="/dev/loop0" TARGET="/mnt/a b". */
export function parseFindmntPollLine(
  line: string,
): { action: string; source: string; target: string } | undefined {
  const pairs = new Map<string, string>();
  for (const m of line.matchAll(/([A-Z]+)="((?:[^"\\]|\\.)*)"/g)) {
    pairs.set(m[1] as string, unescapePairs(m[2] as string));
  }
  const action = pairs.get('ACTION');
  if (!action) return undefined;
  return { action, source: mountSource(pairs.get('SOURCE') ?? ''), target: pairs.get('TARGET') ?? '' };
}

/** findmnt -P escapes unsafe bytes as \xHH. */
function unescapePairs(v: string): string {
  return v.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** One `udevadm monitor` line: "UDEV  [1234.56] add      /devices/virtual/block/loop0 (block)" (--udev) or "KERNEL[1234.56] change   /devices/... (block)" (--kernel). */
export function parseUdevMonitorLine(line: string): { action: string; kernelName: string } | undefined {
  const e = parseUdevMonitorEvent(line);
  return e ? { action: e.action, kernelName: e.kernelName } : undefined;
}

/** parseUdevMonitorLine plus which side of the monitor the line came from. */
export function parseUdevMonitorEvent(
  line: string,
): { from: 'udev' | 'kernel'; action: string; kernelName: string } | undefined {
  const m = /^(UDEV|KERNEL)\s*\[[\d.]+\]\s+(\w+)\s+(\S+)\s+\(block\)/.exec(line);
  if (!m) return undefined;
  const devpath = m[3] as string;
  return {
    from: m[1] === 'UDEV' ? 'udev' : 'kernel',
    action: m[2] as string,
    kernelName: devpath.slice(devpath.lastIndexOf('/') + 1),
  };
}

/** `udevadm info --query=property`: KEY=VALUE lines. */
export function parseUdevProperties(stdout: string): Record<string, string> {
  return parseBlkidExport(stdout);
}

/** A failed `mount -o remount,ro` that a retry may fix: something holds a file open for writing. */
export function isBusyMountError(err: unknown): boolean {
  const e = err as { details?: { exitCode?: number; stderr?: string }; message?: string };
  const text = `${e.details?.stderr ?? ''} ${e.message ?? ''}`;
  return /busy/i.test(text);
}
