// The idle-lock enforcer's answer to a lock that ended without an unlock (issue 11 item 12), with
// a scripted locker (the real one on X11: idle-lock.x11.test.ts).
import { v1 } from '@custodian/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentComponent } from '../../src/core/contracts.ts';
import { createIdleLockEnforcer } from '../../src/enforce/idle-lock.ts';
import type { IdleProbe } from '../../src/platform/idle.ts';
import type { ScreenLocker } from '../../src/platform/lock.ts';
import { createTestContext } from './harness.ts';

function scriptedLocker() {
  const listeners = new Set<(what: string) => void>();
  let locked = false;
  let locks = 0;
  const locker: ScreenLocker = {
    methods: ['scripted'],
    availability: async () => ({ available: true, reason: 'scripted' }),
    async lock() {
      locks++;
      locked = true;
      return 'scripted';
    },
    isLocked: async () => locked,
    onTamper(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return {
    locker,
    locks: () => locks,
    killed(what: string) {
      locked = false;
      for (const l of listeners) l(what);
    },
  };
}

const idle: IdleProbe = {
  method: 'scripted',
  idleMs: async () => 1_000,
  availability: async () => ({ available: true, reason: 'scripted' }),
};

let component: AgentComponent | undefined;
afterEach(async () => {
  await component?.stop();
  component = undefined;
});

describe('relock after a lock ended without an unlock', () => {
  it('locks again at once and records why', async () => {
    const ctx = createTestContext({
      policy: { idleLock: { enabled: true, idleLockSeconds: 600, warningSeconds: 0, reportOnly: false } },
    });
    const s = scriptedLocker();
    component = createIdleLockEnforcer(ctx, { idle, locker: s.locker, maxPollMs: 100 });
    await component.start();
    await component.onCommand?.({ commandId: 'c', kind: v1.Command.Kind.LOCK_NOW });
    expect(s.locks()).toBe(1);
    s.killed('the screen locker i3lock (pid 7) ended with SIGKILL while the screen was locked');
    const relock = await ctx.waitFor(
      (e) => (e.screenLocked?.relockReason ? e.screenLocked : undefined),
      5_000,
    );
    expect(relock).toMatchObject({
      method: 'scripted',
      byPolicy: true,
      relockReason: 'the screen locker i3lock (pid 7) ended with SIGKILL while the screen was locked',
    });
    expect(s.locks()).toBe(2);
  });

  it('report-only never locks again (it only logs)', async () => {
    const ctx = createTestContext({
      policy: { idleLock: { enabled: true, idleLockSeconds: 600, warningSeconds: 0, reportOnly: true } },
    });
    const s = scriptedLocker();
    component = createIdleLockEnforcer(ctx, { idle, locker: s.locker, maxPollMs: 100 });
    await component.start();
    s.killed('the screen locker ended');
    await new Promise((r) => setTimeout(r, 300));
    expect(s.locks()).toBe(0);
    expect(ctx.logs.some((l) => l.msg === 'screen lock ended without an unlock')).toBe(true);
  });
});
