// Test support: an X server that demands a cookie (Xvfb -auth FILE), a window manager, and a
// process of another user (setpriv) whose environment holds the session's DISPLAY/XAUTHORITY,
// as on a school laptop where the agent runs as a root service. stop() removes everything.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimDisplay, startWindowManager } from '../../../test/support/xvfb.ts';

export interface AuthXSession {
  display: string;
  authFile: string;
  /** DISPLAY + XAUTHORITY + PATH only. */
  env: NodeJS.ProcessEnv;
  openWindow(title: string): Promise<void>;
  /** Starts `count` processes as `uid` holding the session environment. */
  holdSession(uid: number, count?: number, vars?: Record<string, string>): Promise<void>;
  /** Ends the holder processes (the user "logs out"; the X server stays). */
  dropHolders(): Promise<void>;
  stop(): Promise<void>;
}

function xOk(env: NodeJS.ProcessEnv, args: string[]): boolean {
  return spawnSync('xprop', args, { env, timeout: 2_000, stdio: 'ignore' }).status === 0;
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startAuthX(): Promise<AuthXSession> {
  const claim = claimDisplay();
  const display = `:${claim.n}`;
  const dir = mkdtempSync(join(tmpdir(), 'custodian-xauth-'));
  const authFile = join(dir, 'Xauthority');
  const children: ChildProcess[] = [];
  const holders: ChildProcess[] = [];
  const stop = async () => {
    for (const c of children.reverse()) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
    claim.release();
  };
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], DISPLAY: display, XAUTHORITY: authFile };
  try {
    execFileSync('xauth', ['-f', authFile, 'add', display, '.', randomBytes(16).toString('hex')], {
      stdio: 'ignore',
      timeout: 5_000,
    });
    const xvfb = spawn(
      'Xvfb',
      [display, '-auth', authFile, '-screen', '0', '1024x768x24', '-nolisten', 'tcp'],
      {
        stdio: 'ignore',
      },
    );
    children.push(xvfb);
    await waitFor(() => xOk(env, ['-root']), `Xvfb on ${display}`);
    children.push(await startWindowManager(env));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    display,
    authFile,
    env,
    async openWindow(title: string) {
      children.push(
        spawn('xterm', ['-T', title, '-geometry', '80x20+50+50', '-e', 'sleep', '3600'], {
          env,
          stdio: 'ignore',
        }),
      );
      await waitFor(
        () =>
          spawnSync('xdotool', ['search', '--name', title], { env, timeout: 2_000, stdio: 'ignore' })
            .status === 0,
        `window "${title}"`,
      );
    },
    /** vars: the environment the holders carry instead of this display's (a pupil's planted one). */
    async holdSession(uid: number, count = 1, vars?: Record<string, string>) {
      const carried = vars ?? { DISPLAY: display, XAUTHORITY: authFile };
      for (let i = 0; i < count; i++) {
        const c = spawn(
          'setpriv',
          [
            `--reuid=${uid}`,
            `--regid=${uid}`,
            '--clear-groups',
            '--',
            'env',
            '-i',
            `PATH=${env['PATH']}`,
            ...Object.entries(carried).map(([k, v]) => `${k}=${v}`),
            'sleep',
            '300',
          ],
          { stdio: 'ignore' },
        );
        children.push(c);
        holders.push(c);
        // setpriv execs env which execs sleep: same pid, owned by uid once it has switched.
        await waitFor(() => {
          try {
            return (
              statSync(`/proc/${c.pid}`).uid === uid &&
              /^sleep/.test(readFileSync(`/proc/${c.pid}/comm`, 'utf8'))
            );
          } catch {
            return false;
          }
        }, 'the session holder');
      }
    },
    async dropHolders() {
      for (const c of holders.splice(0)) {
        if (c.exitCode !== null || c.signalCode !== null) continue;
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await gone;
      }
    },
    stop,
  };
}
