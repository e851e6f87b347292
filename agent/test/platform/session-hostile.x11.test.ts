// Issue 11 item 2, replayed as the pupil would: an ordinary second account on the machine plants
// processes whose environment names a display and a cookie of its choosing, while its real
// session sits at a root-run X server that demands a cookie (-auth). The root discovery must
// never connect where the pupil points, never open a path the pupil names, and never pick an X
// server the pupil runs; what it finds is run as the pupil.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser } from '../../../test/support/test-user.ts';
import { claimDisplay } from '../../../test/support/xvfb.ts';
import { createLinuxSessionDiscovery } from '../../src/platform/session.linux.ts';
import { type AuthXSession, startAuthX } from './session-xauth.ts';

const pupil = ensureUser('custodian-pupil');
let x: AuthXSession;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  x = await startAuthX();
  // The pupil's real session: one process at the real display (its XAUTHORITY is irrelevant).
  await x.holdSession(pupil.uid, 1, { DISPLAY: x.display });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await x?.stop();
});

function asPupil(cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const envArgs = Object.entries({ PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }).map(
    ([k, v]) => `${k}=${v}`,
  );
  const c = spawn(
    'setpriv',
    [
      `--reuid=${pupil.uid}`,
      `--regid=${pupil.gid}`,
      '--clear-groups',
      '--',
      'env',
      '-i',
      ...envArgs,
      cmd,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  cleanups.push(() => {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  return c;
}

const realDisplay = (): number => Number(x.display.slice(1));

describe('session discovery against a pupil’s planted environments (no logind here)', () => {
  it('a DISPLAY with a host part is never connected to: the pupil’s loopback listener hears nothing', async () => {
    // The pupil listens where DISPLAY=127.0.0.1:M points (TCP 6000+M), and plants processes
    // naming it, with ANOTHER user's cookie file (root's session cookie) as XAUTHORITY.
    const accepted: Socket[] = [];
    let server: Server | undefined;
    let m = 0;
    for (let tries = 0; tries < 50 && !server; tries++) {
      m = 500 + Math.floor(Math.random() * 400);
      const s = createServer((sock) => accepted.push(sock));
      const ok = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(6000 + m, '127.0.0.1', () => resolve(true));
      });
      if (ok) server = s;
    }
    expect(server).toBeDefined();
    cleanups.push(() => {
      for (const sock of accepted) sock.destroy();
      server!.close();
    });
    await x.holdSession(pupil.uid, 5, { DISPLAY: `127.0.0.1:${m}`, XAUTHORITY: x.authFile });
    const d = createLinuxSessionDiscovery({
      acceptUid: (uid) => uid === pupil.uid,
      acceptDisplay: (n) => n === realDisplay() || n === m,
    });
    const s = await d.discover();
    await new Promise((r) => setTimeout(r, 300));
    expect(accepted).toHaveLength(0);
    expect(s?.vars['DISPLAY']).toBe(x.display);
    expect(s?.vars['XAUTHORITY']).toBe(`/run/custodian/x11-${pupil.uid}/display-${realDisplay()}.xauth`);
  });

  it('an XAUTHORITY naming a FIFO (like /dev/watchdog: opening it is the attack) is never opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-pupil-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    spawnSync('chown', [`${pupil.uid}:${pupil.gid}`, dir]);
    const fifo = join(dir, 'watchdog');
    expect(
      spawnSync('setpriv', [`--reuid=${pupil.uid}`, `--regid=${pupil.gid}`, '--clear-groups', 'mkfifo', fifo])
        .status,
    ).toBe(0);
    // The pupil's writer: its open() returns only when someone opens the FIFO to read.
    const writer = asPupil('sh', ['-c', `echo x > ${fifo} && echo opened`]);
    let out = '';
    writer.stdout?.on('data', (d: Buffer) => {
      out += String(d);
    });
    await x.holdSession(pupil.uid, 8, { DISPLAY: x.display, XAUTHORITY: fifo });
    const d = createLinuxSessionDiscovery({
      acceptUid: (uid) => uid === pupil.uid,
      acceptDisplay: (n) => n === realDisplay(),
    });
    const s = await d.discover();
    expect(s?.vars['XAUTHORITY']).not.toBe(fifo);
    await new Promise((r) => setTimeout(r, 300));
    expect(out).toBe('');
    expect(writer.exitCode).toBeNull();
  });

  it('a pupil-run invisible X server never wins, however many processes name it', async () => {
    const claim = claimDisplay();
    cleanups.push(() => claim.release());
    const own = asPupil('Xvfb', [`:${claim.n}`, '-nolisten', 'tcp']);
    cleanups.push(() => {
      own.kill('SIGKILL');
    });
    const deadline = Date.now() + 10_000;
    while (!existsSync(`/tmp/.X11-unix/X${claim.n}`) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/tmp/.X11-unix/X${claim.n}`)).toBe(true);
    await x.holdSession(pupil.uid, 10, { DISPLAY: `:${claim.n}` });
    const d = createLinuxSessionDiscovery({
      acceptUid: (uid) => uid === pupil.uid,
      acceptDisplay: (n) => n === realDisplay() || n === claim.n,
    });
    const s = await d.discover();
    expect(s).toMatchObject({
      source: 'proc',
      uid: pupil.uid,
      user: pupil.name,
      vars: { DISPLAY: x.display },
    });
  });
});
