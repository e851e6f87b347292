// Graphical session discovery (behind one interface, chosen here only). A root service has no
// DISPLAY, XAUTHORITY or session bus of its own: the active window, idle time, idle lock and
// screenshots need the environment of the user's desktop session. When the agent has a display
// of its own (development, tests, `pnpm start`) nothing is discovered and process.env is used.
import type { AgentLogger } from '../core/contracts.ts';
import type { RunAs } from './exec.ts';

/** The variables that bind a process to a desktop session (copied from the session, nothing else). */
export const SESSION_VARS = [
  'DISPLAY',
  'XAUTHORITY',
  'DBUS_SESSION_BUS_ADDRESS',
  'WAYLAND_DISPLAY',
  'XDG_RUNTIME_DIR',
  'XDG_SESSION_ID',
  'XDG_SESSION_TYPE',
] as const;

export interface GraphicalSession {
  /** How it was found. */
  source: 'logind' | 'proc';
  uid: number;
  /** Primary group of the user (helpers run as uid:gid). */
  gid: number;
  user: string;
  /** The user's home directory ("/" when the user has no passwd entry). */
  home: string;
  /**
   * Only SESSION_VARS keys, and only values the agent derived itself: DISPLAY `:N` of a trusted
   * X server, XAUTHORITY the agent's copy of that server's cookie (session.linux.ts).
   */
  vars: Record<string, string>;
}

/** PATH for helpers run in the user's session: system directories only, never the user's. */
export const SESSION_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';

export interface SessionDiscovery {
  /**
   * A cheap fingerprint of whatever the discovery looks at (no process spawned): when it is the
   * same as at the last discover(), the answer has not changed.
   */
  fingerprint(): Promise<string>;
  /** The active graphical session, verified to answer; undefined when there is none. */
  discover(): Promise<GraphicalSession | undefined>;
}

/** True when the environment names a display of its own (then nothing is discovered). */
export function hasOwnDisplay(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env['DISPLAY'] || env['WAYLAND_DISPLAY']);
}

const runAsOf = new WeakMap<NodeJS.ProcessEnv, RunAs>();

/**
 * Set in the environment of every helper started in a discovered session. Discovery leaves out
 * processes that carry it AND descend from the agent (its own helpers, which run as the user with
 * the session's DISPLAY, must not keep a session alive after a logout). The mark alone hides
 * nothing: a user's own processes do not descend from the agent.
 */
export const HELPER_MARK = 'CUSTODIAN_SESSION_HELPER';

/**
 * The environment display-bound helpers run with. Without a session: `base` minus stale session
 * variables. With one: a CLEAN environment (PATH, the session's variables, UTF-8 locale; nothing
 * of root's own), bound to the session's user when this process is root and the user is not
 * (runAsFor() gives it back), so every helper started with it runs as that user.
 */
export function sessionEnvironment(
  base: NodeJS.ProcessEnv,
  session: GraphicalSession | undefined,
  ownUid: number | undefined = process.getuid?.(),
): NodeJS.ProcessEnv {
  if (!session) {
    const env: NodeJS.ProcessEnv = { ...base };
    for (const k of SESSION_VARS) delete env[k];
    return env;
  }
  const env: NodeJS.ProcessEnv = {
    PATH: SESSION_PATH,
    LANG: 'C.UTF-8',
    [HELPER_MARK]: '1',
    ...session.vars,
  };
  if (ownUid === 0 && session.uid !== 0)
    runAsOf.set(env, {
      uid: session.uid,
      gid: session.gid,
      home: session.home,
      ...(session.user && session.user !== String(session.uid) ? { user: session.user } : {}),
    });
  return env;
}

/** The user a session environment's helpers run as (undefined: as this process). */
export function runAsFor(env: NodeJS.ProcessEnv): RunAs | undefined {
  return runAsOf.get(env);
}

/**
 * A helper's environment (the session's, with C.UTF-8 output) and the user it runs as: spread
 * `asUser` into run()/spawnTied() options.
 */
export function helperSession(base: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv;
  asUser: { runAs?: RunAs };
} {
  const runAs = runAsFor(base);
  return { env: { ...base, LC_ALL: 'C.UTF-8' }, asUser: runAs ? { runAs } : {} };
}

/** Binds an environment to a user explicitly (adapters given a fixed env and user, tests). */
export function bindRunAs(env: NodeJS.ProcessEnv, runAs: RunAs): NodeJS.ProcessEnv {
  runAsOf.set(env, runAs);
  return env;
}

/** Stable identity of a session, to tell a change (logout, login, user switch) from a re-find. */
export function sessionKey(s: GraphicalSession | undefined): string {
  if (!s) return '';
  return JSON.stringify([s.uid, ...SESSION_VARS.map((k) => s.vars[k] ?? '')]);
}

export async function createSessionDiscovery(
  platform: NodeJS.Platform = process.platform,
): Promise<SessionDiscovery> {
  switch (platform) {
    case 'linux':
      return (await import('./session.linux.ts')).createLinuxSessionDiscovery();
    default:
      return (await import('./session.unsupported.ts')).createUnsupportedSessionDiscovery();
  }
}

// ---- the process-wide provider the display-bound adapters consult when they spawn ----

let provider: (() => NodeJS.ProcessEnv) | undefined;

/**
 * The environment display-bound commands run with: process.env unless the agent installed a
 * session watcher. The same object is returned until the session changes (adapters compare
 * identities to know when to rebuild).
 */
export function sessionEnv(): NodeJS.ProcessEnv {
  return provider ? provider() : process.env;
}

export function setSessionEnvProvider(p: (() => NodeJS.ProcessEnv) | undefined): void {
  provider = p;
}

/** Without a session, discover again every this many checks even when nothing changed. */
export const RETRY_EMPTY_EVERY = 4;

export interface SessionWatcherOptions {
  discovery: SessionDiscovery;
  log: AgentLogger;
  /** Default 30 s. */
  intervalMs?: number;
  base?: NodeJS.ProcessEnv;
}

/**
 * Keeps the current session environment: re-checks the discovery's fingerprint every intervalMs
 * and discovers again only when it changed (or the last discovery found nothing that answers...
 * which the fingerprint also covers: a new login changes /proc and /run/systemd/sessions).
 */
export class SessionWatcher {
  private readonly opts: SessionWatcherOptions;
  private env: NodeJS.ProcessEnv;
  private session: GraphicalSession | undefined;
  private lastFingerprint: string | undefined;
  private idleChecks = 0;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<boolean> | undefined;
  private readonly listeners = new Set<(s: GraphicalSession | undefined) => void>();

  constructor(opts: SessionWatcherOptions) {
    this.opts = opts;
    this.env = sessionEnvironment(opts.base ?? process.env, undefined);
  }

  current(): NodeJS.ProcessEnv {
    return this.env;
  }

  currentSession(): GraphicalSession | undefined {
    return this.session;
  }

  onChange(listener: (s: GraphicalSession | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    await this.check(true);
    const every = this.opts.intervalMs ?? 30_000;
    this.timer = setInterval(() => void this.check(false), every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  /** Re-checks now (force: discover even when the fingerprint is unchanged). True when it changed. */
  check(force: boolean): Promise<boolean> {
    this.checking ??= this.checkOnce(force).finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async checkOnce(force: boolean): Promise<boolean> {
    const { discovery, log } = this.opts;
    let found: GraphicalSession | undefined;
    try {
      const fp = await discovery.fingerprint();
      // Nothing found last time although something may be there (a display that did not answer
      // yet): try again now and then even when nothing changed.
      const retry = this.session === undefined && ++this.idleChecks % RETRY_EMPTY_EVERY === 0;
      if (!force && !retry && fp === this.lastFingerprint) return false;
      found = await discovery.discover();
      this.lastFingerprint = fp;
    } catch (err) {
      // Leave the fingerprint unset so the next tick tries again; keep the session we have.
      log.warn('graphical session discovery failed', { err });
      return false;
    }
    if (sessionKey(found) === sessionKey(this.session)) return false;
    const prev = this.session;
    this.session = found;
    this.env = sessionEnvironment(this.opts.base ?? process.env, found);
    log.info(found ? 'graphical session found' : 'no graphical session', {
      source: found?.source,
      user: found?.user,
      uid: found?.uid,
      display: found?.vars['DISPLAY'],
      wayland: found?.vars['WAYLAND_DISPLAY'],
      previousUser: prev?.user,
    });
    for (const l of [...this.listeners]) l(found);
    return true;
  }
}

/**
 * When the agent has no display of its own: discovers the graphical session, keeps watching it
 * and makes it what sessionEnv() hands out. Undefined (nothing changes) when it has a display.
 */
export async function watchGraphicalSession(
  log: AgentLogger,
  options: { intervalMs?: number; discovery?: SessionDiscovery } = {},
): Promise<SessionWatcher | undefined> {
  if (hasOwnDisplay(process.env)) return undefined;
  // CUSTODIAN_SESSION_INTERVAL_MS: end-to-end tests log users in and out faster than 30 s.
  const fromEnv = Number(process.env['CUSTODIAN_SESSION_INTERVAL_MS']);
  const intervalMs = options.intervalMs ?? (fromEnv > 0 ? fromEnv : undefined);
  const watcher = new SessionWatcher({
    discovery: options.discovery ?? (await createSessionDiscovery()),
    log,
    ...(intervalMs !== undefined ? { intervalMs } : {}),
  });
  setSessionEnvProvider(() => watcher.current());
  await watcher.start();
  return watcher;
}
