// USB enforcement figures on real loop devices (root): how long an unencrypted volume mounted
// read-write stays writable before the agent makes it read-only when no udev rule closed the
// race (the "race window"), and what one USB scan costs. Baselines from the same run: the bare
// enforcement commands (blockdev --setro + remount,ro) and a bare `lsblk -J`.
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
import type { BenchResult } from './types.ts';

const ROUNDS = 10;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

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
      notes: [`skipped: ${can.ok ? 'udevd is running (it would close the race window)' : can.reason}`],
    };
  }
  const release = await acquireUsbTestLock();
  try {
    const window: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Baseline: the enforcement commands alone on a mounted rw volume.
      const b = attachLoop(makeImage('ext4'));
      const bm = mountDevice(b);
      bare.push(timed('blockdev', ['--setro', b.path]) + timed('mount', ['-o', 'remount,ro', bm]));
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
      window.push(Date.now() - mountedAt);
      await control.stop();
      cleanupLoopScaffolding();
    }

    const scanDev = attachLoop(makeImage('ext4'));
    mountDevice(scanDev);
    const guard = createLinuxUsbGuard({ udevRulePath: `${tempDir('custodian-bench-rule-')}/r.rules` });
    const plan = { mode: 'block-unencrypted-writes' as const, allow: [], treatAsUsb: [scanDev.name] };
    const scans: number[] = [];
    const lsblk: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const vols = await guard.scan(plan);
      scans.push(performance.now() - t0);
      if (vols.length !== 1) throw new Error(`scan found ${vols.length} volumes`);
      lsblk.push(timed('lsblk', ['-J']));
    }
    const w = median(window);
    const bw = median(bare);
    const s = median(scans);
    const bl = median(lsblk);
    return {
      title: 'USB enforcement (Linux, loop devices, no udev rule)',
      rows: [
        {
          metric: 'race window: `mount` returned → agent reports it read-only (median of 10)',
          value: w,
          unit: 'ms',
          baseline: bw,
          baselineLabel: 'blockdev --setro + remount,ro alone',
          ratio: w / bw,
        },
        { metric: 'race window, worst of 10', value: Math.max(...window), unit: 'ms' },
        {
          metric: 'one USB scan, 1 volume (lsblk + findmnt + blkid -p + sysfs/udev identity)',
          value: s,
          unit: 'ms',
          baseline: bl,
          baselineLabel: 'bare lsblk -J',
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
