// Linux/X11 key events: keyboard-child.ts (uiohook-napi, XRecord) in a child process started AS
// THE SESSION'S USER with the session's DISPLAY and the agent's copy of its cookie (session.ts),
// tied to the agent (spawnTied: killed with it), streaming validated frames on its stdout. The
// root agent never opens the user's display itself. The layout comes from `xkbcomp -xkb` (every
// group, type and level of the server's keymap), its name and fingerprint from `setxkbmap -query`,
// the lock LEDs at start from `xset q` (keymap.xkb.ts parses all three).
import { existsSync } from 'node:fs';
import { arch } from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AgentLogger, CapabilityStatus } from '../core/contracts.ts';
import { type ChildProcess, run, spawnTied } from './exec.ts';
import type { KeyboardLayout, KeyboardSource } from './keyboard.ts';
import { type KeyEvent, type LockFrame, MAX_FRAME_CHARS, parseKeyFrame } from './keyboard-frames.ts';
import { parseSetxkbmapQuery, parseXkbcomp, parseXsetLeds } from './keymap.xkb.ts';
import { helperSession, sessionEnv } from './session.ts';
import { x11EnvironmentProblem } from './window.xprop.ts';

/** The helper script: the TypeScript source, or in the bundle (agent/bin/bundle.ts) its .mjs beside it. */
const CHILD = [
  fileURLToPath(new URL('./keyboard-child.ts', import.meta.url)),
  fileURLToPath(new URL('./keyboard-child.mjs', import.meta.url)),
].find((p) => existsSync(p));
/** How long the helper may take to report that its hook runs. */
const READY_TIMEOUT_MS = 15_000;

/** Why typed text cannot be read on this X server, from `xdpyinfo -queryExtensions` (pure). */
export function recordProblem(xdpyinfo: string): string | undefined {
  return /^\s*RECORD\b/m.test(xdpyinfo)
    ? undefined
    : 'the X server has no RECORD extension (needed to read key events)';
}

export class X11KeyboardSource implements KeyboardSource {
  private readonly log: AgentLogger;
  private readonly envOf: () => NodeJS.ProcessEnv;
  private child: ChildProcess | undefined;

  constructor(log: AgentLogger, env: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv) = sessionEnv) {
    this.log = log;
    this.envOf = typeof env === 'function' ? env : () => env;
  }

  private session(): ReturnType<typeof helperSession> {
    return helperSession(this.envOf());
  }

  async probe(): Promise<CapabilityStatus> {
    const unavailable = (reason: string): CapabilityStatus => ({
      name: 'typed_text',
      available: false,
      reason,
    });
    // uiohook-napi 1.5.5's linux-arm64 prebuild is an x86-64 copy (platform-notes, Nov 2026).
    if (arch !== 'x64') return unavailable(`no working keyboard hook build for linux-${arch}`);
    if (!CHILD) return unavailable('the keyboard helper script is missing from this agent build');
    const { env, asUser } = this.session();
    const problem = x11EnvironmentProblem(env);
    if (problem) return unavailable(problem);
    let stdout: string;
    try {
      ({ stdout } = await run('xdpyinfo', ['-queryExtensions'], { env, timeoutMs: 3_000, ...asUser }));
    } catch (err) {
      if (err instanceof CustodianError && err.code === ErrorCode.UNAVAILABLE)
        return unavailable('xdpyinfo is not installed (Debian package x11-utils)');
      return unavailable(`X display ${env['DISPLAY']} not reachable`);
    }
    const record = recordProblem(stdout);
    if (record) return unavailable(record);
    return { name: 'typed_text', available: true, reason: '' };
  }

  async layout(): Promise<KeyboardLayout> {
    const { env, asUser } = this.session();
    const id = await this.layoutId();
    const display = env['DISPLAY'] ?? '';
    const keymap = await run('xkbcomp', ['-xkb', display, '-'], { env, timeoutMs: 5_000, ...asUser });
    let leds = { capsLock: false, numLock: false };
    try {
      leds = parseXsetLeds((await run('xset', ['q'], { env, timeoutMs: 3_000, ...asUser })).stdout);
    } catch {
      // x11-xserver-utils missing: the locks start off and follow the Caps Lock / Num Lock keys.
    }
    return { name: parseSetxkbmapQuery(id), id, map: parseXkbcomp(keymap.stdout), ...leds };
  }

  async layoutId(): Promise<string> {
    const { env, asUser } = this.session();
    const { stdout } = await run('setxkbmap', ['-query'], { env, timeoutMs: 3_000, ...asUser });
    return stdout.trim();
  }

  async start(
    onKey: (e: KeyEvent) => void,
    onEnd: (reason: string) => void,
    onLocks?: (l: LockFrame) => void,
    onKeymap?: () => void,
  ): Promise<void> {
    await this.stop();
    const { env, asUser } = this.session();
    if (!CHILD) throw new CustodianError(ErrorCode.UNAVAILABLE, 'the keyboard helper script is missing');
    // The helper runs with the agent's --lite-mode (the installed service's flag): ~2.3 MiB less.
    const flags = process.execArgv.filter((a) => a === '--lite-mode');
    const child = spawnTied(process.execPath, [...flags, CHILD], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...asUser,
    });
    this.child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 2_000) stderr += d;
    });
    let ready: (ok: boolean) => void = () => {};
    const readyOrExit = new Promise<boolean>((resolve) => {
      ready = resolve;
    });
    const timer = setTimeout(() => ready(false), READY_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout!, crlfDelay: Number.POSITIVE_INFINITY });
    let dropped = 0;
    lines.on('line', (line) => {
      if (this.child !== child) return;
      const frame = line.length <= MAX_FRAME_CHARS ? parseKeyFrame(line) : undefined;
      if (!frame) {
        // Not from our helper (or a broken one): never logged as text, counted.
        if (++dropped === 1) this.log.warn('keyboard helper sent a malformed frame; dropped');
        return;
      }
      if (frame.kind === 'ready') ready(true);
      else if (frame.kind === 'locks') onLocks?.({ group: frame.group, mods: frame.mods });
      else if (frame.kind === 'keymap') onKeymap?.();
      else onKey(frame.event);
    });
    child.on('error', (err) => this.log.warn('keyboard helper failed to start', { err }));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      ready(false);
      if (this.child !== child) return;
      this.child = undefined;
      onEnd(`keyboard helper exited (${signal ?? `exit ${code}`})${helperError(stderr)}`);
    });
    if (!(await readyOrExit)) {
      if (this.child === child) {
        this.child = undefined;
        child.kill('SIGKILL');
      }
      throw new CustodianError(
        ErrorCode.UNAVAILABLE,
        `keyboard hook did not start${helperError(stderr)}`.slice(0, 300),
      );
    }
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    c?.kill('SIGKILL');
  }
}

function helperError(stderr: string): string {
  for (const line of stderr.split('\n').reverse()) {
    try {
      const e = (JSON.parse(line) as { error?: unknown }).error;
      if (typeof e === 'string') return `: ${e.slice(0, 200)}`;
    } catch {
      // not the helper's JSON line
    }
  }
  return '';
}
