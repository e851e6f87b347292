// The live-status fields health detection reads, from the events the agent sends: its shutdown
// notice (agentStopping, until the next agentStarted) and USB enforcement failures (until a
// block lands).
import { describe, expect, it } from 'vitest';
import { emptyStatus, reduceStatus } from '../../src/live/status.ts';

describe('reduceStatus: health fields', () => {
  it('agentStopping sets lastStop; the next agentStarted clears it', () => {
    let s = reduceStatus(
      emptyStatus('d'),
      'agentStopping',
      { timeMs: 5, agentStopping: { reason: 'SIGTERM' } },
      6,
    );
    expect(s.lastStop).toEqual({ at: 5, reason: 'SIGTERM' });
    s = reduceStatus(s, 'agentStarted', { timeMs: 9, agentStarted: { agentVersion: '1' } }, 9);
    expect(s.lastStop).toBeUndefined();
  });

  it('usbEnforcementFailed counts failures; usbWriteBlocked clears them', () => {
    const fail = {
      timeMs: 5,
      usbEnforcementFailed: { device: 'sdb1', method: 'remount-ro', reason: 'busy' },
    };
    let s = reduceStatus(emptyStatus('d'), 'usbEnforcementFailed', fail, 5);
    s = reduceStatus(s, 'usbEnforcementFailed', { ...fail, timeMs: 7 }, 7);
    expect(s.usbEnforcementFailure).toEqual({ at: 7, method: 'remount-ro', count: 2 });
    s = reduceStatus(s, 'usbWriteBlocked', { timeMs: 8, usbWriteBlocked: { device: 'sdb1' } }, 8);
    expect(s.usbEnforcementFailure).toBeUndefined();
  });
});
