// Session discovery for real: an Xvfb that demands a cookie (-auth), a process of another user
// holding the session's DISPLAY/XAUTHORITY, and this test process WITHOUT a DISPLAY of its own
// (like the root service). The adapters, consulting sessionEnv(), must reach that display.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUser, processesOnDisplay } from '../../../test/support/test-user.ts';
import { silentLogger } from '../../src/config/logger.ts';
import { createLinuxIdleProbe } from '../../src/platform/idle.linux.ts';
import { createLinuxScreenLocker } from '../../src/platform/lock.linux.ts';
import { createLinuxNotifier } from '../../src/platform/notify.linux.ts';
import { createScreenshotSource } from '../../src/platform/screenshot.ts';
import { createLinuxSessionDiscovery } from '../../src/platform/session.linux.ts';
import { SessionWatcher, setSessionEnvProvider } from '../../src/platform/session.ts';
import { X11WindowSource } from '../../src/platform/window.linux.ts';
import { waitUntil } from '../support/wait.ts';
import { type AuthXSession, startAuthX } from './session-xauth.ts';

/**
 * A real account (i3lock needs a passwd entry), not the e2e's user (65534) nor the pupil of
 * x11-hostile-session.x11.test.ts: parallel test files must not find each other's sessions.
 */
const user = ensureUser('custodian-sess');
const UID = user.uid;
let x: AuthXSession;
let watcher: SessionWatcher | undefined;
const discovery = createLinuxSessionDiscovery({ acceptUid: (uid) => uid === UID });

beforeAll(async () => {
  // The premise: this process has no display of its own.
  expect(process.env['DISPLAY'] ?? '').toBe('');
  x = await startAuthX();
});
afterAll(async () => {
  setSessionEnvProvider(undefined);
  watcher?.stop();
  await x?.stop();
});

describe('graphical session discovery (Xvfb with -auth, session held by another user)', () => {
  it('the X server refuses a client without the cookie', () => {
    const home = mkdtempSync(join(tmpdir(), 'custodian-nohome-'));
    try {
      const r = spawnSync('xprop', ['-root'], {
        env: { PATH: process.env['PATH'], DISPLAY: x.display, HOME: home },
        timeout: 5_000,
        stdio: 'ignore',
      });
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('finds nothing while no user process holds a display', async () => {
    expect(await discovery.discover()).toBeUndefined();
  });

  it('finds the session from /proc (no logind here) and verifies it answers', async () => {
    await x.holdSession(UID);
    const s = await discovery.discover();
    // The cookie: a copy of the X server's own (-auth), readable by the user only.
    const n = x.display.slice(1);
    expect(s).toEqual({
      source: 'proc',
      uid: UID,
      gid: user.gid,
      user: 'custodian-sess',
      home: user.home,
      vars: { DISPLAY: x.display, XAUTHORITY: `/run/custodian/x11-${UID}/display-${n}.xauth` },
    });
  });

  it('the adapters, started without DISPLAY, read the active window, idle time and lock state', async () => {
    watcher = new SessionWatcher({ discovery, log: silentLogger });
    setSessionEnvProvider(() => watcher!.current());
    expect(await watcher.check(true)).toBe(true);
    expect(watcher.current()['DISPLAY']).toBe(x.display);

    const source = new X11WindowSource(silentLogger);
    try {
      expect(await source.probe()).toEqual({ name: 'active_window', available: true, reason: '' });
      await source.start();
      await x.openWindow('Session discovery window');
      await waitUntil(async () => {
        const r = await source.read();
        return r.kind === 'window' && r.window.title === 'Session discovery window';
      }, 'the window title through the discovered session');
      // Issue 11: the spies run as the session's user, not root (seen from /proc as an outsider).
      const spies = processesOnDisplay(x.display, 'xprop');
      expect(spies.length).toBeGreaterThanOrEqual(2);
      expect(spies.map((p) => p.uid)).toEqual(spies.map(() => UID));
    } finally {
      await source.stop();
    }

    // The idle warning notice is the user's process too.
    const notifier = createLinuxNotifier();
    await notifier.show(30);
    try {
      const notices = processesOnDisplay(x.display, 'xmessage');
      expect(notices).toHaveLength(1);
      expect(notices[0]?.uid).toBe(UID);
    } finally {
      await notifier.dismiss();
    }

    const idle = createLinuxIdleProbe();
    expect(idle.method).toBe('xprintidle');
    expect(await idle.idleMs()).toBeGreaterThanOrEqual(0);
    expect(await idle.availability()).toEqual({ available: true, reason: 'measured with xprintidle' });

    const locker = createLinuxScreenLocker({ verifyMs: 5_000 });
    expect(await locker.isLocked()).toBe(false);
    // Issue 11 item 3: i3lock runs as the session's user (it checks THAT user's password, not
    // root's); it dies with the X server in afterAll.
    expect(await locker.lock()).toBe('i3lock');
    expect(await locker.isLocked()).toBe(true);
    const lockers = processesOnDisplay(x.display, 'i3lock');
    expect(lockers.length).toBeGreaterThanOrEqual(1); // i3lock forks a helper of its own
    expect(lockers.map((p) => p.uid)).toEqual(lockers.map(() => UID));

    const shots = await createScreenshotSource();
    expect(await shots.probe()).toEqual({ name: 'screenshot', available: true, reason: '' });
    // The capture runs as the session's user too, with the user's copy of the cookie.
    const png = await shots.capture();
    expect(Buffer.from(png.subarray(1, 4)).toString('latin1')).toBe('PNG');
  });

  it('a logout is seen: the environment loses the display and the adapters say so', async () => {
    const before = watcher!.current();
    // A logout ends every process of the session, the user's locker from the test above too.
    for (const p of processesOnDisplay(x.display, 'i3lock')) process.kill(p.pid, 'SIGKILL');
    await x.dropHolders();
    expect(await watcher!.check(false)).toBe(true);
    expect(watcher!.current()).not.toBe(before);
    expect(watcher!.current()['DISPLAY']).toBeUndefined();
    expect(await new X11WindowSource(silentLogger).probe()).toMatchObject({ available: false });
    expect(await createLinuxIdleProbe().availability()).toMatchObject({ available: false });
    // And a new login is found again.
    await x.holdSession(UID);
    expect(await watcher!.check(false)).toBe(true);
    expect(watcher!.current()['XAUTHORITY']).toBe(
      `/run/custodian/x11-${UID}/display-${x.display.slice(1)}.xauth`,
    );
  });
});
