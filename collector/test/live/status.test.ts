import { describe, expect, it } from 'vitest';
import { emptyStatus, reduceStatus } from '../../src/live/status.ts';

describe('reduceStatus', () => {
  it('keeps a failed lock visible until a lock succeeds', () => {
    let s = emptyStatus('d1');
    s = reduceStatus(
      s,
      'lockFailed',
      { timeMs: 1_000, lockFailed: { method: 'i3lock', reason: 'i3lock is not installed', attempt: 2 } },
      1_005,
    );
    expect(s.lastLockFailure).toEqual({
      at: 1_000,
      method: 'i3lock',
      reason: 'i3lock is not installed',
      attempt: 2,
    });
    s = reduceStatus(s, 'heartbeat', { timeMs: 2_000, heartbeat: {} }, 2_001);
    expect(s.lastLockFailure?.reason).toBe('i3lock is not installed');
    s = reduceStatus(s, 'screenLocked', { timeMs: 3_000, screenLocked: { method: 'i3lock' } }, 3_001);
    expect(s.lastLockFailure).toBeUndefined();
    expect(s.locked).toBe(true);
  });

  it('tracks USB volumes by device and drops them on removal', () => {
    let s = emptyStatus('d1');
    s = reduceStatus(s, 'usbAttached', { usbAttached: { device: 'sdb1', decision: 'BLOCK_WRITE' } }, 1);
    s = reduceStatus(s, 'usbAttached', { usbAttached: { device: 'sdb1', decision: 'ALLOW_WRITE' } }, 2);
    expect(s.usbVolumes).toHaveLength(1);
    expect(s.usbVolumes[0]?.['decision']).toBe('ALLOW_WRITE');
    s = reduceStatus(s, 'usbRemoved', { usbRemoved: { device: 'sdb1' } }, 3);
    expect(s.usbVolumes).toHaveLength(0);
  });

  it('keeps the BYOD scope from scopeChanged events and heartbeats (issue 19)', () => {
    let s = emptyStatus('d1');
    const out = {
      applies: true,
      inScope: false,
      reason: 'not on a school network',
      rule: '',
      mode: 'on-premises',
    };
    s = reduceStatus(s, 'scopeChanged', { timeMs: 1_000, scopeChanged: out }, 1_001);
    expect(s.scope).toEqual({ ...out, at: 1_000 });
    const inside = { ...out, inScope: true, reason: 'on the school network "Main site"', rule: 'Main site' };
    s = reduceStatus(s, 'heartbeat', { timeMs: 2_000, heartbeat: { scope: inside } }, 2_001);
    expect(s.scope).toEqual({ ...inside, at: 2_000 });
    // A heartbeat from an agent before scopes leaves the last known scope alone.
    s = reduceStatus(s, 'heartbeat', { timeMs: 3_000, heartbeat: {} }, 3_001);
    expect(s.scope?.at).toBe(2_000);
  });

  it('an uninstall (issue 17) is kept until the agent starts again (reinstalled)', () => {
    let s = reduceStatus(
      emptyStatus('d1'),
      'agentStopping',
      { timeMs: 1_000, agentStopping: { reason: 'service stop' } },
      1_001,
    );
    s = reduceStatus(
      s,
      'agentUninstalled',
      { timeMs: 2_000, agentUninstalled: { method: 'dpkg remove', user: 'x'.repeat(200) } },
      2_001,
    );
    expect(s.uninstalled).toEqual({ at: 2_000, method: 'dpkg remove', user: 'x'.repeat(64) });
    s = reduceStatus(s, 'heartbeat', { timeMs: 3_000, heartbeat: {} }, 3_001);
    expect(s.uninstalled?.at).toBe(2_000);
    s = reduceStatus(s, 'agentStarted', { timeMs: 4_000, agentStarted: { agentVersion: '0.1.0' } }, 4_001);
    expect(s.uninstalled).toBeUndefined();
  });
});
