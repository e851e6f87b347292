// USB write control on Linux. Finds USB block devices (lsblk TRAN=usb, the sysfs path, policy
// usb.treatAsUsb, or removable storage on another bus), marks disks that hold the running system,
// classifies signatures (blkid -p) and verifies claimed encryption (blkid -u filesystem,
// cryptsetup), makes blocked ones read-only (udev rule before mount; blockdev --setro +
// remount,ro after, stopping non-root writers when busy), and watches udev and the mount table.
import { access, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { hasCommand, run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import {
  classifyEncryption,
  type Encryption,
  type UsbBlockResult,
  type UsbGuard,
  type UsbGuardOptions,
  type UsbMount,
  type UsbPlan,
  type UsbVolumeInfo,
} from './usb.ts';
import {
  type EncryptionEvidence,
  judgeEncryption,
  nodesOf,
  parseLuksDump,
  removableBus,
  systemUseOf,
} from './usb-disk-facts.linux.ts';
import { createLinuxUsbEventSources } from './usb-events.linux.ts';
import {
  FINDMNT_LIST_ARGS,
  isBusyMountError,
  LSBLK_ARGS,
  type LsblkNode,
  type MountEntry,
  parseBlkidExport,
  parseFindmntList,
  parseLsblkJson,
  parseUdevProperties,
} from './usb-parse.linux.ts';
import {
  DEFAULT_UDEV_RULE_PATH,
  RULE_FILE_PATTERN,
  ruleOwner,
  UDEV_RULES_DIR,
  udevRuleFor,
  udevRulePathFor,
} from './usb-udev-rule.linux.ts';
import { describeWriter, findFsWriters, stopProcesses } from './usb-writers.linux.ts';

export interface UsbIdentity {
  vendorId: string;
  productId: string;
  vendor: string;
  product: string;
  serial: string;
}

/**
 * Volumes of one disk's subtree: everything except a partition-table container, unless a
 * filesystem signature sits on the container itself (`hasSignature`): a partitioned stick can
 * carry ext4 on the whole disk too, and `mount /dev/sdb` would then be writable and never judged.
 */
export function volumesOf(
  disk: LsblkNode,
  hasSignature: (n: LsblkNode) => boolean = () => false,
): LsblkNode[] {
  return nodesOf(disk).filter((n) => !n.children.some((c) => c.type === 'part') || hasSignature(n));
}

/** What the guard concluded about one volume's encryption (judgeEncryption), by device path. */
export type JudgedEncryption = { encryption: Encryption; kind: string; note: string; fsType: string };

export interface DiskFacts {
  viaNote?: string;
  systemUse?: string;
  /** Verdicts for volumes whose signature claims encryption; others are classified from the signature. */
  judged?: ReadonlyMap<string, JudgedEncryption>;
}

/** Builds volume records from parsed output (pure; I/O results are handed in). The blkid -p
 * signature is the truth for fs type, label and uuid; lsblk gives the tree, size and ro flag. */
export function buildVolumes(
  disk: LsblkNode,
  via: UsbVolumeInfo['via'],
  identity: UsbIdentity,
  mounts: MountEntry[],
  signatureOf: (n: LsblkNode) => Record<string, string>,
  facts: DiskFacts = {},
): UsbVolumeInfo[] {
  return volumesOf(disk, (n) => (signatureOf(n)['TYPE'] ?? '') !== '').map((n) => {
    const sig = signatureOf(n);
    const judged = facts.judged?.get(n.path);
    const fsType = judged?.fsType ?? sig['TYPE'] ?? '';
    const { encryption, kind } = judged ?? classifyEncryption({ type: n.type, fsType });
    const own: UsbMount[] = mounts
      .filter((m) => m.source === n.path)
      .map((m) => ({ target: m.target, fsType: m.fsType, readOnly: m.readOnly }));
    return {
      device: n.kname,
      devicePath: n.path,
      disk: disk.kname,
      via,
      ...(facts.viaNote ? { viaNote: facts.viaNote } : {}),
      ...(facts.systemUse ? { systemUse: facts.systemUse } : {}),
      ...(judged?.note ? { encryptionNote: judged.note } : {}),
      ...identity,
      vendor: identity.vendor || disk.vendor,
      product: identity.product || disk.model,
      serial: identity.serial || disk.serial,
      sizeBytes: n.sizeBytes,
      label: sig['LABEL'] ?? '',
      uuid: sig['UUID'] ?? '',
      fsType,
      encryption,
      encryptionKind: kind,
      deviceReadOnly: n.readOnly,
      mounts: own,
    };
  });
}

/** Reads idVendor/idProduct/serial from the nearest USB device above a block device in sysfs. */
async function sysfsUsbIdentity(sysPath: string): Promise<UsbIdentity | undefined> {
  let dir = sysPath;
  while (dir.startsWith('/sys/devices/') && dir.includes('/usb')) {
    try {
      const [vendorId, productId] = await Promise.all([
        readFile(join(dir, 'idVendor'), 'utf8'),
        readFile(join(dir, 'idProduct'), 'utf8'),
      ]);
      const opt = (f: string) =>
        readFile(join(dir, f), 'utf8').then(
          (t) => t.trim(),
          () => '',
        );
      return {
        vendorId: vendorId.trim().toLowerCase(),
        productId: productId.trim().toLowerCase(),
        vendor: await opt('manufacturer'),
        product: await opt('product'),
        serial: await opt('serial'),
      };
    } catch {
      dir = dirname(dir); // not the USB device node yet: keep walking up
    }
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface LinuxUsbGuardOptions extends UsbGuardOptions {
  /** Attempts of `mount -o remount,ro` while the mount is busy. Default 5. */
  busyRetries?: number;
  busyRetryMs?: number;
}

export function createLinuxUsbGuard(options: LinuxUsbGuardOptions = {}): UsbGuard {
  const run: ExecRunner = options.run ?? realRun;
  const env = options.env ?? process.env;
  const owner = options.owner ?? '';
  const rulePath = options.udevRulePath ?? (owner ? udevRulePathFor(owner) : DEFAULT_UDEV_RULE_PATH);
  const busyRetries = options.busyRetries ?? 5;
  const busyRetryMs = options.busyRetryMs ?? 200;
  let ruleTools: { blockdev: string; blkid: string } | undefined;

  async function udevdRunning(): Promise<boolean> {
    try {
      await run('udevadm', ['control', '--ping'], { env, timeoutMs: 2_000 });
      return true;
    } catch {
      return false;
    }
  }

  async function udevProps(devicePath: string): Promise<Record<string, string>> {
    try {
      const { stdout } = await run('udevadm', ['info', '--query=property', `--name=${devicePath}`], {
        env,
        timeoutMs: 2_000,
      });
      return parseUdevProperties(stdout);
    } catch {
      // No udev database for this device (udevd not running): identity comes from sysfs only.
      return {};
    }
  }

  async function identityOf(disk: LsblkNode): Promise<UsbIdentity> {
    const sys = await realpath(`/sys/class/block/${disk.kname}`).catch(() => '');
    const fromSysfs = sys ? await sysfsUsbIdentity(sys) : undefined;
    if (fromSysfs) return fromSysfs;
    // Devices counted as USB by policy (card readers, loop devices) may still carry udev IDs.
    const p = await udevProps(disk.path);
    return {
      vendorId: (p['ID_VENDOR_ID'] ?? '').toLowerCase(),
      productId: (p['ID_MODEL_ID'] ?? '').toLowerCase(),
      vendor: p['ID_VENDOR'] ?? '',
      product: p['ID_MODEL'] ?? '',
      serial: p['ID_SERIAL_SHORT'] ?? '',
    };
  }

  async function isUsbDisk(
    disk: LsblkNode,
    plan: UsbPlan,
  ): Promise<{ via: UsbVolumeInfo['via']; note?: string } | undefined> {
    if (disk.tran === 'usb') return { via: 'usb' };
    if (plan.treatAsUsb.includes(disk.kname) || plan.treatAsUsb.includes(disk.name))
      return { via: 'treat-as-usb' };
    const sys = await realpath(`/sys/class/block/${disk.kname}`).catch(() => '');
    if (/\/usb\d*\//.test(sys)) return { via: 'usb' };
    // An SD card and soldered eMMC are both "mmc" to lsblk (and both hot-pluggable); sysfs tells them apart.
    const sdCard =
      disk.tran === 'mmc' &&
      (await readFile(`/sys/class/block/${disk.kname}/device/type`, 'utf8').catch(() => '')).trim() === 'SD';
    const bus = removableBus(disk, sdCard);
    return bus ? { via: 'removable', note: bus } : undefined;
  }

  let cryptsetupPresent: boolean | undefined;
  /**
   * For volumes whose signature claims encryption: is there a filesystem signature alongside
   * (blkid -u filesystem probes only filesystems, so a LUKS header in front cannot hide one), and
   * does cryptsetup accept the LUKS header (a real cipher, a key slot)? See judgeEncryption().
   */
  async function judgeClaimedEncryption(
    nodes: LsblkNode[],
    signatures: Map<string, Record<string, string>>,
  ): Promise<Map<string, JudgedEncryption>> {
    const out = new Map<string, JudgedEncryption>();
    const claimed = nodes.filter((n) =>
      /^(crypto_LUKS|BitLocker)$/.test(signatures.get(n.path)?.['TYPE'] ?? ''),
    );
    if (claimed.some((n) => signatures.get(n.path)?.['TYPE'] === 'crypto_LUKS'))
      cryptsetupPresent ??= await hasCommand('cryptsetup');
    await Promise.all(
      claimed.map(async (n) => {
        const type = signatures.get(n.path)?.['TYPE'] ?? '';
        const { stdout } = await run('blkid', ['-p', '-o', 'export', '-u', 'filesystem', n.path], {
          env,
          timeoutMs: 3_000,
          okExitCodes: [2],
        });
        const filesystemAlongside = parseBlkidExport(stdout)['TYPE'] ?? '';
        const evidence: EncryptionEvidence = { type, filesystemAlongside };
        if (type === 'crypto_LUKS' && cryptsetupPresent) {
          // A check that cannot run proves nothing: the volume is then not counted as encrypted.
          const isLuks = await run('cryptsetup', ['isLuks', n.path], {
            env,
            timeoutMs: 5_000,
            okExitCodes: [1],
          }).catch(() => ({ exitCode: -1 }));
          const dump =
            isLuks.exitCode === 0
              ? await run('cryptsetup', ['luksDump', n.path], { env, timeoutMs: 5_000 }).then(
                  (r) => parseLuksDump(r.stdout),
                  () => undefined, // a header cryptsetup cannot dump is no proof of encryption
                )
              : undefined;
          evidence.luks = { isLuks: isLuks.exitCode === 0, dump };
        }
        const verdict = judgeEncryption(evidence);
        out.set(n.path, { ...verdict, fsType: filesystemAlongside || type });
      }),
    );
    return out;
  }

  /**
   * lsblk's FSTYPE/LABEL/UUID come from the udev database: empty without udevd (platform-notes
   * §0.4) and stale when udevd stopped before the device changed (a database that still says
   * crypto_LUKS would let an unencrypted stick through). blkid -p reads the device itself.
   */
  async function probeSignatures(nodes: LsblkNode[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    await Promise.all(
      nodes.map(async (n) => {
        const { stdout } = await run('blkid', ['-p', '-o', 'export', n.path], {
          env,
          timeoutMs: 3_000,
          okExitCodes: [2],
        });
        out.set(n.path, parseBlkidExport(stdout));
      }),
    );
    return out;
  }

  async function mountsNow(): Promise<MountEntry[]> {
    const { stdout } = await run('findmnt', FINDMNT_LIST_ARGS, { env, timeoutMs: 3_000 });
    return parseFindmntList(stdout);
  }

  /** Kernel names of every node on a disk that holds the running system, with why. */
  async function systemDiskNodes(): Promise<Map<string, string>> {
    const [lsblk, mounts] = await Promise.all([
      run('lsblk', LSBLK_ARGS, { env, timeoutMs: 5_000 }).then((r) => parseLsblkJson(r.stdout)),
      mountsNow(),
    ]);
    const out = new Map<string, string>();
    for (const disk of lsblk) {
      const why = systemUseOf(disk, mounts);
      if (!why) continue;
      for (const n of nodesOf(disk)) {
        out.set(n.kname, why);
        out.set(n.name, why);
      }
    }
    return out;
  }

  async function scan(plan: UsbPlan): Promise<UsbVolumeInfo[]> {
    const [lsblk, mounts] = await Promise.all([
      run('lsblk', LSBLK_ARGS, { env, timeoutMs: 5_000 }).then((r) => parseLsblkJson(r.stdout)),
      mountsNow(),
    ]);
    // Disks in parallel: the scan is part of the race window when udevd is not running.
    const perDisk = await Promise.all(
      lsblk.map(async (disk): Promise<UsbVolumeInfo[]> => {
        const usb = await isUsbDisk(disk, plan);
        if (!usb) return [];
        // Every node, partition-table containers included: a filesystem on the whole disk counts too.
        const nodes = nodesOf(disk);
        const [identity, signatures] = await Promise.all([identityOf(disk), probeSignatures(nodes)]);
        const judged = await judgeClaimedEncryption(nodes, signatures);
        return buildVolumes(disk, usb.via, identity, mounts, (n) => signatures.get(n.path) ?? {}, {
          ...(usb.note ? { viaNote: usb.note } : {}),
          systemUse: systemUseOf(disk, mounts),
          judged,
        });
      }),
    );
    return perDisk.flat();
  }

  /** One attempt at making this mount read-only; rejects (busy or otherwise) when it did not work. */
  async function makeReadOnly(volume: UsbVolumeInfo, mount: UsbMount, fuse: boolean): Promise<void> {
    if (fuse) {
      // FUSE filesystems ignore remount,ro (platform-notes §3): unmount, then mount read-only.
      await run('umount', [mount.target], { env, timeoutMs: 10_000 });
      await run('mount', ['-o', 'ro', volume.devicePath, mount.target], { env, timeoutMs: 15_000 });
      return;
    }
    await run('mount', ['-o', 'remount,ro', mount.target], { env, timeoutMs: 10_000 });
  }

  async function remountReadOnly(volume: UsbVolumeInfo, mount: UsbMount): Promise<UsbBlockResult> {
    const fuse = mount.fsType === 'fuseblk' || mount.fsType.startsWith('fuse');
    const method = fuse ? 'unmount-remount-ro' : 'remount-ro';
    let lastErr: unknown;
    for (let attempt = 1; attempt <= busyRetries; attempt++) {
      try {
        await makeReadOnly(volume, mount, fuse);
        return { method, mountpoint: mount.target };
      } catch (err) {
        lastErr = err;
        if (!isBusyMountError(err)) throw err;
        await sleep(busyRetryMs * attempt);
      }
    }
    // Still busy: processes hold files on it open for writing, and would go on writing to it
    // (relative paths from a shell whose cwd is there included) whatever else we did to the
    // mount. There is no read-only without them: stop them, then remount. A root process is
    // not ours to kill: then the volume stays writable and that is reported, never "blocked".
    const writers = await findFsWriters(mount.target);
    const rootOwned = writers.filter((w) => w.uid === 0);
    if (rootOwned.length > 0) {
      throw new CustodianError(
        ErrorCode.COMMAND_FAILED,
        `${mount.target} is still writable: root processes hold files on it open for writing (not stopped): ${rootOwned.map(describeWriter).join(', ')}`,
      );
    }
    await stopProcesses(writers.map((w) => w.pid));
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await makeReadOnly(volume, mount, fuse);
        return {
          method: `${method}-writers-stopped`,
          mountpoint: mount.target,
          note: `stopped processes that held files on it open for writing: ${writers.map(describeWriter).join(', ') || 'none found'}`,
        };
      } catch (err) {
        lastErr = err;
        if (!isBusyMountError(err)) break;
        await sleep(busyRetryMs * attempt);
      }
    }
    throw new CustodianError(
      ErrorCode.COMMAND_FAILED,
      `${mount.target} is still writable: ${(lastErr as Error).message}${writers.length ? ` (after stopping ${writers.map(describeWriter).join(', ')})` : ''}`,
      { cause: lastErr },
    );
  }

  return {
    platform: 'linux',
    async availability(plan) {
      if (typeof process.getuid === 'function' && process.getuid() !== 0) {
        return { available: false, reason: 'not root: cannot make USB devices read-only' };
      }
      for (const cmd of ['lsblk', 'blockdev', 'findmnt', 'mount', 'blkid']) {
        if (!(await hasCommand(cmd))) return { available: false, reason: `${cmd} is not installed` };
      }
      if (plan.mode === 'audit' || plan.mode === 'allow') {
        return { available: true, reason: `usb.mode=${plan.mode}: writes are recorded, not blocked` };
      }
      if (!(await udevdRunning())) {
        return {
          available: true,
          reason:
            'udevd is not running: devices are made read-only when the agent sees them, not before mount (a short race window)',
        };
      }
      return {
        available: true,
        reason: 'udev rule makes USB devices read-only before mount; mounted ones are remounted read-only',
      };
    },
    scan,
    watch(onChange) {
      return createLinuxUsbEventSources(onChange, {
        env,
        needsKernelEvents: async () => !(await udevdRunning()),
      });
    },
    async applyPlan(given) {
      ruleTools ??= {
        blockdev: await resolveTool(run, env, 'blockdev'),
        blkid: await resolveTool(run, env, 'blkid'),
      };
      // A treatAsUsb name on a disk that holds the running system never reaches the rule: at the
      // next boot (or any change event) udev would make the system disk read-only.
      const system = given.treatAsUsb.length > 0 ? await systemDiskNodes() : new Map<string, string>();
      const refused = given.treatAsUsb.filter((n) => system.has(n));
      const plan = { ...given, treatAsUsb: given.treatAsUsb.filter((n) => !system.has(n)) };
      const { text, skipped } = udevRuleFor(plan, ruleTools, owner);
      if (text !== null) await removeOrphanRules(rulePath);
      const current = await readFile(rulePath, 'utf8').catch(() => null);
      if (text === current) return text === null ? null : `udev rule ${rulePath}`;
      if (text === null) await rm(rulePath, { force: true });
      else await writeFile(rulePath, text, { mode: 0o644 });
      if (await udevdRunning()) await run('udevadm', ['control', '--reload'], { env, timeoutMs: 5_000 });
      if (text === null) return null;
      const notes = [
        ...(skipped.length
          ? [`policy entries not written into the rule, unsafe characters: ${skipped.join(', ')}`]
          : []),
        ...refused.map((n) => `usb.treatAsUsb ${n} left out: ${system.get(n)}`),
      ];
      return `udev rule ${rulePath}${notes.length ? ` (${notes.join('; ')})` : ''}`;
    },
    async block(volume) {
      // Read-only device first: a later mount comes up read-only and remount,rw is refused.
      await run('blockdev', ['--setro', volume.devicePath], { env, timeoutMs: 5_000 });
      const rw = volume.mounts.filter((m) => !m.readOnly);
      if (rw.length === 0) return [{ method: 'blockdev-setro', mountpoint: volume.mounts[0]?.target ?? '' }];
      const results: UsbBlockResult[] = [];
      for (const m of rw) results.push(await remountReadOnly(volume, m));
      const after = (await mountsNow()).filter((m) => m.source === volume.devicePath && !m.readOnly);
      if (after.length > 0) {
        throw new CustodianError(
          ErrorCode.COMMAND_FAILED,
          `still mounted read-write at ${after.map((m) => m.target).join(', ')}`,
        );
      }
      return results;
    },
    async release(volume) {
      await run('blockdev', ['--setrw', volume.devicePath], { env, timeoutMs: 5_000 });
      for (const m of volume.mounts.filter((x) => x.readOnly)) {
        await run('mount', ['-o', 'remount,rw', m.target], { env, timeoutMs: 10_000 });
      }
    },
    async teardown() {
      const existed = await readFile(rulePath, 'utf8').then(
        () => true,
        () => false,
      );
      if (!existed) return;
      await rm(rulePath, { force: true });
      if (await udevdRunning()) await run('udevadm', ['control', '--reload'], { env, timeoutMs: 5_000 });
    },
  };
}

/**
 * An agent killed without stopping leaves its rule behind. Rules whose owner (data dir) no longer
 * exists belong to no agent: remove them, so nothing enforces that nobody reports on.
 */
async function removeOrphanRules(ownPath: string): Promise<void> {
  const dir = ownPath.startsWith(`${UDEV_RULES_DIR}/`) ? UDEV_RULES_DIR : undefined;
  if (!dir) return;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = `${dir}/${name}`;
    if (!RULE_FILE_PATTERN.test(name) || path === ownPath) continue;
    const owner = ruleOwner(await readFile(path, 'utf8').catch(() => ''));
    if (!owner) continue;
    const alive = await access(owner).then(
      () => true,
      () => false,
    );
    if (!alive) await rm(path, { force: true });
  }
}

/** udev runs RUN+=/PROGRAM programs without a PATH search: the rule needs absolute paths. */
async function resolveTool(
  run: ExecRunner,
  env: NodeJS.ProcessEnv,
  tool: 'blockdev' | 'blkid',
): Promise<string> {
  const { stdout } = await run('sh', ['-c', `command -v ${tool}`], { env, timeoutMs: 2_000 });
  const path = stdout.trim();
  if (!path.startsWith('/')) throw new CustodianError(ErrorCode.UNAVAILABLE, `${tool} is not installed`);
  return path;
}
