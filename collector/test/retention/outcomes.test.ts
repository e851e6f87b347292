// Retention for everything (issue 19 item 4) on a real collector with a real level store and a
// fake clock: alerts by the DSL's outcome (false positive short, graded and unreviewed a year,
// escalated 25 years), the safeguarding hold of an open incident, closed incidents, notifications,
// the audit log and the purge records themselves. Alerts come from a real `ws` agent client; the
// DSL decides over HTTP; purges run through POST /api/v1/retention/purge with the admin token.
import { randomUUID } from 'node:crypto';
import type { IEvent } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthModule } from '../../src/auth/index.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { alertIdFor } from '../../src/store/records.ts';
import { type Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { AgentClient } from '../helpers/agent-client.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

const DAY = 86_400_000;
let h: Harness;
let dsl: Client;
let t0: number;
let deviceId: string;
let stream: string;
const ids: Record<'fp' | 'graded' | 'escalated' | 'unreviewed', string> = {
  fp: '',
  graded: '',
  escalated: '',
  unreviewed: '',
};
let incidentId: string;

const flag = (seq: number, term: string, timeMs: number): IEvent => ({
  seq,
  timeMs,
  flaggedActivity: {
    category: 'self-harm',
    severity: 3,
    matchedTerm: term,
    context: term,
    window: { app: 'firefox', title: term, url: '', pid: 1 },
    screenshotBlobIds: [],
    source: 'title',
  },
});

async function purgeAt(at: number) {
  h.clock.now = at;
  const r = await h.api('POST', '/api/v1/retention/purge', {});
  expect(r.status).toBe(200);
  return r.json.run;
}

beforeAll(async () => {
  h = await startHarness({
    modules: [createAuthModule({ scrypt: TEST_SCRYPT, onFirstAdmin: () => undefined }), safeguardingModule],
  });
  dsl = await createStaffClient(h.url, h.adminToken, 'dsl.ret', 'dsl');
  t0 = Date.now();
  const dev = await h.enrol();
  deviceId = dev.deviceId;
  const agent = new AgentClient(h.wsUrl);
  stream = randomUUID();
  await agent.hello(dev.deviceId, dev.deviceKey, stream);
  // Minutes apart, so the evidence window held by the escalated alert covers only its own event.
  const at = (i: number) => t0 - 60 * 60_000 + i * 20 * 60_000;
  await agent.batch(stream, [
    flag(1, 'fp-term', at(0)),
    flag(2, 'graded-term', at(1)),
    flag(3, 'esc-term', at(2)),
    flag(4, 'new-term', at(3)),
  ]);
  agent.close();
  ids.fp = alertIdFor(deviceId, stream, 1);
  ids.graded = alertIdFor(deviceId, stream, 2);
  ids.escalated = alertIdFor(deviceId, stream, 3);
  ids.unreviewed = alertIdFor(deviceId, stream, 4);
  expect(
    (await dsl.req('POST', `/api/v1/alerts/${ids.fp}/false-positive`, { reason: 'song lyric' })).status,
  ).toBe(200);
  expect((await dsl.req('POST', `/api/v1/alerts/${ids.graded}/grade`, { grade: 2 })).status).toBe(200);
  const esc = await dsl.req('POST', `/api/v1/alerts/${ids.escalated}/escalate`, {
    incident: { title: 'concern' },
  });
  expect(esc.status).toBe(200);
  incidentId = esc.json.incident.id;
  await h.app.store.kv('notifications').put(`${String(t0).padStart(15, '0')}-n1`, {
    id: 'n1',
    at: t0,
    to: 'dsl',
    kind: 'test',
    subject: 'a notification',
    details: {},
    deliveredAt: null,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const alive = async () => {
  const out: string[] = [];
  for (const [k, id] of Object.entries(ids)) if (await h.app.store.alerts.get(id)) out.push(k);
  return out;
};

describe('retention by outcome, with the safeguarding hold', () => {
  it('deletes false positives after 30 days and nothing else', async () => {
    const run = await purgeAt(t0 + 31 * DAY);
    expect(run.alertsDeleted).toEqual({ 'false-positive': 1 });
    expect(await alive()).toEqual(['graded', 'escalated', 'unreviewed']);
    expect(run.notificationsDeleted).toBe(0);
  });

  it('deletes graded and unreviewed alerts after a year; the open incident holds its alert and timeline', async () => {
    const run = await purgeAt(t0 + 366 * DAY);
    expect(run.alertsDeleted).toEqual({ graded: 1, new: 1 });
    expect(await alive()).toEqual(['escalated']);
    expect(run.notificationsDeleted).toBe(1);
    // The timeline is past 90 days: only the held alert's own event is left.
    expect(run.held.timelineEvents).toBe(1);
    const left = await h.app.store.timeline.query({ deviceId, limit: 10 });
    expect(left.records.map((r) => r.seq)).toEqual([3]);
    expect(run.cutoffs.incidents).toBe(t0 + 366 * DAY - 9_125 * DAY);
  });

  it('keeps an escalated alert past 25 years while its incident is open, then deletes both once closed', async () => {
    const at = t0 + 9_126 * DAY;
    const held = await purgeAt(at);
    expect(held.alertsDeleted).toEqual({});
    expect(held.held).toMatchObject({ alerts: 1, incidents: 1 });
    expect(held.incidentsDeleted).toBe(0);
    expect(await alive()).toEqual(['escalated']);
    // Seven-year logs: every audit record of the real "now" and both earlier purge records go.
    expect(held.auditRecordsDeleted).toBeGreaterThan(5);
    expect(held.purgeRecordsDeleted).toBe(2);

    const closed = await dsl.req('PATCH', `/api/v1/incidents/${incidentId}`, { status: 'closed' });
    expect(closed.status).toBe(200);
    const run = await purgeAt(at + 1);
    expect(run.alertsDeleted).toEqual({ escalated: 1 });
    expect(run.incidentsDeleted).toBe(1);
    expect(await alive()).toEqual([]);
    expect(await h.app.store.kv('incidents').get(incidentId)).toBeUndefined();
    // Each run is recorded (what, how many) and audited.
    const runs = await h.api('GET', '/api/v1/retention/runs');
    expect(runs.json.runs[0]).toMatchObject({
      id: run.id,
      incidentsDeleted: 1,
      alertsDeleted: { escalated: 1 },
    });
    expect(runs.json.retention).toMatchObject({
      alertFalsePositiveDays: 30,
      incidentDays: 9_125,
      auditDays: 2_557,
    });
    const audit = await h.app.store.audit.list({ action: 'retention.purge' });
    expect(audit.records[0]?.details).toMatchObject({ runId: run.id, incidentsDeleted: 1 });
  });
});
