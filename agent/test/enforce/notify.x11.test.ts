// The idle-lock warning notice on a real X server (Xvfb + openbox) with the real xmessage,
// i3lock, xprintidle and xdotool. The window is found by its fixed title, as IT staff would.
import { spawnSync } from 'node:child_process';
import { ErrorCode, v1 } from '@custodian/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { allInstalled } from '../../../test/support/tools.ts';
import { startX, type XSession } from '../../../test/support/xvfb.ts';
import type { AgentComponent } from '../../src/core/contracts.ts';
import { createIdleLockEnforcer } from '../../src/enforce/idle-lock.ts';
import { createLinuxIdleProbe } from '../../src/platform/idle.linux.ts';
import { createLinuxScreenLocker } from '../../src/platform/lock.linux.ts';
import { createLinuxNotifier } from '../../src/platform/notify.linux.ts';
import { type IdleNotifier, WARNING_TITLE } from '../../src/platform/notify.ts';
import { createTestContext } from './harness.ts';

const { State } = v1.IdleState;
const haveTools = allInstalled([
  'Xvfb',
  'openbox',
  'xmessage',
  'i3lock',
  'xprintidle',
  'xdotool',
  'xwininfo',
]);

let x: XSession | undefined;
let component: AgentComponent | undefined;
let notifier: IdleNotifier | undefined;
afterEach(async () => {
  await component?.stop();
  component = undefined;
  await notifier?.dismiss();
  notifier = undefined;
  await x?.stop(); // also ends any xmessage/i3lock left on that display
  x = undefined;
});

function warningWindowUp(env: NodeJS.ProcessEnv): boolean {
  const r = spawnSync('xdotool', ['search', '--name', `^${WARNING_TITLE}$`], { env, encoding: 'utf8' });
  return r.status === 0 && /^\d+$/m.test(r.stdout);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 100 ms until true or `timeoutMs` passes (then false). Not a timing assertion. */
async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(100);
  }
  return check();
}

/** A real notifier that also counts what it was asked to do. */
function counted(inner: IdleNotifier): IdleNotifier & { shows: number[]; dismissals: number } {
  const c = {
    method: inner.method,
    shows: [] as number[],
    dismissals: 0,
    availability: () => inner.availability(),
    show(n: number) {
      c.shows.push(n);
      return inner.show(n);
    },
    dismiss() {
      c.dismissals++;
      return inner.dismiss();
    },
  };
  return c;
}

describe('idle warning notice without a usable display', () => {
  it('reports why when DISPLAY is not set, and show() rejects UNAVAILABLE', async () => {
    const n = createLinuxNotifier({ env: { PATH: process.env['PATH'] } });
    expect(n.method).toBe('none');
    await expect(n.availability()).resolves.toEqual({
      available: false,
      reason: 'no X display (DISPLAY is not set): no idle warning notice',
    });
    await expect(n.show(60)).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
    await expect(n.dismiss()).resolves.toBeUndefined();
  });

  it('reports why on Wayland', async () => {
    const n = createLinuxNotifier({ env: { DISPLAY: ':0', WAYLAND_DISPLAY: 'wayland-0' } });
    const a = await n.availability();
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/^Wayland session/);
  });

  it.skipIf(!haveTools)(
    'show() rejects with xmessage’s own error when the display is not there',
    async () => {
      const n = createLinuxNotifier({ env: { ...process.env, DISPLAY: ':987' } });
      await expect(n.availability()).resolves.toEqual({
        available: true,
        reason: 'warns with xmessage on :987',
      });
      await expect(n.show(5)).rejects.toMatchObject({
        code: ErrorCode.COMMAND_FAILED,
        message: expect.stringMatching(/^xmessage exited 1: .*open display/i),
      });
    },
  );
});

describe.skipIf(!haveTools)('idle warning notice on X11 (Xvfb)', () => {
  it('show() opens the titled window; dismiss() closes it', async () => {
    x = await startX();
    notifier = createLinuxNotifier({ env: x.env });
    expect(warningWindowUp(x.env)).toBe(false);
    await notifier.show(30);
    expect(await eventually(() => warningWindowUp(x?.env ?? {}))).toBe(true);
    await notifier.dismiss();
    expect(warningWindowUp(x.env)).toBe(false);
  });

  it('no input: the warning appears before the lock and is gone once locked', async () => {
    x = await startX();
    const ctx = createTestContext({
      // Warning after 2 s idle, lock after 10 s: 8 s for xmessage to map its window before the
      // lock, far above what a loaded machine adds, so "seen before the lock" cannot flake.
      policy: { idleLock: { enabled: true, idleLockSeconds: 10, warningSeconds: 8, reportOnly: false } },
    });
    const n = counted(createLinuxNotifier({ env: x.env }));
    notifier = n;
    component = createIdleLockEnforcer(ctx, {
      idle: createLinuxIdleProbe({ env: x.env }),
      locker: createLinuxScreenLocker({ env: x.env, lockCommand: ['i3lock', '-n'] }),
      notifier: n,
      maxPollMs: 250,
    });
    spawnSync('xdotool', ['mousemove', '10', '10'], { env: x.env });
    await component.start();
    const warned = await ctx.waitFor(
      (e) => (e.idleState?.warning ? e.idleState : undefined),
      15_000,
      'warning',
    );
    expect(warned.state).toBe(State.IDLE);
    expect(await eventually(() => warningWindowUp(x?.env ?? {}))).toBe(true);
    // Seen on screen while no lock had happened yet.
    expect(ctx.emitted.some((e) => e.screenLocked)).toBe(false);
    expect(n.shows).toHaveLength(1);
    expect(n.shows[0]).toBeGreaterThanOrEqual(1);
    expect(n.shows[0]).toBeLessThanOrEqual(8);
    const locked = await ctx.waitFor((e) => e.screenLocked ?? undefined, 20_000, 'screenLocked');
    expect(locked.method).toBe('i3lock');
    expect(await eventually(() => !warningWindowUp(x?.env ?? {}))).toBe(true);
    expect(n.dismissals).toBeGreaterThanOrEqual(1);
  });

  it('input after the warning takes it down and no lock follows', async () => {
    x = await startX();
    const ctx = createTestContext({
      // Warning at 3 s idle: the input below must be seen by a poll before idle passes 3 s again
      // (ACTIVE needs idle under the warning point); 1 s was within a loaded machine's poll delay.
      policy: { idleLock: { enabled: true, idleLockSeconds: 30, warningSeconds: 27, reportOnly: false } },
    });
    notifier = createLinuxNotifier({ env: x.env });
    component = createIdleLockEnforcer(ctx, {
      idle: createLinuxIdleProbe({ env: x.env }),
      locker: createLinuxScreenLocker({ env: x.env }),
      notifier,
      maxPollMs: 200,
    });
    spawnSync('xdotool', ['mousemove', '10', '10'], { env: x.env });
    await component.start();
    await ctx.waitFor((e) => (e.idleState?.warning ? e.idleState : undefined), 15_000, 'warning');
    expect(await eventually(() => warningWindowUp(x?.env ?? {}))).toBe(true);
    spawnSync('xdotool', ['mousemove', '200', '200'], { env: x.env });
    await ctx.waitFor(
      (e) => (e.idleState?.state === State.ACTIVE ? e.idleState : undefined),
      10_000,
      'ACTIVE',
    );
    expect(await eventually(() => !warningWindowUp(x?.env ?? {}))).toBe(true);
    expect(ctx.emitted.some((e) => e.screenLocked || e.lockFailed)).toBe(false);
  });

  it('report-only shows nothing, though the warning event is recorded', async () => {
    x = await startX();
    const ctx = createTestContext({
      demo: true,
      // Warning at 1 s, crossing at 4 s: a late poll cannot jump past the warning.
      policy: { idleLock: { enabled: true, idleLockSeconds: 4, warningSeconds: 3, reportOnly: true } },
    });
    const n = counted(createLinuxNotifier({ env: x.env }));
    notifier = n;
    component = createIdleLockEnforcer(ctx, {
      idle: createLinuxIdleProbe({ env: x.env }),
      locker: createLinuxScreenLocker({ env: x.env }),
      notifier: n,
      maxPollMs: 200,
    });
    spawnSync('xdotool', ['mousemove', '10', '10'], { env: x.env });
    await component.start();
    await ctx.waitFor((e) => (e.idleState?.warning ? e.idleState : undefined), 15_000, 'warning');
    const crossed = await ctx.waitFor(
      (e) => (e.idleState?.state === State.IDLE && !e.idleState.warning ? e.idleState : undefined),
      15_000,
      'IDLE',
    );
    expect(crossed.reportOnly).toBe(true);
    expect(n.shows).toEqual([]);
    expect(warningWindowUp(x.env)).toBe(false);
  });
});
