// The window monitor's logic with a scripted window source (pure logic: no display needed).
import { defaultPolicy } from '@custodian/policy';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import type { ActiveWindowInfo, AgentContext, EventPayload } from '../../src/core/contracts.ts';
import { WindowFeedHub } from '../../src/monitors/window-feed.ts';
import { LOCKED_APP, NO_WINDOW_APP, WindowMonitor } from '../../src/monitors/window-monitor.ts';
import type { WindowReading, WindowSource } from '../../src/platform/window.ts';

function setup(readings: WindowReading[], locked: (boolean | Error)[] = []) {
  const emitted: EventPayload[] = [];
  const published: (ActiveWindowInfo | undefined)[] = [];
  let lockCalls = 0;
  const source: WindowSource = {
    probe: async () => ({ name: 'active_window', available: true, reason: '' }),
    start: async () => {},
    stop: async () => {},
    read: async () => readings.shift() ?? { kind: 'unknown' },
  };
  const hub = new WindowFeedHub(silentLogger);
  hub.onChange((w) => published.push(w));
  const ctx: AgentContext = {
    events: { emit: async (p) => void emitted.push(p) },
    blobs: { putBlob: async () => 'x' },
    policy: { current: () => defaultPolicy(), onChange: () => () => {} },
    log: silentLogger,
    demo: false,
    capabilitiesChanged: () => {},
    lockState: {
      isLocked: async () => {
        lockCalls++;
        const v = locked.shift() ?? false;
        if (v instanceof Error) throw v;
        return v;
      },
    },
    dataDir: '/nonexistent',
    windows: hub,
  };
  const monitor = new WindowMonitor(ctx, source, hub);
  return { monitor, emitted, published, lockCalls: () => lockCalls };
}

const w = (title: string, app = 'XTerm'): WindowReading => ({
  kind: 'window',
  window: { app, title, url: '', pid: 7 },
});

describe('WindowMonitor', () => {
  it('emits only on change and publishes each change to the feed', async () => {
    const { monitor, emitted, published } = setup([
      w('a'),
      w('a'),
      { kind: 'unknown' },
      w('b'),
      w('b'),
      w('a'),
    ]);
    await monitor.start();
    for (let i = 0; i < 6; i++) await monitor.sampleNow();
    await monitor.stop();
    expect(emitted.map((e) => e.activeWindow?.title)).toEqual(['a', 'b', 'a']);
    expect(published.map((p) => p?.title)).toEqual(['a', 'b', 'a']);
    expect(emitted[0]!.activeWindow).toEqual({ app: 'XTerm', title: 'a', url: '', pid: 7 });
  });

  it('records an empty desktop as NO_WINDOW_APP and publishes undefined', async () => {
    const { monitor, emitted, published } = setup([w('a'), { kind: 'none' }]);
    await monitor.start();
    await monitor.sampleNow();
    await monitor.sampleNow();
    await monitor.stop();
    expect(emitted.map((e) => e.activeWindow?.app)).toEqual(['XTerm', NO_WINDOW_APP]);
    expect(published).toEqual([expect.objectContaining({ title: 'a' }), undefined]);
  });

  it('records "locked" instead of the window under the locker, and nothing for the feed', async () => {
    const { monitor, emitted, published } = setup([w('secret notes'), w('secret notes')], [true]);
    await monitor.start();
    await monitor.sampleNow();
    await monitor.stop();
    expect(emitted.map((e) => e.activeWindow?.app)).toEqual([LOCKED_APP]);
    expect(published).toEqual([undefined]);
  });

  it('asks the lock probe at most every few seconds (it may spawn a process)', async () => {
    const { monitor, lockCalls } = setup([w('a'), w('b'), w('c'), w('d')]);
    await monitor.start();
    for (let i = 0; i < 4; i++) await monitor.sampleNow();
    await monitor.stop();
    expect(lockCalls()).toBe(1);
  });

  it('an unknown lock state (probe error) still records windows', async () => {
    const { monitor, emitted } = setup([w('a')], [new Error('no graphical session')]);
    await monitor.start();
    await monitor.sampleNow();
    await monitor.stop();
    expect(emitted.map((e) => e.activeWindow?.title)).toEqual(['a']);
  });
});
