// Change sources for USB storage on Linux: `udevadm monitor` (device add/remove/change, needs
// udevd) and `findmnt --poll` (mount/umount/remount, reads the kernel mount table, works without
// udevd). Both are long-lived children, so they cannot go through run() and its timeout; each is
// restarted with back-off when it exits, and killed on stop().
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnTied } from './exec.ts';
import type { UsbChangeHint, UsbWatchHandle } from './usb.ts';
import {
  FINDMNT_POLL_ARGS,
  parseFindmntPollLine,
  parseUdevMonitorLine,
  UDEV_MONITOR_ARGS,
} from './usb-parse.linux.ts';

interface Source {
  name: string;
  cmd: string;
  args: readonly string[];
  parse(line: string): UsbChangeHint | undefined;
}

const SOURCES: Source[] = [
  {
    name: 'udev',
    cmd: 'udevadm',
    args: UDEV_MONITOR_ARGS,
    parse(line) {
      const e = parseUdevMonitorLine(line);
      return e ? { source: 'udev', action: e.action } : undefined;
    },
  },
  {
    name: 'findmnt',
    cmd: 'findmnt',
    args: FINDMNT_POLL_ARGS,
    parse(line) {
      const e = parseFindmntPollLine(line);
      return e ? { source: 'findmnt', action: e.action, target: e.target } : undefined;
    },
  },
];

export interface EventSourceOptions {
  env?: NodeJS.ProcessEnv;
  /** First restart delay; doubles up to 30 s while a source keeps dying. Default 1000 ms. */
  restartMs?: number;
  onSourceExit?: (name: string, code: number | null) => void;
}

export function createLinuxUsbEventSources(
  onChange: (hint: UsbChangeHint) => void,
  options: EventSourceOptions = {},
): UsbWatchHandle {
  const restartMs = options.restartMs ?? 1_000;
  let stopped = false;
  const children = new Set<ChildProcess>();
  const timers = new Set<NodeJS.Timeout>();

  function start(src: Source, delay: number): void {
    const child = spawnTied(src.cmd, src.args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.add(child);
    const startedAt = Date.now();
    child.on('error', () => undefined); // ENOENT etc.: reported through 'exit'/'close' below
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const hint = src.parse(line);
      if (hint) onChange(hint);
    });
    child.once('close', (code) => {
      children.delete(child);
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

  for (const src of SOURCES) start(src, restartMs);

  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      const waits = [...children].map((c) => new Promise<void>((r) => c.once('close', () => r())));
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(waits);
    },
  };
}
