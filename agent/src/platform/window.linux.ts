// Linux/X11 active window, event-driven: `xprop -root -spy _NET_ACTIVE_WINDOW` reports focus
// changes and `xprop -id W -spy ...` reports the focused window's title changes, so a steady
// state costs no process spawns at all (get-windows spawns 3 per sample; see window.xprop.ts
// for why we do not use it on Linux). The two spies are long-running children: they are
// supervised (restarted with a growing delay when they die) and killed on stop(). They run as
// the session's user (session.ts runAsFor) and read at most TITLE_READ_BYTES of a property:
// x11-utils' xprop corrupts memory and dies (exit 139) on a 300,000-byte invalid _NET_WM_NAME,
// which any client may set on its own window (issue 11 item 5).
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { AgentLogger, CapabilityStatus } from '../core/contracts.ts';
import { type ChildProcess, type RunAs, run, spawnTied } from './exec.ts';
import { runAsFor, sessionEnv } from './session.ts';
import type { WindowReading, WindowSource } from './window.ts';
import {
  applyWindowLine,
  parseWindowId,
  parseXpropLine,
  type XWindowProps,
  x11EnvironmentProblem,
} from './window.xprop.ts';

const WINDOW_PROPS = ['_NET_WM_PID', '_NET_WM_NAME', 'WM_NAME', 'WM_CLASS'];
const RESTART_DELAY_MS = 5_000;
/**
 * xprop -len: bytes read of any one property. The collector keeps 4096 characters of a title
 * (MAX_STRING_CHARS); UTF-8 needs up to 4 bytes each and xprop's escapes more, so 16 KiB.
 */
export const TITLE_READ_BYTES = 16 * 1024;
/** First delay before a crashed window spy is started again; doubles per crash up to the max. */
export const SPY_RESTART_MIN_MS = 500;
export const SPY_RESTART_MAX_MS = 30_000;

/** Delay before restarting a spy after `crashes` crashes in a row (pure). */
export function spyRestartDelay(crashes: number): number {
  return Math.min(SPY_RESTART_MAX_MS, SPY_RESTART_MIN_MS * 2 ** Math.max(0, crashes - 1));
}

export class X11WindowSource implements WindowSource {
  private readonly log: AgentLogger;
  private readonly envOf: () => NodeJS.ProcessEnv;
  /** The environment the running spies were started with (the session's, at start). */
  private env: NodeJS.ProcessEnv;
  /** The user the helpers run as (the session's), fixed with env. */
  private runAs: RunAs | undefined;
  /** Window spy crashes in a row (reset by a focus change) and the last one, for health(). */
  private spyCrashes = 0;
  private crashNote: string | undefined;
  private windowRestartTimer: NodeJS.Timeout | undefined;
  private rootSpy: ChildProcess | undefined;
  private windowSpy: ChildProcess | undefined;
  private activeId: string | undefined | null = null; // null: not known yet
  private props: XWindowProps = {};
  private propsSeen = new Set<string>();
  private app = '';
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;

  /** env: fixed, or a provider read at every probe and (re)start (default: the graphical session's). */
  constructor(log: AgentLogger, env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv) = sessionEnv) {
    this.log = log;
    this.envOf = typeof env === 'function' ? env : () => env;
    this.env = this.freshEnv();
  }

  private freshEnv(): NodeJS.ProcessEnv {
    const base = this.envOf();
    this.runAs = runAsFor(base);
    return { ...base, LC_ALL: 'C.UTF-8' };
  }

  private asUser(): { runAs?: RunAs } {
    return this.runAs ? { runAs: this.runAs } : {};
  }

  /** A note for the capability report when the window spy had to be restarted after a crash. */
  health(): string | undefined {
    return this.crashNote;
  }

  async probe(): Promise<CapabilityStatus> {
    if (this.stopped) this.env = this.freshEnv();
    const problem = x11EnvironmentProblem(this.env);
    if (problem) return { name: 'active_window', available: false, reason: problem };
    try {
      const { stdout } = await run('xprop', ['-root', '_NET_SUPPORTED'], {
        env: this.env,
        timeoutMs: 3_000,
        ...this.asUser(),
      });
      if (!stdout.includes('_NET_ACTIVE_WINDOW'))
        return {
          name: 'active_window',
          available: false,
          reason: 'the window manager does not publish _NET_ACTIVE_WINDOW (no EWMH window manager)',
        };
    } catch (err) {
      const msg = (err as Error).message;
      const reason = /not installed/.test(msg)
        ? 'xprop is not installed (Debian package x11-utils)'
        : `X display ${this.env['DISPLAY']} not reachable`;
      return { name: 'active_window', available: false, reason };
    }
    return { name: 'active_window', available: true, reason: '' };
  }

  async start(): Promise<void> {
    this.env = this.freshEnv();
    this.stopped = false;
    this.startRootSpy();
  }

  private startRootSpy(): void {
    if (this.stopped) return;
    const child = spawnTied('xprop', ['-len', '64', '-root', '-spy', '_NET_ACTIVE_WINDOW'], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...this.asUser(),
    });
    this.rootSpy = child;
    child.on('error', (err) => this.log.warn('xprop (active window spy) failed to start', { err }));
    child.stderr?.resume();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.rootSpy !== child) return;
      const parsed = parseXpropLine(line);
      if (parsed?.prop !== '_NET_ACTIVE_WINDOW') return;
      this.focus(parsed.found ? parseWindowId(parsed.raw) : undefined);
    });
    child.on('exit', (code, signal) => {
      if (this.rootSpy !== child) return;
      this.rootSpy = undefined;
      this.activeId = null;
      this.stopWindowSpy();
      if (this.stopped) return;
      this.log.warn('active window spy exited; restarting', { code, signal, retryInMs: RESTART_DELAY_MS });
      this.restartTimer = setTimeout(() => {
        this.env = this.freshEnv(); // the session may have changed under the dead spy
        this.startRootSpy();
      }, RESTART_DELAY_MS);
    });
  }

  private focus(id: string | undefined): void {
    if (id === this.activeId) return;
    this.stopWindowSpy();
    this.spyCrashes = 0;
    this.activeId = id;
    this.props = {};
    this.propsSeen = new Set();
    this.app = '';
    if (id) this.startWindowSpy(id);
  }

  private startWindowSpy(id: string): void {
    const child = spawnTied('xprop', ['-len', String(TITLE_READ_BYTES), '-id', id, '-spy', ...WINDOW_PROPS], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...this.asUser(),
    });
    this.windowSpy = child;
    child.on('error', (err) => this.log.warn('xprop (window spy) failed to start', { err }));
    child.stderr?.resume();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (this.windowSpy !== child) return;
      const parsed = parseXpropLine(line);
      if (!parsed) return;
      this.props = applyWindowLine(this.props, parsed);
      this.propsSeen.add(parsed.prop);
      if (parsed.prop === '_NET_WM_PID' && this.props.pid) void this.readComm(this.props.pid, child);
    });
    // Exits 1 when the window is destroyed; the root spy then reports the next focus. Killed by
    // a signal (a crash on hostile property data) while its window still has focus: the titles
    // would stop until the next focus change, so start it again (with a growing delay) and say so.
    child.on('exit', (code, signal) => {
      if (this.windowSpy !== child) return;
      this.windowSpy = undefined;
      if (this.stopped || this.activeId !== id || (signal === null && (code ?? 0) < 128)) return;
      this.spyCrashes++;
      const delay = spyRestartDelay(this.spyCrashes);
      this.crashNote = `window title reader (xprop) crashed (${signal ?? `exit ${code}`}, ${this.spyCrashes} in a row) at ${new Date().toISOString()}; restarted`;
      this.log.warn('window spy crashed; restarting', {
        code,
        signal,
        crashes: this.spyCrashes,
        retryInMs: delay,
      });
      clearTimeout(this.windowRestartTimer);
      this.windowRestartTimer = setTimeout(() => {
        if (!this.stopped && this.activeId === id && !this.windowSpy) this.startWindowSpy(id);
      }, delay);
    });
  }

  /** App name fallback for windows without WM_CLASS: the process name, read from /proc (no spawn). */
  private async readComm(pid: number, child: ChildProcess): Promise<void> {
    try {
      const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
      if (this.windowSpy === child) this.app = comm;
    } catch {
      // The process is gone or belongs to another host (remote X client): WM_CLASS still names the app.
    }
  }

  private stopWindowSpy(): void {
    const c = this.windowSpy;
    this.windowSpy = undefined;
    c?.kill('SIGKILL');
  }

  async read(): Promise<WindowReading> {
    if (this.activeId === null) return { kind: 'unknown' };
    if (this.activeId === undefined) return { kind: 'none' };
    // Wait for the first full report of the new window before saying anything about it.
    if (!WINDOW_PROPS.every((p) => this.propsSeen.has(p))) return { kind: 'unknown' };
    const p = this.props;
    return {
      kind: 'window',
      window: {
        app: p.wmClass || this.app,
        title: p.netWmName ?? p.wmName ?? '',
        url: '',
        pid: p.pid ?? 0,
      },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.windowRestartTimer);
    this.stopWindowSpy();
    const r = this.rootSpy;
    this.rootSpy = undefined;
    r?.kill('SIGKILL');
  }
}
