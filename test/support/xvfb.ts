// A real X server (Xvfb) with a real window manager (openbox) for window, idle, lock and
// screenshot tests. Each call gets its own display number; stop() kills everything it started.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export interface XSession {
  display: string;
  /** process.env plus DISPLAY, for child processes that must see this X server. */
  env: NodeJS.ProcessEnv;
  /** Opens a real X window (xterm, which sets _NET_WM_PID as get-windows needs) with the given title. */
  openWindow(title: string, options?: WindowOptions): Promise<ChildProcess>;
  stop(): Promise<void>;
}

export interface WindowOptions {
  /** Extra xterm options (font, size) before `-e`. */
  xtermArgs?: string[];
  /** What the xterm runs; default `sleep 3600`. */
  command?: string[];
}

export interface XOptions {
  width?: number;
  height?: number;
  /** Extra Xvfb arguments, e.g. ['-extension', 'RECORD'] for a server without RECORD. */
  xvfbArgs?: string[];
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** First line of a command's output ('' when it failed). */
function xOut(env: NodeJS.ProcessEnv, cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { env, timeout: 2_000, encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : '';
}

function xOk(env: NodeJS.ProcessEnv, cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { env, timeout: 2_000, stdio: 'ignore' }).status === 0;
}

let nextDisplay = 100 + (process.pid % 300);

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * Whether display n is free: false when nothing is there, true when only the leftovers of a dead
 * X server are (its lock file names a pid that is gone: Xvfb killed with its test, on a machine
 * that runs the suite many times), undefined when it is in use or its owner is unknown.
 */
export function staleDisplay(n: number): boolean | undefined {
  const lock = `/tmp/.X${n}-lock`;
  if (!existsSync(lock)) return existsSync(`/tmp/.X11-unix/X${n}`) ? undefined : false;
  let pid = 0;
  try {
    pid = Number(readFileSync(lock, 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && !pidAlive(pid) ? true : undefined;
}

/**
 * Claims a free X display number for this process. Parallel test workers used to pick the
 * same number between a free-check and Xvfb's start (one side's Xvfb or window manager then
 * never came up). A claim file created with O_EXCL is atomic; a claim whose process has died is
 * taken over. Every X server the tests start (here and in agent/test) goes through this.
 */
export function claimDisplay(): { n: number; release(): void } {
  for (let tries = 0; tries < 1000; tries++) {
    const n = nextDisplay++;
    if (nextDisplay > 999) nextDisplay = 100;
    const stale = staleDisplay(n);
    if (stale === undefined) continue;
    const claim = `/tmp/custodian-x-display-${n}.claim`;
    let fd: number;
    try {
      fd = openSync(claim, 'wx');
    } catch {
      const owner = Number(readFileSync(claim, 'utf8').trim() || '0');
      if (owner > 0 && pidAlive(owner)) continue;
      rmSync(claim, { force: true });
      try {
        fd = openSync(claim, 'wx');
      } catch {
        continue;
      }
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    // Ours now: clear what a killed X server left behind, or Xvfb refuses the number.
    if (stale) for (const f of [`/tmp/.X${n}-lock`, `/tmp/.X11-unix/X${n}`]) rmSync(f, { force: true });
    return { n, release: () => rmSync(claim, { force: true }) };
  }
  throw new Error('no free X display number');
}

export async function startX(opts: XOptions = {}): Promise<XSession> {
  // Another process may claim the same display number between our free-check and Xvfb's start
  // (parallel test workers); then one side's Xvfb or openbox never comes up. Retry on a new number.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startXOnce(opts);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startXOnce(opts: XOptions): Promise<XSession> {
  const claim = claimDisplay();
  const display = `:${claim.n}`;
  const screen = `${opts.width ?? 1024}x${opts.height ?? 768}x24`;
  const xvfb = track(
    spawn('Xvfb', [display, '-screen', '0', screen, '-nolisten', 'tcp', ...(opts.xvfbArgs ?? [])], {
      stdio: 'ignore',
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: display };
  delete env['WAYLAND_DISPLAY'];
  let wm: ChildProcess | undefined;
  try {
    await waitFor(() => xOk(env, 'xprop', ['-root']), 10_000, `Xvfb on ${display}`);
    wm = await startWindowManager(env);
    if (xvfb.exitCode !== null || xvfb.signalCode !== null) throw new Error(`Xvfb on ${display} exited`);
  } catch (err) {
    wm?.kill('SIGKILL');
    xvfb.kill('SIGKILL');
    claim.release();
    throw err;
  }
  const started: ChildProcess[] = [xvfb, wm];

  return {
    display,
    env,
    async openWindow(title: string, options: WindowOptions = {}) {
      const command = options.command ?? ['sleep', '3600'];
      const args = ['-T', title, '-geometry', '80x20+50+50', ...(options.xtermArgs ?? []), '-e', ...command];
      const child = track(
        spawn('xterm', args, {
          env,
          stdio: 'ignore',
        }),
      );
      started.push(child);
      // This xterm's own window (by _NET_WM_PID; another window may already carry the same title).
      let id = '';
      await waitFor(
        () => {
          id = xOut(env, 'xdotool', [
            'search',
            '--all',
            '--pid',
            String(child.pid),
            '--name',
            `^${escapeRegex(title)}$`,
          ]);
          return id !== '';
        },
        10_000,
        `window "${title}"`,
      );
      // Tests open a window to put it in front of the pupil: return once it is. (Waiting for a title
      // alone returned at once for a title already on screen, and on a loaded machine that xterm
      // then mapped after the next window and took focus from it.) openbox focuses new windows;
      // if it has not after a while, bring the window to the front as a pupil would.
      try {
        await waitFor(() => xOut(env, 'xdotool', ['getactivewindow']) === id, 3_000, 'focus');
      } catch {
        xOk(env, 'xdotool', ['windowactivate', '--sync', id]);
      }
      return child;
    },
    async stop() {
      for (const c of started.reverse()) c.kill('SIGKILL');
      await Promise.all(
        started.map((c) =>
          c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
        ),
      );
      claim.release();
    },
  };
}

/**
 * Starts openbox on a display and waits until it manages it. When several X servers start at
 * once, openbox sometimes exits at start with status 1 and no message (reproduced here with six
 * in parallel, about one in ten); a fresh start on the same display then works, so try again.
 */
export async function startWindowManager(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const deadline = Date.now() + 15_000;
  for (let attempt = 1; ; attempt++) {
    const wm = track(spawn('openbox', ['--sm-disable'], { env, stdio: 'ignore' }));
    while (Date.now() < deadline) {
      if (xOk(env, 'xprop', ['-root', '_NET_SUPPORTING_WM_CHECK']) && hasWmCheck(env)) return wm;
      if (wm.exitCode !== null || wm.signalCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    wm.kill('SIGKILL');
    if (Date.now() >= deadline || attempt >= 5) {
      throw new Error(`openbox did not manage ${env['DISPLAY']} (${attempt} attempts)`);
    }
  }
}

function hasWmCheck(env: NodeJS.ProcessEnv): boolean {
  const out = spawnSync('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK'], {
    env,
    timeout: 2_000,
    encoding: 'utf8',
  });
  return /window id/.test(out.stdout ?? '');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
