// Issue 10 item 8, replayed from outside: a foreign `ws` client sends ~900 KB frames of text the
// collector logs (agent error reports, command results, a rejected policy's reason) and batches
// whose every event earns a log note. The collector's log grows by a bounded amount (before the
// fix: six ~900 KB frames added 4.5 MB), keeps serving the device, and says how many lines it
// held back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { TestAgent } from './console-helpers.ts';

let collector: CollectorProcess;
let agent: TestAgent;
const BIG = 'A'.repeat(900 * 1024);

const logBytes = () => collector.logs().reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);

beforeAll(async () => {
  collector = await startCollector();
  agent = await TestAgent.enrol(collector, 'LAPTOP-LOG');
  await agent.connect();
}, 120_000);

afterAll(async () => {
  await agent?.disconnect();
  await collector?.cleanup();
});

describe('device text cannot flood the collector log', () => {
  it('six ~900 KB frames and 1,000 noted events add a few kB of log, not megabytes', async () => {
    const before = logBytes();
    for (let i = 0; i < 2; i++) {
      agent.sendMessage({ error: { code: 'X', message: BIG } });
      agent.sendMessage({ commandResult: { commandId: BIG.slice(0, 1000), ok: false, error: BIG } });
      agent.sendMessage({ policyApplied: { version: 1, ok: false, error: BIG } });
    }
    // Every event has an implausible clock: one log note each, 1,000 in all.
    for (let b = 0; b < 2; b++) {
      const base = b * 500;
      const events = Array.from({ length: 500 }, (_, i) => ({
        seq: base + i + 1,
        timeMs: 1,
        heartbeat: { uptimeSeconds: 1, loggedInUser: 'pupil', outboxDepth: 0 },
      }));
      const ack = await agent.sendExact(events);
      expect(ack.seq).toBe(base + 500);
    }
    // Frames are handled in order: the acks above mean every frame before them was logged.
    const grown = logBytes() - before;
    console.log(`log growth after 6 × 900 KB frames and 1,000 noted events: ${grown} bytes`);
    expect(grown).toBeLessThan(32 * 1024);
    const lines = collector.logs().slice(-200).join('\n');
    expect(lines).toContain('agent reported an error');
    expect(lines).toMatch(/more characters\]/);

    await agent.disconnect();
    await expect
      .poll(() => collector.logs().some((l) => l.includes('log lines suppressed (rate limit)')), {
        timeout: 10_000,
      })
      .toBe(true);
    const summary = collector.logs().find((l) => l.includes('log lines suppressed'));
    expect(JSON.parse(summary as string).suppressedLines).toBeGreaterThan(900);
  });
});
