// Change sources for USB storage on Linux: one `udevadm monitor --udev --kernel` (device
// add/remove/change: udev's events, which need udevd, and the kernel's own uevents, each line
// saying which) and `findmnt --poll` (mount/umount/remount, reads the kernel mount table, works
// without udevd). Where udevd is not running the kernel events take the place of the udev ones.
// Where it is, they only stand guard: udev events come a moment after the kernel's, so a kernel
// event with no udev event after it means udevd has gone, and it is passed on then. Kernel events
// count only once it is known whether udevd runs. Both are long-lived children (one udevadm, not
// one per side: ~4.6 MiB of RSS each), so they cannot go through run() and its timeout; each is
// restarted with back-off when it exits, and killed on stop().
import { createInterface } from 'node:readline';
import { type ChildProcess, spawnTied } from './exec.ts';
import type { UsbChangeHint, UsbWatchHandle } from './usb.ts';
import {
  FINDMNT_POLL_ARGS,
  parseFindmntPollLine,
  parseUdevMonitorEvent,
  UDEV_MONITOR_ARGS,
} from './usb-parse.linux.ts';

interface Source {
  name: string;
  cmd: string;
  args: readonly string[];
  parse(line: string): UsbChangeHint | undefined;
}

/** Its hints' source is the side of the monitor: 'udev' or 'kernel'. */
const UDEVADM_SOURCE: Source = {
  name: 'udevadm',
  cmd: 'udevadm',
  args: UDEV_MONITOR_ARGS,
  parse(line) {
    const e = parseUdevMonitorEvent(line);
    return e ? { source: e.from, action: e.action } : undefined;
  },
};

const FINDMNT_SOURCE: Source = {
  name: 'findmnt',
  cmd: 'findmnt',
  args: FINDMNT_POLL_ARGS,
  parse(line) {
    const e = parseFindmntPollLine(line);
    return e ? { source: 'findmnt', action: e.action, target: e.target } : undefined;
  },
};

export interface EventSourceOptions {
  env?: NodeJS.ProcessEnv;
  /** First restart delay; doubles up to 30 s while a source keeps dying. Default 1000 ms. */
  restartMs?: number;
  onSourceExit?: (name: string, code: number | null) => void;
  /**
   * Resolves true when udevd is not running, so device events must come from the kernel
   * monitor. Asked once at start. Default: never (udev and findmnt only, no kernel monitor).
   */
  needsKernelEvents?: () => Promise<boolean>;
  /** With udevd running: how long a kernel event may wait for a udev event. Default 3000 ms. */
  udevGraceMs?: number;
}

/** A source whose child has been running this long without exiting counts as up. */
const SETTLED_MS = 1_000;

export function createLinuxUsbEventSources(
  onChange: (hint: UsbChangeHint) => void,
  options: EventSourceOptions = {},
): UsbWatchHandle {
  const restartMs = options.restartMs ?? 1_000;
  let stopped = false;
  const children = new Set<ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();
  /** Per source: when its current child started, or undefined while it is down. */
  const upSince = new Map<string, number | undefined>();
  let deviceEvents: 'udev' | 'kernel' | undefined;
  const udevGraceMs = options.udevGraceMs ?? 3_000;
  /** udevd running: a kernel event waiting for its udev event. */
  let kernelPending: NodeJS.Timeout | undefined;
  /** udevd running, but a kernel event got no udev event within the grace time. */
  let udevSilent = false;

  function hintFrom(hint: UsbChangeHint): void {
    if (hint.source === 'udev') {
      udevSilent = false;
      clearTimeout(kernelPending);
      kernelPending = undefined;
    } else if (hint.source === 'kernel') {
      // Not known yet whether udevd runs: the kernel side is not counted yet.
      if (!deviceEvents) return;
      if (deviceEvents === 'kernel') {
        onChange(hint);
        return;
      }
      kernelPending ??= setTimeout(() => {
        kernelPending = undefined;
        udevSilent = true;
        onChange(hint);
      }, udevGraceMs);
      return;
    }
    onChange(hint);
  }

  function start(src: Source, delay: number): void {
    const child = spawnTied(src.cmd, src.args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.add(child);
    const startedAt = Date.now();
    upSince.set(src.name, child.pid === undefined ? undefined : startedAt);
    child.on('error', () => undefined); // ENOENT etc.: reported through 'exit'/'close' below
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const hint = src.parse(line);
      if (hint) hintFrom(hint);
    });
    child.once('close', (code) => {
      children.delete(child);
      upSince.set(src.name, undefined);
      if (stopped) return;
      options.onSourceExit?.(src.name, code);
      // A source that ran for a while gets a fresh back-off; one that dies at once backs off further.
      const next = Date.now() - startedAt > 30_000 ? restartMs : Math.min(30_000, delay * 2);
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) start(src, next);
      }, delay);
      timers.add(t);
      // The mount table may have changed while the source was down.
      onChange({ source: src.name, action: 'restart' });
    });
  }

  start(UDEVADM_SOURCE, restartMs);
  start(FINDMNT_SOURCE, restartMs);
  const kernelCheck = (options.needsKernelEvents?.() ?? Promise.resolve(false)).then(
    (needed) => {
      if (stopped) return;
      deviceEvents = needed ? 'kernel' : 'udev';
    },
    () => undefined, // unknown: the device-event side stays incomplete, the fast poll stays on
  );

  const isUp = (name: string): boolean => {
    const since = upSince.get(name);
    return since !== undefined && Date.now() - since >= SETTLED_MS;
  };

  return {
    complete() {
      if (!deviceEvents || !isUp('udevadm') || !isUp('findmnt')) return false;
      return deviceEvents === 'kernel' || !udevSilent;
    },
    async stop() {
      stopped = true;
      await kernelCheck;
      clearTimeout(kernelPending);
      for (const t of timers) clearTimeout(t);
      const waits = [...children].map((c) => new Promise<void>((r) => c.once('close', () => r())));
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(waits);
    },
  };
}
