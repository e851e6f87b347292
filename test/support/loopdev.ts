// Real block devices for USB tests: loop devices over sparse files (ext4, LUKS, or no signature),
// mounts, udevd, and a machine-wide lock so two suites never fight over udevd or udev rules.
// Everything a test creates is registered and removed by cleanupLoopScaffolding(), even after
// failures: call it from afterAll/afterEach.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools } from './tools.ts';

export interface LoopDevice {
  /** "/dev/loop3" */
  path: string;
  /** "loop3" */
  name: string;
  image: string;
}

const loops = new Set<LoopDevice>();
const mounts = new Set<string>();
const dirs = new Set<string>();
const files = new Set<string>();
let udevdPid: number | undefined;

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 30_000,
  });
}

export function canUseLoopDevices(): { ok: boolean; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
  const missing = missingTools(['losetup', 'mkfs.ext4', 'mount', 'blockdev', 'findmnt', 'lsblk', 'blkid']);
  if (missing.length > 0) return { ok: false, reason: `${missing.join(', ')} missing` };
  if (!existsSync('/dev/loop-control')) return { ok: false, reason: 'no /dev/loop-control' };
  return { ok: true, reason: '' };
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/**
 * A sparse image file formatted as asked; not attached yet.
 * - `fake-luks`: issue 11 item 9, built exactly like the attack: a plain ext4 whose unused first
 *   KiB holds the first 592 bytes of a genuine LUKS1 header (blkid -p then says crypto_LUKS).
 * - `ext4-partitioned`: ext4 on the whole disk plus an MBR partition table with one partition
 *   (issue 11 item 11); attach it, then addPartitions().
 */
export function makeImage(
  kind: 'ext4' | 'luks' | 'ntfs' | 'none' | 'fake-luks' | 'ext4-partitioned',
  opts: { sizeMb?: number; label?: string } = {},
): string {
  const dir = tempDir('custodian-usb-img-');
  const image = join(dir, `${kind}.img`);
  sh('truncate', ['-s', `${opts.sizeMb ?? 32}M`, image]);
  if (kind === 'ext4' || kind === 'fake-luks' || kind === 'ext4-partitioned')
    sh('mkfs.ext4', ['-q', '-F', '-L', opts.label ?? 'STICK', image]);
  if (kind === 'fake-luks') {
    const donor = join(dir, 'luks1-donor.img');
    sh('truncate', ['-s', '4M', donor]);
    sh(
      'cryptsetup',
      ['luksFormat', '--type', 'luks1', '--batch-mode', '--pbkdf-force-iterations', '1000', donor, '-'],
      'test-passphrase',
    );
    const header = Buffer.alloc(592);
    const fd = openSync(donor, 'r');
    readSync(fd, header, 0, 592, 0);
    closeSync(fd);
    const out = openSync(image, 'r+');
    writeSync(out, header, 0, 592, 0);
    closeSync(out);
    rmSync(donor);
  }
  if (kind === 'ext4-partitioned') {
    // One MBR entry (type 83, from 17 MiB, 4 MiB long) in the first sector, which ext4 leaves unused.
    const mbr = Buffer.alloc(512);
    mbr[446 + 4] = 0x83;
    mbr.writeUInt32LE(34_816, 446 + 8);
    mbr.writeUInt32LE(8_192, 446 + 12);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const out = openSync(image, 'r+');
    writeSync(out, mbr, 446, 66, 446);
    closeSync(out);
  }
  // NTFS mounts through ntfs-3g, a FUSE filesystem (fuseblk): the unmount + ro mount path.
  if (kind === 'ntfs') sh('mkntfs', ['-q', '-F', '-Q', '-L', opts.label ?? 'NTFSSTICK', image]);
  if (kind === 'luks') {
    sh(
      'cryptsetup',
      [
        'luksFormat',
        '--type',
        'luks2',
        '--batch-mode',
        '--pbkdf',
        'pbkdf2',
        '--pbkdf-force-iterations',
        '1000',
        image,
        '-',
      ],
      'test-passphrase',
    );
  }
  return image;
}

/** The loop device `losetup -f` would hand out next (another process may take it first: retry on EBUSY). */
export function nextFreeLoop(): string {
  return sh('losetup', ['-f']).trim();
}

export function attachLoop(image: string, at?: string): LoopDevice {
  const path = at ?? nextFreeLoop();
  // The read-only flag of `blockdev --setro` outlives losetup -d on the same loop device: a
  // device someone else left read-only must not decide a test.
  sh('blockdev', ['--setrw', path]);
  sh('losetup', [path, image]);
  const dev: LoopDevice = { path, name: path.replace('/dev/', ''), image };
  loops.add(dev);
  return dev;
}

/**
 * A fresh directory under /run/media, where desktops (udisks) mount removable media. The agent
 * refuses to block a volume mounted anywhere else (a system disk, issue 11 item 8), so test
 * mounts go where a pupil's stick would.
 */
export function mediaDir(prefix: string): string {
  mkdirSync(MEDIA_ROOT, { recursive: true });
  const d = mkdtempSync(join(MEDIA_ROOT, prefix));
  dirs.add(d);
  return d;
}
const MEDIA_ROOT = '/run/media/custodian-test';

const partitioned = new Set<string>();
/**
 * Adds the kernel partitions of an attached image with `partx -a` (BLKPG): this kernel has no
 * MSDOS/EFI partition parser, so `losetup -P` finds none. Removed again by cleanup.
 */
export function addPartitions(dev: LoopDevice): string[] {
  sh('partx', ['-a', dev.path]);
  partitioned.add(dev.path);
  return readdirSync('/dev')
    .filter((n) => n.startsWith(`${dev.name}p`))
    .map((n) => `/dev/${n}`);
}

export function mountDevice(dev: LoopDevice, opts: string[] = []): string {
  const target = mediaDir('custodian-usb-mnt-');
  const r = spawnSync('mount', [...opts, dev.path, target], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${dev.path} failed: ${r.stderr}`);
  mounts.add(target);
  return target;
}

export function mountOptions(target: string): string[] {
  const r = spawnSync('findmnt', ['-n', '-o', 'OPTIONS', '--mountpoint', target], { encoding: 'utf8' });
  return r.stdout.trim().split(',');
}

export function isDeviceReadOnly(dev: LoopDevice): boolean {
  return sh('blockdev', ['--getro', dev.path]).trim() === '1';
}

/** Writes a file from ANOTHER process (sh), as a user would; returns its exit status and stderr. */
export function writeFromOtherProcess(path: string, text: string): { ok: boolean; stderr: string } {
  const r = spawnSync('sh', ['-c', 'printf %s "$1" > "$2" && sync', 'sh', text, path], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

/** Kept here for the USB suite; the one probe (typed against the CI guard's list) is in tools.ts. */
export { hasCommand } from './tools.ts';

export function udevdRunning(): boolean {
  return spawnSync('udevadm', ['control', '--ping'], { timeout: 3_000, stdio: 'ignore' }).status === 0;
}

/** Starts systemd-udevd if none runs; stopUdevd() stops only one this module started. */
export function startUdevd(): { ok: boolean; reason: string; startedByUs: boolean } {
  if (udevdRunning()) return { ok: true, reason: 'already running', startedByUs: false };
  const bin = ['/lib/systemd/systemd-udevd', '/usr/lib/systemd/systemd-udevd'].find((p) => existsSync(p));
  if (!bin) return { ok: false, reason: 'systemd-udevd is not installed', startedByUs: false };
  const r = spawnSync(bin, ['--daemon'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0)
    return { ok: false, reason: `systemd-udevd --daemon failed: ${r.stderr.trim()}`, startedByUs: false };
  for (let i = 0; i < 50 && !udevdRunning(); i++) spawnSync('sleep', ['0.1']);
  if (!udevdRunning())
    return { ok: false, reason: 'systemd-udevd did not answer udevadm control --ping', startedByUs: false };
  const pid = spawnSync('pgrep', ['-x', '-n', 'systemd-udevd'], { encoding: 'utf8' }).stdout.trim();
  udevdPid = Number(pid) || undefined;
  return { ok: true, reason: 'started', startedByUs: true };
}

export function stopUdevd(): void {
  if (udevdPid === undefined) return;
  // Only the daemon this module started, by pid; udevadm control --exit asks it to quit cleanly.
  spawnSync('udevadm', ['control', '--exit'], { timeout: 5_000, stdio: 'ignore' });
  try {
    process.kill(udevdPid, 0);
    process.kill(udevdPid, 'SIGTERM');
  } catch {
    // already gone
  }
  udevdPid = undefined;
}

let udevdAtFirstUse: boolean | undefined;

/**
 * Puts udevd in the state a test needs, or throws saying why it cannot (never a skip: every case
 * runs, issue 12 item 1). Stopping may stop a udevd this module did not start (`udevadm control
 * --exit`); restoreUdevd() brings back the state found at the first call. Hold the USB test lock.
 */
export function ensureUdevd(running: boolean): void {
  udevdAtFirstUse ??= udevdRunning();
  if (running) {
    const r = startUdevd();
    if (!r.ok) throw new Error(`this test needs udevd running: ${r.reason}`);
    return;
  }
  if (!udevdRunning()) return;
  spawnSync('udevadm', ['control', '--exit'], { timeout: 10_000, stdio: 'ignore' });
  for (let i = 0; i < 100 && udevdRunning(); i++) spawnSync('sleep', ['0.1']);
  if (udevdRunning())
    throw new Error('this test needs udevd stopped: it is still running after udevadm control --exit');
  udevdPid = undefined;
}

/** Back to the udevd state found at the first ensureUdevd() call. */
export function restoreUdevd(): void {
  if (udevdAtFirstUse === undefined) return;
  const want = udevdAtFirstUse;
  udevdAtFirstUse = undefined;
  if (want && !udevdRunning()) startUdevd();
  else if (!want && udevdRunning()) {
    spawnSync('udevadm', ['control', '--exit'], { timeout: 10_000, stdio: 'ignore' });
    udevdPid = undefined;
  }
}

export function udevSettle(): void {
  spawnSync('udevadm', ['settle', '-t', '10'], { stdio: 'ignore' });
}

/** A udev rule file for the duration of a test (removed by cleanup). */
export function installTestUdevRule(name: string, text: string): string {
  const path = `/etc/udev/rules.d/${name}`;
  writeFileSync(path, text);
  files.add(path);
  spawnSync('udevadm', ['control', '--reload'], { stdio: 'ignore' });
  return path;
}

/** Unmounts, makes writable again, detaches and deletes everything registered so far. */
export function cleanupLoopScaffolding(): string[] {
  const problems: string[] = [];
  for (const target of [...mounts].reverse()) {
    // FUSE mounts are unmounted and mounted again by the agent; a failed test may leave layers: unmount all.
    for (let i = 0; i < 5; i++) {
      if (spawnSync('mountpoint', ['-q', target]).status !== 0) break;
      if (spawnSync('umount', [target]).status !== 0) spawnSync('umount', ['-l', target]);
    }
    mounts.delete(target);
  }
  for (const dev of loops) {
    if (partitioned.delete(dev.path)) {
      for (const p of readdirSync('/dev').filter((n) => n.startsWith(`${dev.name}p`)))
        spawnSync('blockdev', ['--setrw', `/dev/${p}`]);
      spawnSync('partx', ['-d', dev.path]);
    }
    // blockdev --setro sticks to the loop device's block_device; clear it so the next user gets a writable one.
    spawnSync('blockdev', ['--setrw', dev.path]);
    const r = spawnSync('losetup', ['-d', dev.path], { encoding: 'utf8' });
    if (r.status !== 0 && !/No such device/.test(r.stderr))
      problems.push(`losetup -d ${dev.path}: ${r.stderr.trim()}`);
    loops.delete(dev);
  }
  for (const f of files) {
    rmSync(f, { force: true });
    files.delete(f);
  }
  if (udevdRunning()) spawnSync('udevadm', ['control', '--reload'], { stdio: 'ignore' });
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
    dirs.delete(d);
  }
  return problems;
}

const LOCK = join(tmpdir(), 'custodian-usb-tests.lock');

/** How long a suite waits for another to release the USB lock; vitest.config.ts hook timeouts are longer. */
export const USB_LOCK_WAIT_MS = 120_000;

/** Waits for the machine-wide USB test lock (udevd and /etc/udev/rules.d are shared state). */
export async function acquireUsbTestLock(timeoutMs = USB_LOCK_WAIT_MS): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        if (readFileSync(LOCK, 'utf8') === String(process.pid)) unlinkSync(LOCK);
      };
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(LOCK, 'utf8').trim());
      } catch {
        continue; // released between our open and read: try again
      }
      let alive = false;
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        alive = false;
      }
      if (!alive) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`USB test lock held by pid ${holder}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}
