// Screen lock on Linux. X11: a configured locker command (default `i3lock -n`) run AS THE
// SESSION'S USER (so it checks that user's password, not root's), and "locked" decided from
// evidence the pupil cannot forge (x11-lock-decision.ts). Any desktop with logind: `loginctl
// lock-session` (the desktop's locker must honour it). GNOME/KDE: the D-Bus screensaver's Lock.
// There is no X11 standard for "locked" (platform-notes §2).
import { basename } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { type ChildProcess, hasCommand, run as realRun, spawnDetached } from './exec.ts';
import { linuxSession } from './idle.linux.ts';
import type { Availability, ExecRunner } from './idle.ts';
import { configuredLockCommand, type ScreenLocker, type ScreenLockerOptions } from './lock.ts';
import { runAsFor, sessionEnv } from './session.ts';
import { decideX11Locked, KNOWN_LOCKER_BINARIES, type X11LockEvidence } from './x11-lock-decision.ts';
import { gatherX11LockEvidence } from './x11-lock-evidence.ts';

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
  const listeners = new Set<(what: string) => void>();
  const tamper = (what: string): void => {
    for (const l of [...listeners]) l(what);
  };
  const onTamper = (l: (what: string) => void): (() => void) => {
    listeners.add(l);
    return () => listeners.delete(l);
  };
  if (options.env) return { ...createScreenLockerFor(options.env, options, tamper), onTamper };
  // No fixed environment: follow the graphical session (session.ts), rebuilt when it changes.
  let env: NodeJS.ProcessEnv | undefined;
  let locker: ScreenLocker | undefined;
  const current = (): ScreenLocker => {
    const now = sessionEnv();
    if (!locker || now !== env) {
      env = now;
      locker = createScreenLockerFor(now, options, tamper);
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
    onTamper,
  };
}

interface OwnLockerState {
  child: ChildProcess;
  pid: number;
  running: boolean;
  /** lock() saw it hold the screen: from then on, an end other than exit 0 is tampering. */
  verified: boolean;
  /** The agent ended it itself (to replace a hidden one): not tampering. */
  replaced: boolean;
}

function createScreenLockerFor(
  env: NodeJS.ProcessEnv,
  options: ScreenLockerOptions,
  tamper: (what: string) => void,
): ScreenLocker {
  const run: ExecRunner = options.run ?? realRun;
  const verifyMs = options.verifyMs ?? 2_000;
  const session = linuxSession(env);
  // The locker and every X/D-Bus helper run as the session's user (session.ts).
  const runAs = options.runAs ?? runAsFor(env);
  const asUser = runAs ? { runAs } : {};
  // The agent's own setting (a discovered session's environment is clean: nothing of root's).
  const lockCommand =
    options.lockCommand ?? configuredLockCommand(env['CUSTODIAN_LOCK_COMMAND'] ? env : process.env);
  const lockerName = basename(lockCommand[0] ?? 'i3lock');
  const lockerNames = [...new Set([lockerName, ...KNOWN_LOCKER_BINARIES])];
  /** The foreground locker we started (i3lock -n). */
  let ownLocker: OwnLockerState | undefined;
  /** The last tampering reported (reported once until the screen is locked again). */
  let reportedTamper = false;
  /** Reads in a row that saw our running locker hidden (one could race the user's unlock). */
  let hiddenReads = 0;
  const evidence = (): Promise<X11LockEvidence> =>
    gatherX11LockEvidence({
      env,
      runAs,
      sessionUid: runAs?.uid ?? process.getuid?.(),
      own: ownLocker ? { pid: ownLocker.pid, running: ownLocker.running } : undefined,
      lockerNames,
    });

  function reportTamper(what: string): void {
    if (reportedTamper) return;
    reportedTamper = true;
    tamper(what);
  }

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
        await run('loginctl', ['lock-session', session.sessionId], { timeoutMs: 5_000 });
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
          await run('gdbus', screensaverArgs(service, 'Lock'), { env, timeoutMs: 5_000, ...asUser });
        },
      });
    }
  }

  /**
   * The locker lives until the user unlocks, so it cannot go through run() (its timeout would
   * unlock the screen). It is detached: an agent restart must not unlock the screen either. It
   * runs as the session's user: i3lock checks the password of the user it runs as.
   */
  function startLockerCommand(): Promise<void> {
    const [cmd, ...args] = lockCommand;
    if (!cmd) return Promise.reject(new CustodianError(ErrorCode.INVALID_CONFIG, 'empty lock command'));
    // A locker of ours still running here was hidden (unmapped, covered): it holds nothing.
    if (ownLocker?.running) {
      ownLocker.replaced = true;
      try {
        process.kill(ownLocker.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawnDetached(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], ...asUser });
      } catch (err) {
        reject(err);
        return;
      }
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        if (stderr.length < 2_000) stderr += d.toString('utf8');
      });
      const state: OwnLockerState = {
        child,
        pid: child.pid ?? 0,
        running: true,
        verified: false,
        replaced: false,
      };
      let settled = false;
      child.once('error', (err) => {
        state.running = false;
        if (!settled) {
          settled = true;
          reject(new CustodianError(ErrorCode.COMMAND_FAILED, `${cmd}: ${err.message}`, { cause: err }));
        }
      });
      child.once('exit', (code, signal) => {
        state.running = false;
        child.stderr?.destroy();
        // Exit 0 is the user's unlock. Anything else after the lock held (killed, its X
        // connection killed by another client) is an end without an unlock: say so.
        if (state.verified && !state.replaced && code !== 0) {
          reportTamper(
            `the screen locker ${basename(cmd)} (pid ${state.pid}) ended with ${signal ?? `exit ${code}`} while the screen was locked`,
          );
        }
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
    const e: X11LockEvidence = await evidence();
    const verdict = decideX11Locked(e);
    if (!verdict.locked && verdict.tamper && ownLocker?.verified) {
      if (++hiddenReads >= 2) reportTamper(verdict.tamper);
    } else hiddenReads = 0;
    return verdict.locked;
  }

  async function isLocked(): Promise<boolean> {
    // X11: only the X evidence counts. LockedHint is not consulted here: the session's own user
    // may set it (SetLockedHint), and on X11 the agent can see for itself.
    if (session.kind === 'x11') return x11Locked();
    if (session.kind === 'wayland' && env['DBUS_SESSION_BUS_ADDRESS']) {
      try {
        const { stdout } = await run('gdbus', screensaverArgs('gnome', 'GetActive'), {
          env,
          timeoutMs: 2_000,
          ...asUser,
        });
        return parseGdbusBool(stdout);
      } catch (err) {
        if (!session.sessionId) throw err;
        // No GNOME screensaver on this bus: logind's hint below.
      }
    }
    if (session.sessionId) {
      const { stdout } = await run('loginctl', ['show-session', session.sessionId, '-p', 'LockedHint'], {
        timeoutMs: 2_000,
      });
      return parseLockedHint(stdout);
    }
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
        if (await verify()) {
          if (ownLocker) ownLocker.verified = true;
          reportedTamper = false;
          return m.name;
        }
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
