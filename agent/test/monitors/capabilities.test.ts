import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import type { AgentComponent, CapabilityStatus, EventPayload } from '../../src/core/contracts.ts';
import { CapabilityReporter, mergeCapabilities } from '../../src/monitors/capability-reporter.ts';

describe('capabilities', () => {
  it('reports every capability, with a reason for those nobody provides', () => {
    const merged = mergeCapabilities([
      { name: 'active_window', available: false, reason: 'no X display' },
      { name: 'usb_control', available: true, reason: '' },
    ]);
    expect(merged.map((c) => c.name)).toEqual([
      'active_window',
      'idle',
      'lock',
      'screenshot',
      'usb_control',
      'secure_transport',
      'browser_extension',
      'typed_text',
      'screen_text',
    ]);
    expect(merged[0]).toEqual({ name: 'active_window', available: false, reason: 'no X display' });
    expect(merged[1]).toEqual({ name: 'idle', available: false, reason: 'not provided by this agent build' });
    expect(merged[4]!.available).toBe(true);
  });

  it('emits a report on start and again only when something changed', async () => {
    const emitted: EventPayload[] = [];
    let caps: CapabilityStatus[] = [{ name: 'idle', available: false, reason: 'no X display' }];
    const component: AgentComponent = {
      name: 'c',
      start: async () => {},
      stop: async () => {},
      capabilities: () => caps,
    };
    const reporter = new CapabilityReporter(
      () => [component],
      { emit: async (p) => void emitted.push(p) },
      silentLogger,
    );
    await reporter.reportNow();
    await reporter.reportNow();
    expect(emitted).toHaveLength(1);
    caps = [{ name: 'idle', available: true, reason: '' }];
    await reporter.reportNow();
    expect(emitted).toHaveLength(2);
    const idle = emitted[1]!.capabilities!.capabilities!.find((c) => c.name === 'idle');
    expect(idle?.available).toBe(true);
    reporter.stop();
  });
});
