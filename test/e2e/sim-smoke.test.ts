// The scale simulator (test/sim/, `pnpm bench scale`) in miniature, so the harness cannot rot:
// 50 protocol-level agents storm one level collector, stream a compressed school day for a few
// seconds (window changes, heartbeats, flags with screenshots, USB), ride out a collector restart
// with the agent's backoff, and every event acked is then read back from the store exactly once.
import { describe, expect, it } from 'vitest';
import { SCHOOL_DAY } from '../sim/profile.ts';
import { runScenario } from '../sim/scenario.ts';

describe('scale simulator, smoke size', () => {
  it('50 agents against one level collector: storm, steady day, restart; every acked event stored once', {
    timeout: 120_000,
  }, async () => {
    const r = await runScenario({
      seed: 20,
      agents: 50,
      collectors: 1,
      store: 'level',
      workers: 2,
      stormWindowMs: 2_000,
      steadyMs: 4_000,
      // 200 school days an hour: every kind of event shows up in a few seconds with 50 agents.
      profile: { ...SCHOOL_DAY, speed: 200 },
      verify: true,
    });
    console.log(`sim smoke: ${JSON.stringify({ ...r, problems: r.problems.slice(0, 5) })}`);
    expect(r.problems).toEqual([]);
    expect(r.steady.connectionsHeld).toBe(50);
    expect(r.steady.eventsPerSec).toBeGreaterThan(0);
    expect(r.steady.ackSamples).toBeGreaterThan(50);
    expect(r.steady.liveSamples).toBeGreaterThan(5);
    expect(r.steady.blobsStored).toBeGreaterThan(0);
    expect(r.verified?.streams).toBe(50);
    expect(r.verified?.events).toBeGreaterThan(50 * 3);
  });

  it('20 agents through an HAProxy front (the path K collectors take): WebSocket and the SSE feed pass', {
    timeout: 120_000,
  }, async () => {
    const r = await runScenario({
      seed: 21,
      agents: 20,
      collectors: 1,
      store: 'level',
      front: 'haproxy',
      stormWindowMs: 1_000,
      steadyMs: 3_000,
      profile: { ...SCHOOL_DAY, speed: 200 },
      verify: true,
    });
    console.log(`sim smoke haproxy: ${JSON.stringify({ ...r, problems: r.problems.slice(0, 5) })}`);
    expect(r.setup).toContain('haproxy');
    expect(r.problems).toEqual([]);
    expect(r.steady.connectionsHeld).toBe(20);
    expect(r.steady.liveSamples).toBeGreaterThan(5);
    expect(r.verified?.streams).toBe(20);
  });
});
