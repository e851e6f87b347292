// USB enforcement figures on real loop devices (root): how long an unencrypted volume mounted
// read-write stays writable before the agent makes it read-only when no udev rule closed the
// race (the "race window"), and what one USB scan costs. Baselines from the same run: the bare
// enforcement commands (blockdev --setro + remount,ro) and a bare `lsblk -J`.
// Statistics: median of ROUNDS (race window and its baseline) and of SCANS (scan and lsblk),
// after one untimed round of each that warms both sides (page cache, binaries, modules).
// Leaves out: machines where udevd runs (the agent's udev rule closes the race: there is no
// window to measure, and this section then fails `pnpm bench` with that reason rather than
// print an empty table), real USB buses (loop devices stand in), and the file watcher.
import { spawnSync } from 'node:child_process';
import { createUsbControl } from '../../agent/src/enforce/usb-control.ts';
import { createLinuxUsbGuard } from '../../agent/src/platform/usb-guard.linux.ts';
import { createTestContext } from '../../agent/test/enforce/harness.ts';
import {
  acquireUsbTestLock,
  attachLoop,
  canUseLoopDevices,
  cleanupLoopScaffolding,
  makeImage,
  mountDevice,
  nextFreeLoop,
  tempDir,
  udevdRunning,
} from '../support/loopdev.ts';
import { median } from './stats.ts';
import type { BenchResult } from './types.ts';

const ROUNDS = 10;
const SCANS = 20;

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
  return performance.now() - t0;
}

export async function run(): Promise<BenchResult> {
  const can = canUseLoopDevices();
  if (!can.ok || udevdRunning()) {
    return {
      title: 'USB enforcement',
      rows: [],
      notes: [
        `cannot run here: ${can.ok ? 'udevd is running (it would close the race window)' : can.reason}`,
      ],
    };
  }
  const release = await acquireUsbTestLock();
  try {
    const window: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < 1 + ROUNDS; i++) {
      const warm = i === 0; // round 0 warms both sides and is not counted
      // Baseline: the enforcement commands alone on a mounted rw volume.
      const b = attachLoop(makeImage('ext4'));
      const bm = mountDevice(b);
      const bareMs = timed('blockdev', ['--setro', b.path]) + timed('mount', ['-o', 'remount,ro', bm]);
      if (!warm) bare.push(bareMs);
      cleanupLoopScaffolding();

      const image = makeImage('ext4');
      const name = nextFreeLoop().replace('/dev/', '');
      const ctx = createTestContext({
        policy: { usb: { mode: 'block-unencrypted-writes', allow: [], treatAsUsb: [name] } },
      });
      const control = createUsbControl(ctx, {
        guard: createLinuxUsbGuard({ udevRulePath: `${tempDir('custodian-bench-rule-')}/r.rules` }),
        scanIntervalMs: 60_000,
        watchFiles: false,
      });
      await control.start();
      const dev = attachLoop(image, `/dev/${name}`);
      mountDevice(dev);
      const mountedAt = Date.now();
      await ctx.waitFor((e) => e.usbWriteBlocked ?? undefined, 15_000, 'usbWriteBlocked');
      if (!warm) window.push(Date.now() - mountedAt);
      await control.stop();
      cleanupLoopScaffolding();
    }

    const scanDev = attachLoop(makeImage('ext4'));
    mountDevice(scanDev);
    const guard = createLinuxUsbGuard({ udevRulePath: `${tempDir('custodian-bench-rule-')}/r.rules` });
    const plan = { mode: 'block-unencrypted-writes' as const, allow: [], treatAsUsb: [scanDev.name] };
    const scans: number[] = [];
    const lsblk: number[] = [];
    for (let i = 0; i < 1 + SCANS; i++) {
      const t0 = performance.now();
      const vols = await guard.scan(plan);
      const scanMs = performance.now() - t0;
      if (vols.length !== 1) throw new Error(`scan found ${vols.length} volumes`);
      const lsblkMs = timed('lsblk', ['-J']);
      if (i === 0) continue; // warm-up
      scans.push(scanMs);
      lsblk.push(lsblkMs);
    }
    const w = median(window);
    const bw = median(bare);
    const s = median(scans);
    const bl = median(lsblk);
    return {
      title: 'USB enforcement (Linux, loop devices, no udev rule)',
      rows: [
        {
          metric: `race window: \`mount\` returned → agent reports it read-only (median of ${window.length})`,
          value: w,
          unit: 'ms',
          baseline: bw,
          baselineLabel: `blockdev --setro + remount,ro alone, median of ${bare.length}`,
          ratio: w / bw,
        },
        {
          metric: `race window, worst of ${window.length}`,
          value: Math.max(...window),
          unit: 'ms',
          baseline: Math.max(...bare),
          baselineLabel: 'blockdev --setro + remount,ro alone, worst',
        },
        {
          metric: `one USB scan, 1 volume (lsblk + findmnt + blkid -p + sysfs/udev identity; median of ${scans.length})`,
          value: s,
          unit: 'ms',
          baseline: bl,
          baselineLabel: `bare lsblk -J, median of ${lsblk.length}`,
          ratio: s / bl,
        },
      ],
      notes: [
        'The race window only exists without udevd: with the agent’s udev rule the device is read-only before it is mounted.',
        'Detection of a new mount comes from `findmnt --poll`; the window is detection + one scan + the enforcement commands.',
      ],
    };
  } finally {
    cleanupLoopScaffolding();
    release();
  }
}
