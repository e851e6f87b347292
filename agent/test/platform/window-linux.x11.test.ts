// The X11 window source against a real Xvfb + openbox (test/support/xvfb.ts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser, processesOnDisplay } from '../../../test/support/test-user.ts';
import { startX, type XSession } from '../../../test/support/xvfb.ts';
import { silentLogger } from '../../src/config/logger.ts';
import { bindRunAs } from '../../src/platform/session.ts';
import { TITLE_READ_BYTES, X11WindowSource } from '../../src/platform/window.linux.ts';
import type { WindowReading } from '../../src/platform/window.ts';
import { XConnection } from '../../src/platform/x11-wire.ts';
import { waitUntil } from '../support/wait.ts';

let x: XSession;
const sources: X11WindowSource[] = [];

beforeAll(async () => {
  x = await startX();
});
afterEach(async () => {
  for (const s of sources.splice(0)) await s.stop();
});
afterAll(async () => {
  await x?.stop();
});

async function started(env: NodeJS.ProcessEnv): Promise<X11WindowSource> {
  const s = new X11WindowSource(silentLogger, env);
  sources.push(s);
  await s.start();
  return s;
}

const titleOf = async (s: X11WindowSource): Promise<string | undefined> => {
  const r: WindowReading = await s.read();
  return r.kind === 'window' ? r.window.title : undefined;
};

describe('X11WindowSource (Xvfb)', () => {
  it('probes available on a display with an EWMH window manager', async () => {
    expect(await new X11WindowSource(silentLogger, x.env).probe()).toEqual({
      name: 'active_window',
      available: true,
      reason: '',
    });
  });

  it('reports no X display / Wayland / unreachable display with a reason', async () => {
    const noDisplay = { ...x.env, DISPLAY: '' };
    expect(await new X11WindowSource(silentLogger, noDisplay).probe()).toMatchObject({
      available: false,
      reason: 'no X display',
    });
    const wayland = { ...x.env, WAYLAND_DISPLAY: 'wayland-0' };
    expect((await new X11WindowSource(silentLogger, wayland).probe()).reason).toMatch(/^Wayland session/);
    const gone = { ...x.env, DISPLAY: ':9999' };
    expect(await new X11WindowSource(silentLogger, gone).probe()).toMatchObject({
      available: false,
      reason: 'X display :9999 not reachable',
    });
  });

  it('follows focus and title changes, and keeps pid-less windows', async () => {
    const s = await started(x.env);
    const w1 = await x.openWindow('x11 source one');
    await waitUntil(async () => (await titleOf(s)) === 'x11 source one', 'first window');
    const r = await s.read();
    expect(r).toMatchObject({ kind: 'window', window: { app: 'XTerm', url: '' } });
    expect(r.kind === 'window' && r.window.pid).toBe(w1.pid);
    const w2 = await x.openWindow('x11 source two');
    await waitUntil(async () => (await titleOf(s)) === 'x11 source two', 'second window');
    const id = execFileSync('xdotool', ['search', '--name', '^x11 source two$'], {
      env: x.env,
      encoding: 'utf8',
    }).trim();
    execFileSync('xprop', ['-id', id, '-remove', '_NET_WM_PID'], { env: x.env });
    execFileSync('xdotool', ['set_window', '--name', 'renamed "quoted" title', id], { env: x.env });
    await waitUntil(async () => (await titleOf(s)) === 'renamed "quoted" title', 'renamed window');
    w2.kill('SIGKILL');
    await waitUntil(async () => (await titleOf(s)) === 'x11 source one', 'focus back to the first window');
    w1.kill('SIGKILL');
  });

  it('issue 11: a 300,000-byte invalid _NET_WM_NAME does not blind it (capped reads, run as the user)', async () => {
    const pupil = ensureUser('custodian-pupil');
    const env = bindRunAs(
      { ...x.env },
      { uid: pupil.uid, gid: pupil.gid, user: pupil.name, home: pupil.home },
    );
    const s = await started(env);
    const w = await x.openWindow('hostile title target');
    await waitUntil(async () => (await titleOf(s)) === 'hostile title target', 'the target window');
    const id = Number(
      execFileSync('xdotool', ['search', '--name', '^hostile title target$'], {
        env: x.env,
        encoding: 'utf8',
      }).trim(),
    );
    // What any client may do to any window: 300,000 bytes of invalid UTF-8 as its _NET_WM_NAME.
    // x11-utils' xprop dies on this with SIGSEGV when it reads the whole value.
    const c = await XConnection.open(x.display, undefined);
    try {
      const bytes = Buffer.alloc(300_000, 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = 0x80 + (i % 64);
      await c.setProperty8(id, await c.internAtom('_NET_WM_NAME'), await c.internAtom('UTF8_STRING'), bytes);
    } finally {
      c.close();
    }
    const hostile = await waitUntil(async () => {
      const t = await titleOf(s);
      return t !== undefined && t !== 'hostile title target' ? t : undefined;
    }, 'the hostile title, read capped');
    expect(Buffer.byteLength(hostile)).toBeLessThanOrEqual(TITLE_READ_BYTES * 3);
    // Titles keep flowing.
    execFileSync('xdotool', ['set_window', '--name', 'after the hostile title', String(id)], { env: x.env });
    await waitUntil(async () => (await titleOf(s)) === 'after the hostile title', 'the next title');
    // The spies run as the session's user, not as root.
    const spies = processesOnDisplay(x.display, 'xprop');
    expect(spies.length).toBeGreaterThanOrEqual(2);
    expect(spies.map((p) => p.uid)).toEqual(spies.map(() => pupil.uid));
    expect(s.health()).toBeUndefined();
    w.kill('SIGKILL');
  });

  it('a window spy that crashes is started again and the crash is noted for the capability report', async () => {
    const s = await started(x.env);
    const w = await x.openWindow('crash target');
    await waitUntil(async () => (await titleOf(s)) === 'crash target', 'the target window');
    const spy = processesOnDisplay(x.display, 'xprop').find((p) =>
      readFileSync(`/proc/${p.pid}/cmdline`, 'latin1').split('\0').includes('-id'),
    );
    expect(spy).toBeDefined();
    process.kill(spy!.pid, 'SIGSEGV');
    await waitUntil(() => s.health(), 'the crash note');
    expect(s.health()).toMatch(/^window title reader \(xprop\) crashed \(SIGSEGV, 1 in a row\)/);
    const id = execFileSync('xdotool', ['search', '--name', '^crash target$'], {
      env: x.env,
      encoding: 'utf8',
    }).trim();
    execFileSync('xdotool', ['set_window', '--name', 'after the crash', id], { env: x.env });
    await waitUntil(async () => (await titleOf(s)) === 'after the crash', 'the title after the restart');
    w.kill('SIGKILL');
  });
});
