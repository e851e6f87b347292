// The X11 window source against a real Xvfb + openbox (test/support/xvfb.ts).
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startX, type XSession } from '../../../test/support/xvfb.ts';
import { silentLogger } from '../../src/config/logger.ts';
import { X11WindowSource } from '../../src/platform/window.linux.ts';
import type { WindowReading } from '../../src/platform/window.ts';
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
});
