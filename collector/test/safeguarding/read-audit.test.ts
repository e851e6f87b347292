// Reads are audited too (issue 19 item 7): every view of safeguarding content over real HTTP
// writes exactly one audit record (who, what, when) before it is answered, and governors see
// those views counted by role and month with no names and no targets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_ACTIONS } from '../../src/auth/audit.ts';
import { MODULES } from '../../src/modules.ts';
import type { Alert, AuditRecord, Device } from '../../src/store/types.ts';
import { type Client, createStaffClient } from '../auth/harness.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';
import { makePng, seedAlert, seedDevice } from './seed.ts';

let h: Harness;
let dsl: Client;
let it_: Client;
let governor: Client;
let device: Device;
let alert: Alert;
let incidentId: string;

beforeAll(async () => {
  h = await startHarness({ modules: MODULES });
  dsl = await createStaffClient(h.url, h.adminToken, 'reads-dsl', 'dsl');
  it_ = await createStaffClient(h.url, h.adminToken, 'reads-it', 'it');
  governor = await createStaffClient(h.url, h.adminToken, 'reads-gov', 'governor');
  device = await seedDevice(h.app.store, { hostname: 'PUPIL-LAPTOP-7' });
  alert = await seedAlert(h.app.store, { device, screenshot: makePng(4, 4, [200, 0, 0]) });
  const created = await dsl.req('POST', '/api/v1/incidents', {
    title: 'Concern about a pupil',
    occurredAt: Date.now() - 3_600_000,
  });
  expect(created.status, created.text).toBe(201);
  incidentId = created.json.incident.id;
}, 60_000);
afterAll(async () => {
  await h?.close();
});

async function allAudit(): Promise<AuditRecord[]> {
  return (await h.app.store.audit.list({ limit: 1000 })).records;
}

/** Runs one read and returns the audit records it added (newest first). */
async function recordsOf(read: () => Promise<{ status: number }>, status = 200): Promise<AuditRecord[]> {
  const before = new Set((await allAudit()).map((r) => r.id));
  const res = await read();
  expect(res.status).toBe(status);
  return (await allAudit()).filter((r) => !before.has(r.id));
}

/** An SSE stream: the status line is the answer; the stream is cut at once. */
async function openFeed(c: Client, path = '/api/v1/alerts/live') {
  const ac = new AbortController();
  const res = await fetch(`${h.url}${path}`, {
    headers: { cookie: c.cookie ?? '' },
    signal: ac.signal,
  });
  ac.abort();
  return { status: res.status };
}

describe('every read of safeguarding content writes exactly one audit record', () => {
  const cases: [string, () => Promise<{ status: number }>, string, string][] = [];
  beforeAll(() => {
    const blobId = alert.screenshotBlobIds[0] as string;
    cases.push(
      ['alert detail', () => dsl.req('GET', `/api/v1/alerts/${alert.id}`), 'view.alert', `alert:${alert.id}`],
      // The console opens an alert with POST …/viewed: one record (not also `alert.viewed`).
      [
        'alert opened in the console',
        () => dsl.req('POST', `/api/v1/alerts/${alert.id}/viewed`, {}),
        'view.alert',
        `alert:${alert.id}`,
      ],
      [
        'alert opened again by the same DSL',
        () => dsl.req('POST', `/api/v1/alerts/${alert.id}/viewed`, {}),
        'view.alert',
        `alert:${alert.id}`,
      ],
      ['alert queue', () => dsl.req('GET', '/api/v1/alerts'), 'view.alert-queue', 'alerts:queue'],
      ['alert feed', () => openFeed(dsl), 'view.alert-feed', 'alerts:feed'],
      [
        'live device feed (DSL: flag content)',
        () => openFeed(dsl, '/api/v1/live'),
        'view.live-feed',
        'live:feed',
      ],
      [
        'screenshot',
        () => dsl.req('GET', `/api/v1/alerts/${alert.id}/screenshots/${blobId}`),
        'screenshot.viewed',
        `alert:${alert.id}`,
      ],
      [
        'device timeline (DSL)',
        () => dsl.req('GET', `/api/v1/devices/${device.id}/timeline`),
        'view.device-timeline',
        `device:${device.id}`,
      ],
      ['incident log', () => dsl.req('GET', '/api/v1/incidents'), 'view.incident-log', 'incidents:list'],
      [
        'incident',
        () => dsl.req('GET', `/api/v1/incidents/${incidentId}`),
        'view.incident',
        `incident:${incidentId}`,
      ],
      [
        'alert evidence export',
        () => dsl.req('GET', `/api/v1/alerts/${alert.id}/export`),
        'evidence.exported',
        `alert:${alert.id}`,
      ],
      [
        'incident evidence export (no linked alerts)',
        () => dsl.req('GET', `/api/v1/incidents/${incidentId}/export`),
        'evidence.exported',
        `incident:${incidentId}`,
      ],
    );
  });

  it('for each read: one record, the reader, the action, the target, the time, the role', async () => {
    expect(cases.length).toBe(12);
    for (const [what, read, action, target] of cases) {
      const t0 = Date.now();
      const added = await recordsOf(read);
      expect(
        added.map((r) => [r.action, r.target]),
        what,
      ).toEqual([[action, target]]);
      const [r] = added as [AuditRecord];
      expect(r.actor, what).toBe('reads-dsl');
      expect(r.details, what).toMatchObject({ role: 'dsl', actorKind: 'staff' });
      expect(r.at, what).toBeGreaterThanOrEqual(t0);
      expect(r.ip, what).toBe('127.0.0.1');
      expect(READ_ACTIONS, what).toContain(action);
    }
  });

  it('opening an alert answers its detail and marks the history once per person', async () => {
    const open = await dsl.req('POST', `/api/v1/alerts/${alert.id}/viewed`, {});
    expect(open.status).toBe(200);
    expect(open.json.alert.id).toBe(alert.id);
    expect(open.json.device).toBeDefined();
    const viewed = open.json.alert.history.filter((e: { action: string }) => e.action === 'viewed');
    expect(viewed.map((e: { actor: string }) => e.actor)).toEqual(['reads-dsl']);
    expect((await allAudit()).some((r) => r.action === 'alert.viewed')).toBe(false);
  });

  it("IT looking at a device timeline is recorded too (IT's view has no safeguarding content)", async () => {
    const added = await recordsOf(() => it_.req('GET', `/api/v1/devices/${device.id}/timeline`));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      actor: 'reads-it',
      action: 'view.device-timeline',
      target: `device:${device.id}`,
      details: { role: 'it', safeguardingContent: false },
    });
  });

  it('a timeline page of inventory or USB events only is not a view of activity; one with windows is', async () => {
    const inv = await recordsOf(() =>
      it_.req('GET', `/api/v1/devices/${device.id}/timeline?kinds=inventory`),
    );
    expect(inv).toEqual([]);
    const usb = await recordsOf(() =>
      dsl.req('GET', `/api/v1/devices/${device.id}/timeline?kinds=usbAttached,usbRemoved`),
    );
    expect(usb).toEqual([]);
    const windows = await recordsOf(() =>
      dsl.req('GET', `/api/v1/devices/${device.id}/timeline?kinds=inventory,activeWindow`),
    );
    expect(windows.map((r) => r.action)).toEqual(['view.device-timeline']);
  });

  it("IT's live feed (flag content redacted) is not a read of safeguarding content", async () => {
    expect(await recordsOf(() => openFeed(it_, '/api/v1/live'))).toEqual([]);
  });

  it('a refused read (IT asking for an alert) or a missing alert writes no read record', async () => {
    const refused = await recordsOf(() => it_.req('GET', `/api/v1/alerts/${alert.id}`), 403);
    expect(refused).toEqual([]);
    const missing = await recordsOf(() => dsl.req('GET', '/api/v1/alerts/no-such-alert'), 404);
    expect(missing).toEqual([]);
  });
});

describe("governors' summary of the reads", () => {
  it('counts views by role and month, with no names, targets or addresses', async () => {
    const reads = (await allAudit()).filter((r) => READ_ACTIONS.includes(r.action));
    const byRole = (role: string) => reads.filter((r) => r.details?.['role'] === role).length;
    const res = await governor.req('GET', '/api/v1/reports/reads');
    expect(res.status).toBe(200);
    const month = Object.keys(res.json.byRoleMonth.dsl).find((m) => res.json.byRoleMonth.dsl[m] > 0);
    expect(month).toMatch(/^\d{4}-\d{2}$/);
    expect(res.json.byRoleMonth.dsl[month as string]).toBe(byRole('dsl'));
    expect(res.json.byRoleMonth.it[month as string]).toBe(byRole('it'));
    expect(byRole('dsl')).toBeGreaterThanOrEqual(10);
    expect(res.json.total).toBe(reads.length);
    expect(res.json.byKind).toMatchObject({ alert: 4, screenshot: 1, 'device timeline': 3, incident: 1 });
    const text = res.text;
    for (const secret of [
      'reads-dsl',
      'reads-it',
      alert.id,
      device.id,
      'PUPIL-LAPTOP-7',
      incidentId,
      '127.0.0.1',
    ])
      expect(text).not.toContain(secret);
    // The console's reports page fetches the same route for every reader.
    for (const c of [dsl, it_]) {
      const r = await c.req('GET', '/api/v1/reports/reads');
      expect(r.status).toBe(c === it_ ? 403 : 200);
    }
  });

  it('an incident export counts once in the summary, though audited on the incident and each linked alert', async () => {
    const linked = await dsl.req('POST', `/api/v1/alerts/${alert.id}/escalate`, { incidentId });
    expect(linked.status, linked.text).toBe(200);
    const before = (await governor.req('GET', '/api/v1/reports/reads')).json.byKind['evidence export'];
    const added = await recordsOf(() => dsl.req('GET', `/api/v1/incidents/${incidentId}/export`));
    expect(added.map((r) => r.target).sort()).toEqual([`alert:${alert.id}`, `incident:${incidentId}`].sort());
    const after = (await governor.req('GET', '/api/v1/reports/reads')).json.byKind['evidence export'];
    expect(after).toBe(before + 1);
  });
});
