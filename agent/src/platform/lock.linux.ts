// Screen lock on Linux. X11: a configured locker command (default `i3lock -n`), seen as a
// full-screen top-level window of a known locker. Any desktop with logind: `loginctl
// lock-session` (the desktop's locker must honour it; LockedHint reports it). GNOME/KDE: the
// D-Bus screensaver's Lock. There is no X11 standard for "locked" (platform-notes §2).
import { basename } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { hasCommand, run as realRun, spawnDetached } from './exec.ts';
import { linuxSession } from './idle.linux.ts';
import type { Availability, ExecRunner } from './idle.ts';
import { configuredLockCommand, type ScreenLocker, type ScreenLockerOptions } from './lock.ts';
import { sessionEnv } from './session.ts';

/** Window names/classes of X11 screen lockers. */
export const KNOWN_X11_LOCKERS = [
  'i3lock',
  'xsecurelock',
  'slock',
  'xtrlock',
  'xscreensaver',
  'light-locker',
  'xlock',
];

export interface X11TopWindow {
  id: string;
  name: string;
  resName: string;
  resClass: string;
  width: number;
  height: number;
}

export interface X11RootChildren {
  rootWidth: number;
  rootHeight: number;
  children: X11TopWindow[];
}

// 0x200003 "i3lock": ("i3lock" "i3lock")  800x600+0+0  +0+0   |   0x20020b "Openbox": ("" (none))  1x1+-100+-100
const CHILD_LINE = /^\s*(0x[0-9a-f]+) (?:"((?:[^"\\]|\\.)*)"|\(has no name\)): \((.*)\)\s+(\d+)x(\d+)[+-]/;

/** Parses `xwininfo -root -children -stats`. Names are attacker-controlled: only ever compared. */
export function parseXwininfoRootChildren(stdout: string): X11RootChildren {
  const children: X11TopWindow[] = [];
  let rootWidth = 0;
  let rootHeight = 0;
  for (const line of stdout.split('\n')) {
    const m = CHILD_LINE.exec(line);
    if (m) {
      const cls = [...(m[3] ?? '').matchAll(/"([^"]*)"/g)].map((c) => c[1] ?? '');
      children.push({
        id: m[1] as string,
        name: m[2] ?? '',
        resName: cls[0] ?? '',
        resClass: cls[1] ?? '',
        width: Number(m[4]),
        height: Number(m[5]),
      });
      continue;
    }
    const w = /^\s*Width: (\d+)/.exec(line);
    if (w) rootWidth = Number(w[1]);
    const h = /^\s*Height: (\d+)/.exec(line);
    if (h) rootHeight = Number(h[1]);
  }
  if (!rootWidth || !rootHeight) {
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'xwininfo: no root window geometry in the output');
  }
  return { rootWidth, rootHeight, children };
}

/**
 * A locker is up when a top-level window of a known locker covers the whole screen. Requiring
 * full-screen size keeps an ordinary window that merely has a locker's name from counting.
 */
export function findLockerWindow(
  tree: X11RootChildren,
  lockerNames: readonly string[],
): X11TopWindow | undefined {
  const names = new Set(lockerNames.map((n) => n.toLowerCase()));
  return tree.children.find(
    (w) =>
      (names.has(w.resClass.toLowerCase()) ||
        names.has(w.resName.toLowerCase()) ||
        names.has(w.name.toLowerCase())) &&
      w.width >= tree.rootWidth &&
      w.height >= tree.rootHeight,
  );
}

/** `loginctl show-session ID -p LockedHint` → "LockedHint=yes". */
export function parseLockedHint(stdout: string): boolean {
  const m = /^LockedHint=(yes|no)$/m.exec(stdout);
  if (!m) throw new CustodianError(ErrorCode.COMMAND_FAILED, 'loginctl: no LockedHint in the output');
  return m[1] === 'yes';
}

/** gdbus prints "(true,)" / "(false,)" for ScreenSaver.GetActive. */
export function parseGdbusBool(stdout: string): boolean {
  const m = /^\((true|false),?\)$/.exec(stdout.trim());
  if (!m)
    throw new CustodianError(
      ErrorCode.COMMAND_FAILED,
      `gdbus: unexpected output ${JSON.stringify(stdout.slice(0, 60))}`,
    );
  return m[1] === 'true';
}

export function screensaverArgs(service: 'gnome' | 'freedesktop', method: 'Lock' | 'GetActive'): string[] {
  const name = service === 'gnome' ? 'org.gnome.ScreenSaver' : 'org.freedesktop.ScreenSaver';
  const path = service === 'gnome' ? '/org/gnome/ScreenSaver' : '/org/freedesktop/ScreenSaver';
  return ['call', '--session', '--dest', name, '--object-path', path, '--method', `${name}.${method}`];
}

interface LinuxLockMethod {
  name: string;
  /** null when usable, else why not. */
  unusable(): Promise<string | null>;
  /** Starts the lock; rejects with why it failed. Verification is done by the caller. */
  start(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function createLinuxScreenLocker(options: ScreenLockerOptions = {}): ScreenLocker {
  if (options.env) return createScreenLockerFor(options.env, options);
  // No fixed environment: follow the graphical session (session.ts), rebuilt when it changes.
  let env: NodeJS.ProcessEnv | undefined;
  let locker: ScreenLocker | undefined;
  const current = (): ScreenLocker => {
    const now = sessionEnv();
    if (!locker || now !== env) {
      env = now;
      locker = createScreenLockerFor(now, options);
    }
    return locker;
  };
  return {
    get methods() {
      return current().methods;
    },
    availability: () => current().availability(),
    lock: () => current().lock(),
    isLocked: () => current().isLocked(),
  };
}

function createScreenLockerFor(env: NodeJS.ProcessEnv, options: ScreenLockerOptions): ScreenLocker {
  const run: ExecRunner = options.run ?? realRun;
  const verifyMs = options.verifyMs ?? 2_000;
  const session = linuxSession(env);
  const lockCommand = options.lockCommand ?? configuredLockCommand(env);
  const lockerName = basename(lockCommand[0] ?? 'i3lock');
  const lockerNames = [...new Set([lockerName, ...KNOWN_X11_LOCKERS])];
  /** The foreground locker we started (i3lock -n): while it runs, the screen is locked. */
  let ownLocker: { pid: number; exited: boolean } | undefined;

  const methods: LinuxLockMethod[] = [];
  if (session.kind === 'x11') {
    methods.push({
      name: lockerName,
      async unusable() {
        return (await hasCommand(lockCommand[0] ?? '')) ? null : `${lockCommand[0]} is not installed`;
      },
      start: () => startLockerCommand(),
    });
  }
  if (session.sessionId) {
    methods.push({
      name: 'loginctl',
      async unusable() {
        return (await hasCommand('loginctl')) ? null : 'loginctl is not installed';
      },
      async start() {
        await run('loginctl', ['lock-session', session.sessionId], { env, timeoutMs: 5_000 });
      },
    });
  }
  if (env['DBUS_SESSION_BUS_ADDRESS']) {
    for (const service of ['gnome', 'freedesktop'] as const) {
      methods.push({
        name: `dbus-screensaver-${service}`,
        async unusable() {
          return (await hasCommand('gdbus')) ? null : 'gdbus is not installed';
        },
        async start() {
          await run('gdbus', screensaverArgs(service, 'Lock'), { env, timeoutMs: 5_000 });
        },
      });
    }
  }

  /**
   * The locker lives until the user unlocks, so it cannot go through run() (its timeout would
   * unlock the screen). It is detached: an agent restart must not unlock the screen either.
   */
  function startLockerCommand(): Promise<void> {
    const [cmd, ...args] = lockCommand;
    if (!cmd) return Promise.reject(new CustodianError(ErrorCode.INVALID_CONFIG, 'empty lock command'));
    return new Promise((resolve, reject) => {
      const child = spawnDetached(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 2_000) stderr += d.toString('utf8');
      });
      const state = { pid: child.pid ?? 0, exited: false };
      let settled = false;
      child.once('error', (err) => {
        state.exited = true;
        if (!settled) {
          settled = true;
          reject(new CustodianError(ErrorCode.COMMAND_FAILED, `${cmd}: ${err.message}`, { cause: err }));
        }
      });
      child.once('exit', (code, signal) => {
        state.exited = true;
        child.stderr?.destroy();
        if (settled) return;
        settled = true;
        // A forking locker (i3lock without -n) exits 0 once it holds the screen.
        if (code === 0) resolve();
        else
          reject(
            new CustodianError(
              ErrorCode.COMMAND_FAILED,
              `${cmd} exited ${code ?? signal}${stderr.trim() ? `: ${stderr.trim().slice(0, 300)}` : ''}`,
            ),
          );
      });
      child.unref();
      ownLocker = state;
      // Still running after a moment: it is holding the screen (verified by the caller).
      setTimeout(
        () => {
          if (!settled) {
            settled = true;
            resolve();
          }
        },
        Math.min(500, verifyMs / 2),
      );
    });
  }

  async function x11Locked(): Promise<boolean> {
    const { stdout } = await run('xwininfo', ['-root', '-children', '-stats'], { env, timeoutMs: 2_000 });
    return findLockerWindow(parseXwininfoRootChildren(stdout), lockerNames) !== undefined;
  }

  async function isLocked(): Promise<boolean> {
    if (session.kind === 'x11') {
      if (ownLocker && !ownLocker.exited) return true;
      if (await x11Locked()) return true;
    }
    if (session.sessionId) {
      const { stdout } = await run('loginctl', ['show-session', session.sessionId, '-p', 'LockedHint'], {
        env,
        timeoutMs: 2_000,
      });
      return parseLockedHint(stdout);
    }
    if (session.kind === 'wayland' && env['DBUS_SESSION_BUS_ADDRESS']) {
      const { stdout } = await run('gdbus', screensaverArgs('gnome', 'GetActive'), { env, timeoutMs: 2_000 });
      return parseGdbusBool(stdout);
    }
    if (session.kind === 'x11') return false;
    throw new CustodianError(ErrorCode.UNAVAILABLE, 'no graphical session to read the lock state from');
  }

  async function verify(): Promise<boolean> {
    const deadline = Date.now() + verifyMs;
    for (;;) {
      try {
        if (await isLocked()) return true;
      } catch {
        // A state read failing mid-verification is retried until the deadline; the attempt fails after it.
      }
      if (Date.now() >= deadline) return false;
      await sleep(100);
    }
  }

  return {
    methods: methods.map((m) => m.name),
    async availability(): Promise<Availability> {
      if (methods.length === 0) {
        return {
          available: false,
          reason:
            session.kind === 'wayland'
              ? 'Wayland session without a logind session id or D-Bus screensaver'
              : 'no X display and no logind session',
        };
      }
      const why: string[] = [];
      for (const m of methods) {
        const reason = await m.unusable();
        if (reason === null) return { available: true, reason: `locks with ${m.name}` };
        why.push(reason);
      }
      return { available: false, reason: why.join('; ') };
    },
    async lock() {
      const failures: string[] = [];
      for (const m of methods) {
        const reason = await m.unusable();
        if (reason !== null) {
          failures.push(`${m.name}: ${reason}`);
          continue;
        }
        try {
          await m.start();
        } catch (err) {
          failures.push(`${m.name}: ${(err as Error).message}`);
          continue;
        }
        if (await verify()) return m.name;
        failures.push(`${m.name}: started but the screen did not show as locked within ${verifyMs} ms`);
      }
      throw new CustodianError(
        methods.length ? ErrorCode.COMMAND_FAILED : ErrorCode.UNAVAILABLE,
        failures.length ? failures.join('; ') : 'no lock method for this session',
        { details: { method: methods.map((m) => m.name).join(',') || 'none' } },
      );
    },
    isLocked,
  };
}
