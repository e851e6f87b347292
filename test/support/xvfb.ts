// A real X server (Xvfb) with a real window manager (openbox) for window, idle, lock and
// screenshot tests. Each call gets its own display number; stop() kills everything it started.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface XSession {
  display: string;
  /** process.env plus DISPLAY, for child processes that must see this X server. */
  env: NodeJS.ProcessEnv;
  /** Opens a real X window (xterm, which sets _NET_WM_PID as get-windows needs) with the given title. */
  openWindow(title: string): Promise<ChildProcess>;
  stop(): Promise<void>;
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

function xOk(env: NodeJS.ProcessEnv, cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { env, timeout: 2_000, stdio: 'ignore' }).status === 0;
}

let nextDisplay = 100 + (process.pid % 300);

export async function startX(opts: { width?: number; height?: number } = {}): Promise<XSession> {
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

async function startXOnce(opts: { width?: number; height?: number }): Promise<XSession> {
  let n = nextDisplay++;
  while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) n = nextDisplay++;
  const display = `:${n}`;
  const screen = `${opts.width ?? 1024}x${opts.height ?? 768}x24`;
  const xvfb = track(
    spawn('Xvfb', [display, '-screen', '0', screen, '-nolisten', 'tcp'], { stdio: 'ignore' }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: display };
  delete env['WAYLAND_DISPLAY'];
  let wm: ChildProcess | undefined;
  try {
    await waitFor(() => xOk(env, 'xprop', ['-root']), 10_000, `Xvfb on ${display}`);
    wm = track(spawn('openbox', ['--sm-disable'], { env, stdio: 'ignore' }));
    await waitFor(
      () => xOk(env, 'xprop', ['-root', '_NET_SUPPORTING_WM_CHECK']) && hasWmCheck(env),
      10_000,
      'openbox',
    );
    if (xvfb.exitCode !== null || xvfb.signalCode !== null) throw new Error(`Xvfb on ${display} exited`);
  } catch (err) {
    wm?.kill('SIGKILL');
    xvfb.kill('SIGKILL');
    throw err;
  }
  const started: ChildProcess[] = [xvfb, wm];

  return {
    display,
    env,
    async openWindow(title: string) {
      const child = track(
        spawn('xterm', ['-T', title, '-geometry', '80x20+50+50', '-e', 'sleep', '3600'], {
          env,
          stdio: 'ignore',
        }),
      );
      started.push(child);
      await waitFor(
        () => xOk(env, 'xdotool', ['search', '--name', `^${escapeRegex(title)}$`]),
        10_000,
        `window "${title}"`,
      );
      return child;
    },
    async stop() {
      for (const c of started.reverse()) c.kill('SIGKILL');
      await Promise.all(
        started.map((c) =>
          c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
        ),
      );
    },
  };
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
