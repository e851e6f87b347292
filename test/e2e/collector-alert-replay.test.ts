// Issue 10 item 3, replayed from outside: a real collector process, a foreign `ws` client speaking
// the .proto. The device sends a flag backdated to the year 2000; the DSL grades it, adds a note
// and escalates it to an incident; retention runs; the device replays the same (stream, seq) with
// other content. The alert keeps the DSL's grade, note and incident link, the event is not stored
// a second time, and the implausible clock is recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { createStaff, type Json, staffSession, TestAgent } from './console-helpers.ts';

const Y2000 = Date.UTC(2000, 5, 1, 12, 0, 0);

let collector: CollectorProcess;
let agent: TestAgent;
let dsl: (method: string, path: string, body?: unknown) => Promise<{ status: number; data: Json }>;

function flag(term: string, severity: number, blobIds: string[] = []) {
  return {
    seq: 1,
    timeMs: Y2000,
    flaggedActivity: {
      category: 'self-harm',
      severity,
      matchedTerm: term,
      context: `... ${term} ...`,
      window: { app: 'firefox', title: `${term} - Google Search`, url: '', pid: 1 },
      screenshotBlobIds: blobIds,
      source: 'title',
    },
  };
}

beforeAll(async () => {
  collector = await startCollector();
  dsl = await staffSession(collector, await createStaff(collector, 'dsl-replay', 'dsl'));
  agent = await TestAgent.enrol(collector, 'LAPTOP-RPL');
  await agent.connect();
}, 120_000);

afterAll(async () => {
  await agent?.disconnect();
  await collector?.cleanup();
});

describe('a device cannot rewrite an alert the DSL acted on', () => {
  it('backdated flag, DSL decision, retention, replay of the same (stream, seq): nothing changes', async () => {
    const before = Date.now();
    const first = await agent.sendExact([flag('self harm', 4)]);
    expect(first).toEqual({ seq: 1, duplicates: 0 });

    const list = await dsl('GET', '/alerts');
    expect(list.status).toBe(200);
    expect(list.data.alerts).toHaveLength(1);
    const id = list.data.alerts[0].id as string;
    expect((await dsl('POST', `/alerts/${id}/grade`, { grade: 5, note: 'spoke to pupil' })).status).toBe(200);
    expect((await dsl('POST', `/alerts/${id}/notes`, { text: 'parents informed' })).status).toBe(200);
    const esc = await dsl('POST', `/alerts/${id}/escalate`, { incident: { title: 'Welfare concern' } });
    expect(esc.status).toBe(200);
    const decided = (await dsl('GET', `/alerts/${id}`)).data.alert;
    expect(decided.incidentId).toMatch(/\S/);

    const purge = await fetch(`${collector.url}/api/v1/retention/purge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(purge.status).toBe(200);

    // The replay: same stream, same seq, harmless-looking content and 400 screenshot references.
    const replay = await agent.sendExact([
      flag(
        'nothing to see',
        1,
        Array.from({ length: 400 }, () => 'x'),
      ),
    ]);
    expect(replay).toEqual({ seq: 1, duplicates: 1 });
    // And again on a fresh connection of the same stream.
    await agent.disconnect();
    await agent.connect();
    expect(await agent.sendExact([flag('nothing to see', 1)])).toEqual({ seq: 1, duplicates: 1 });

    const after = (await dsl('GET', `/alerts/${id}`)).data.alert;
    expect(after).toEqual(decided);
    expect(after).toMatchObject({ grade: 5, status: 'escalated', term: 'self harm', severity: 4 });
    expect(after.notes.map((n: Json) => n.text)).toEqual(['spoke to pupil', 'parents informed']);
    const timeline = await dsl('GET', `/devices/${agent.deviceId}/timeline?kinds=flaggedActivity`);
    expect(timeline.data.events).toHaveLength(1);
    expect(timeline.data.events[0].event.flaggedActivity.matchedTerm).toBe('self harm');
    expect((await dsl('GET', '/alerts')).data.alerts).toHaveLength(1);

    // The year-2000 clock is not believed: ordered (and retained) by receive time, original kept.
    const opened = after;
    expect(opened.occurredAt).toBeGreaterThanOrEqual(before);
    expect(opened.history).toContainEqual(
      expect.objectContaining({ action: 'agent-time-implausible', from: Y2000 }),
    );
    const timelineNow = await dsl('GET', `/devices/${agent.deviceId}/timeline?kinds=flaggedActivity`);
    expect(timelineNow.data.events).toHaveLength(1);
    expect(timelineNow.data.events[0].agentTimeMs).toBe(Y2000);
    expect(timelineNow.data.events[0].timeReason).toMatch(/2000-06-01.*before the receive time/);
  });
});
