// Exactly-once delivery with a real collector process and a real agent process:
// collector killed and restarted, agent killed with kill -9 and restarted, and a 10,000-event
// backlog built up while the collector is down. The backlog comes from the agent's documented
// diagnostic `custodian-agent emit-test-events N` (app "custodian-diagnostic").
import { v1 } from '@custodian/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TimelineRecord } from '../../collector/src/store/types.ts';
import {
  type AgentProcess,
  agentCli,
  type EnrolledAgent,
  enrolAgent,
  startAgent,
} from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { storedTimeline } from '../support/collector-store.ts';
import { waitFor } from '../support/wait-for.ts';
import { deliveryProblems, dslHeaders, type TimelineItem, timeline } from './agent-harness.ts';

/** Big enough that a kill right after the first events are stored lands mid-stream (asserted). */
const BACKLOG = 20_000;
/**
 * A 1 s group-commit tick paces the agent by its acks (at most its in-flight window, 2,000
 * events, per commit), as in collector-kill9.test.ts: 20,000 events take about ten commits,
 * so a kill right after the first one always lands with most of the backlog still to send.
 */
const COLLECTOR_ENV = { CUSTODIAN_COMMIT_TICK_MS: '1000' };

let collector: CollectorProcess;
let enrolled: EnrolledAgent;
/** The DSL reads the timeline: numbered titles such as "diagnostic event 420" match the library. */
let dsl: Record<string, string>;
const agents: AgentProcess[] = [];

beforeEach(async () => {
  collector = await startCollector({ env: COLLECTOR_ENV });
  dsl = await dslHeaders(collector);
  enrolled = await enrolAgent({ collector });
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.kill9();
  await enrolled?.cleanup();
  await collector?.cleanup();
});

async function run(): Promise<AgentProcess> {
  // No DISPLAY: these tests are about delivery, not windows.
  const env = { DISPLAY: '', WAYLAND_DISPLAY: '' };
  const a = await startAgent({ dataDir: enrolled.dataDir, env });
  agents.push(a);
  return a;
}

const diagnostics = (items: TimelineItem[]) =>
  items
    .filter((i) => i.event.activeWindow?.app === 'custodian-diagnostic')
    .map((i) => i.event.activeWindow!.title!);

function expectEachOnce(titles: string[], n: number): void {
  const counts = new Map<string, number>();
  for (const t of titles) counts.set(t, (counts.get(t) ?? 0) + 1);
  const dupes = [...counts].filter(([, c]) => c > 1);
  expect(dupes).toEqual([]);
  for (let i = 1; i <= n; i++)
    expect(counts.has(`diagnostic event ${i} of ${n}`), `event ${i} delivered`).toBe(true);
  expect(titles).toHaveLength(n);
}

/** Waits until n diagnostic events are at the collector, then checks each arrived exactly once. */
async function expectAllDelivered(n: number, what: string): Promise<void> {
  const items = await waitFor(
    async () => {
      const t = await timeline(collector, enrolled.deviceId, undefined, dsl);
      return diagnostics(t).length >= n ? t : undefined;
    },
    what,
    120_000,
    1_000,
  );
  expectEachOnce(diagnostics(items), n);
  expect(deliveryProblems(items)).toEqual([]);
}

async function emit(n: number): Promise<void> {
  await agentCli(['emit-test-events', String(n), '--data-dir', enrolled.dataDir]);
}

// Longer than the waits inside (up to 60 s for the first events, 120 s for all of them), so a
// slow run fails with what it was waiting for, not with a bare test timeout.
describe('delivery across failures', { timeout: 240_000 }, () => {
  it('10,000 events generated while the collector is down are all delivered, once each', async () => {
    const first = await run();
    // Headless (no DISPLAY): it runs, and says why the display-bound capabilities are missing.
    const caps = await waitFor(
      async () =>
        (await timeline(collector, enrolled.deviceId, undefined, dsl)).find((i) => i.kind === 'capabilities'),
      'capability report',
    );
    const list = (
      caps.event['capabilities'] as { capabilities: { name: string; available?: boolean; reason: string }[] }
    ).capabilities;
    expect(list.find((c) => c.name === 'active_window')).toMatchObject({ reason: 'no X display' });
    expect(list.find((c) => c.name === 'active_window')?.available).toBeFalsy();
    await collector.kill9();
    await first.stop();
    await emit(10_000);
    const agent = await run();
    await agent.waitForLog(/"msg":"collector unreachable; will retry"/);
    const st = await agentCli(['status', '--json', '--data-dir', enrolled.dataDir]);
    expect(JSON.parse(st.stdout).outboxDepth).toBeGreaterThanOrEqual(10_000);
    await collector.restart();
    await expectAllDelivered(10_000, '10,000 diagnostic events at the collector');
  });

  it('collector killed mid-stream and restarted: every event exactly once', async () => {
    await emit(BACKLOG);
    await run();
    await firstEventsStored();
    await collector.kill9();
    // Read from its disk while it is down: what a restart adds must not count as "at the kill".
    const atKill = (
      await storedTimeline({ dataDir: collector.dataDir, keyFile: collector.keyFile }, enrolled.deviceId)
    ).filter(isDiagnostic).length;
    console.log(`delivery: collector killed with ${atKill} of ${BACKLOG} events stored`);
    expect(atKill, 'events had reached the collector before the kill').toBeGreaterThan(0);
    expect(atKill, 'the kill landed mid-stream').toBeLessThan(BACKLOG);
    await collector.restart();
    await expectAllDelivered(BACKLOG, 'all 20,000 events after the collector came back');
  });

  it('agent killed with kill -9 mid-stream and restarted: every event exactly once', async () => {
    await emit(BACKLOG);
    const agent = await run();
    await firstEventsStored();
    await agent.kill9();
    const atKill = diagnostics(await timeline(collector, enrolled.deviceId, undefined, dsl)).length;
    console.log(`delivery: agent killed with ${atKill} of ${BACKLOG} events at the collector`);
    expect(atKill, 'events had reached the collector before the kill').toBeGreaterThan(0);
    expect(atKill, 'the kill landed mid-stream').toBeLessThan(BACKLOG);
    await run();
    await expectAllDelivered(BACKLOG, 'all 20,000 events after the agent restarted');
  });
});

/** Polls (every 50 ms) until the collector has stored diagnostic events: the stream has begun. */
async function firstEventsStored(): Promise<void> {
  await waitFor(
    async () => diagnostics(await timeline(collector, enrolled.deviceId, ['activeWindow'], dsl)).length > 0,
    'the first diagnostic events at the collector',
    60_000,
    50,
  );
}

function isDiagnostic(r: TimelineRecord): boolean {
  return v1.Event.decode(r.event).activeWindow?.app === 'custodian-diagnostic';
}
