// Incident log (create, update with history, validation) and the termly report, including the
// anonymised governors' variant, over real HTTP on a real level store.

import { defaultPolicy } from '@custodian/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildReport,
  currentTerm,
  monthOf,
  monthsBetween,
  nonCompliance,
  protectSplits,
} from '../../src/safeguarding/reports.ts';
import { statusOp } from '../../src/store/records.ts';
import type { Alert, Device } from '../../src/store/types.ts';
import { type Client, type Harness, startHarness, userClient } from '../auth/harness.ts';
import { seedAlert, seedDevice } from './seed.ts';

describe('report arithmetic (pure)', () => {
  it('counts months in UK time and lists the months of a period', () => {
    expect(monthOf(Date.UTC(2026, 8, 30, 23, 30))).toBe('2026-10'); // 00:30 BST on 1 Oct
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 30))).toBe('2026-12'); // GMT in winter
    expect(monthsBetween(Date.UTC(2026, 8, 1), Date.UTC(2027, 0, 1))).toEqual([
      '2026-09',
      '2026-10',
      '2026-11',
      '2026-12',
    ]);
    expect(currentTerm(Date.UTC(2026, 10, 22)).label).toBe('Autumn term 2026');
  });

  it('names the non-compliance reasons from policy, capabilities and failures', () => {
    const device = { id: 'd', revokedAt: undefined } as unknown as Device;
    const policy = defaultPolicy();
    expect(nonCompliance({ device, status: undefined, policy, lockFailures: 0, usbFailures: 0 })).toEqual([]);
    const relaxed = {
      ...policy,
      usb: { ...policy.usb, mode: 'allow' as const },
      idleLock: { ...policy.idleLock, reportOnly: true },
    };
    const status = {
      deviceId: 'd',
      connected: true,
      usbVolumes: [],
      capabilities: [
        { name: 'lock', available: false, reason: 'no locker' },
        { name: 'usb_control', available: false, reason: 'not root' },
      ],
    };
    expect(nonCompliance({ device, status, policy: relaxed, lockFailures: 2, usbFailures: 1 })).toEqual([
      'lock-failed',
      'no-lock-capability',
      'idle-lock-disabled',
      'usb-enforcement-failed',
      'no-usb-control',
      'usb-relaxed',
    ]);
    const facts = {
      from: 0,
      to: Date.UTC(2030, 0, 1),
      alerts: [],
      incidents: [],
      devices: [{ device, status, policy, lockFailures: 0, usbFailures: 0 }],
    };
    const report = buildReport(facts, false);
    expect(report.devices).toMatchObject({
      total: 1,
      nonCompliant: 1,
      idleLockNonCompliant: 1,
      usbNonCompliant: 1,
    });
    expect('list' in report.devices).toBe(true);
    const governors = buildReport(facts, true);
    expect(governors.devices).toMatchObject({
      total: 1,
      nonCompliant: { suppressed: true },
      idleLockNonCompliant: { suppressed: true },
      usbNonCompliant: { suppressed: true },
    });
    expect('list' in governors.devices).toBe(false);
  });
});

/** Paths of every count from 1 to 2 in a report (period timestamps are not counts). */
function smallCounts(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return value >= 1 && value <= 2 ? [path] : [];
  if (typeof value !== 'object' || value === null || path === 'period') return [];
  return Object.entries(value).flatMap(([k, v]) => smallCounts(v, path ? `${path}.${k}` : k));
}

describe('small-number suppression for governors (pure)', () => {
  const HIDDEN = { suppressed: true };
  const month = Date.UTC(2026, 9, 10);
  const alert = (category: string, severity: number, status: Alert['status'] = 'new') =>
    ({ occurredAt: month, category, severity, status }) as unknown as Alert;
  const input = (alerts: Alert[]) => ({
    from: Date.UTC(2026, 8, 1),
    to: Date.UTC(2027, 0, 1),
    alerts,
    incidents: [],
    devices: [],
  });

  it('shows 0 and 3+ exactly, hides 1 and 2, and keeps exact figures for the DSL', () => {
    const alerts = [
      ...Array.from({ length: 5 }, () => alert('bullying', 3)),
      ...Array.from({ length: 4 }, () => alert('drugs', 4)),
      alert('self-harm', 5),
    ];
    const g = buildReport(input(alerts), true);
    const cells = g.alerts.byCategoryMonth;
    expect(cells['self-harm']?.['2026-10']).toEqual(HIDDEN);
    // One hidden cell could be worked out from the rest, so the next smallest goes too ...
    expect(cells['drugs']?.['2026-10']).toEqual(HIDDEN);
    expect(cells['bullying']?.['2026-10']).toBe(5);
    expect(cells['bullying']?.['2026-09']).toBe(0);
    // ... and so do the total and two cells of every other split of the same alerts.
    expect(g.alerts.total).toEqual(HIDDEN);
    expect(g.alerts.bySeverity).toEqual({ '1': 0, '2': 0, '3': 5, '4': HIDDEN, '5': HIDDEN });
    expect(g.alerts.byStatus.new).toEqual(HIDDEN);
    expect(g.alerts.falsePositives).toBe(0);
    expect(smallCounts(g)).toEqual([]);

    const dsl = buildReport(input(alerts), false);
    expect(dsl.alerts.total).toBe(10);
    expect(dsl.alerts.byCategoryMonth['self-harm']?.['2026-10']).toBe(1);
    expect(dsl.alerts.bySeverity['5']).toBe(1);
  });

  it('counts alerts by where the words were seen, hidden like every other split', () => {
    const seen = (source: string, n: number) =>
      Array.from({ length: n }, () => ({ ...alert('suicide', 4), source }) as Alert);
    const alerts = [...seen('typed', 4), ...seen('screen', 3), ...seen('title', 1)];
    const dsl = buildReport(input(alerts), false);
    expect(dsl.alerts.bySource).toEqual({ title: 1, url: 0, page: 0, typed: 4, screen: 3, other: 0 });
    const g = buildReport(input(alerts), true);
    expect(g.alerts.bySource).toEqual({ title: HIDDEN, url: 0, page: 0, typed: 4, screen: HIDDEN, other: 0 });
    expect(smallCounts(g)).toEqual([]);
    // Alerts from agents that did not send a source count as "other".
    expect(buildReport(input([alert('drugs', 4)]), false).alerts.bySource.other).toBe(1);
  });

  it('leaves a report with no small numbers exact, total included', () => {
    const alerts = [
      ...Array.from({ length: 3 }, () => alert('bullying', 3)),
      ...Array.from({ length: 4 }, () => alert('drugs', 4)),
    ];
    const g = buildReport(input(alerts), true);
    expect(g.alerts.total).toBe(7);
    expect(g.alerts.byCategoryMonth['bullying']?.['2026-10']).toBe(3);
    expect(g.alerts.bySeverity['4']).toBe(4);
    // A single false positive is a small number of its own and hides the total (7 + 1).
    const withFp = buildReport(input([...alerts, alert('drugs', 4, 'false-positive')]), true);
    expect(withFp.alerts.falsePositives).toEqual(HIDDEN);
    expect(withFp.alerts.byStatus['false-positive']).toEqual(HIDDEN);
    expect(withFp.alerts.total).toEqual(HIDDEN);
    expect(withFp.alerts.byCategoryMonth['drugs']?.['2026-10']).toBe(4);
  });

  it('hides at least two cells of every split, and nothing when nothing is small', () => {
    expect(protectSplits([{ a: 1, b: 7, c: 4, d: 0 }, { x: 12 }])).toEqual({
      hidden: true,
      splits: [{ a: HIDDEN, b: 7, c: HIDDEN, d: 0 }, { x: HIDDEN }],
    });
    expect(protectSplits([{ a: 3, b: 0 }])).toEqual({ hidden: false, splits: [{ a: 3, b: 0 }] });
  });
});

describe('incidents and reports over HTTP', () => {
  let h: Harness;
  let dsl: Client;
  let gov: Client;
  let device: Device;

  beforeAll(async () => {
    h = await startHarness();
    dsl = await userClient(h, 'dsl.inc', 'dsl');
    gov = await userClient(h, 'gov.inc', 'governor');
    device = await seedDevice(h.store, { hostname: 'HOST-SECRET-NAME' });
    const now = Date.now();
    await seedAlert(h.store, {
      device,
      category: 'self-harm',
      term: 'cutting',
      title: 'Pupil Name cutting',
      time: now - 5_000,
      user: 'pupil.named',
    });
    const fp = await seedAlert(h.store, { device, category: 'drugs', term: 'weed', time: now - 4_000 });
    await h.store.alerts.update(fp.id, (a) => ({ ...a, status: 'false-positive' }));
    // The device reported that it cannot lock the screen (as ingest persists live status).
    await h.store.engine.batch(
      [
        statusOp(h.store.cipher, {
          deviceId: device.id,
          connected: true,
          usbVolumes: [],
          hostname: 'HOST-SECRET-NAME',
          loggedInUser: 'pupil.named',
          capabilities: [{ name: 'lock', available: false, reason: 'no screen locker installed' }],
        }),
      ],
      { sync: true },
    );
  });
  afterAll(async () => {
    await h.close();
  });

  it('creates and updates an incident, keeping the history of every change', async () => {
    const bad = await dsl.req('POST', '/api/v1/incidents', { title: 'x', referral: { agency: 'fbi' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    const created = await dsl.req('POST', '/api/v1/incidents', {
      title: 'Online bullying in Y9',
      description: 'Messages in a group chat',
      peopleInvolved: [{ name: 'Sam', role: 'pupil' }],
    });
    expect(created.status).toBe(201);
    const id = created.json.incident.id as string;
    expect(created.json.incident).toMatchObject({
      status: 'open',
      outcome: 'pending',
      referral: { agency: 'none' },
    });
    const upd = await dsl.req('PATCH', `/api/v1/incidents/${id}`, {
      actionsTaken: 'Parents called',
      referral: { agency: 'lado', reference: 'L-77' },
      outcome: 'referred-externally',
      status: 'closed',
    });
    expect(upd.status).toBe(200);
    const hist = upd.json.incident.history;
    expect(hist).toHaveLength(2);
    expect(hist[1].actor).toBe('dsl.inc');
    expect(hist[1].changes.status).toEqual({ from: 'open', to: 'closed' });
    expect(hist[1].changes.referral.to).toMatchObject({ agency: 'lado', reference: 'L-77' });
    expect((await dsl.req('PATCH', `/api/v1/incidents/${id}`, { linkedAlertIds: ['x'] })).status).toBe(400);
    const list = await dsl.req('GET', '/api/v1/incidents?status=closed');
    expect(list.json.incidents.map((i: { id: string }) => i.id)).toEqual([id]);
    const trail = await h.store.audit.list({ target: `incident:${id}` });
    expect(trail.records.map((r) => r.action)).toEqual(['incident.updated', 'incident.created']);
    expect((await gov.req('GET', `/api/v1/incidents/${id}`)).status).toBe(403);
  });

  it('gives governors counts only, and the DSL the named device list', async () => {
    const g = await gov.req('GET', '/api/v1/reports/termly');
    expect(g.status).toBe(200);
    expect(g.json.anonymised).toBe(true);
    // One self-harm alert, one false positive, one incident: all small numbers, none shown.
    const HIDDEN = { suppressed: true };
    expect(g.json.suppression).toEqual({ below: 3 });
    expect(g.json.alerts.total).toEqual(HIDDEN);
    expect(g.json.alerts.falsePositives).toEqual(HIDDEN);
    expect(g.json.alerts.byCategoryMonth['self-harm'][monthOf(Date.now())]).toEqual(HIDDEN);
    expect(g.json.alerts.byCategoryMonth.drugs).toBeUndefined(); // false positives are not trends
    expect(g.json.incidents.byOutcome['referred-externally']).toEqual(HIDDEN);
    expect(g.json.incidents.total).toEqual(HIDDEN);
    expect(smallCounts(g.json)).toEqual(['devices.total']); // the fleet size, not children
    for (const secret of [
      'HOST-SECRET-NAME',
      'pupil.named',
      'Pupil Name',
      'cutting',
      'Sam',
      device.id,
      'dsl.inc',
    ])
      expect(g.text).not.toContain(secret);
    // A governor cannot ask for the full variant.
    const forced = await gov.req('GET', '/api/v1/reports/termly?anonymised=0');
    expect(forced.json.anonymised).toBe(true);

    expect(g.json.devices).toMatchObject({
      total: 1,
      nonCompliant: HIDDEN,
      idleLockNonCompliant: HIDDEN,
      usbNonCompliant: 0,
    });
    expect(g.json.devices.byReason['no-lock-capability']).toEqual(HIDDEN);
    expect(g.json.devices.list).toBeUndefined();

    const d = await dsl.req('GET', '/api/v1/reports/termly');
    expect(d.json.anonymised).toBe(false);
    // The DSL keeps the exact figures.
    expect(d.json.suppression).toBeUndefined();
    expect(d.json.alerts.total).toBe(2);
    expect(d.json.alerts.falsePositives).toBe(1);
    expect(d.json.alerts.byCategoryMonth['self-harm'][monthOf(Date.now())]).toBe(1);
    expect(d.json.incidents.byOutcome['referred-externally']).toBe(1);
    expect(d.json.devices).toMatchObject({ nonCompliant: 1, idleLockNonCompliant: 1, usbNonCompliant: 0 });
    // The DSL's preview of the governors' variant is suppressed the same way.
    const preview = await dsl.req('GET', '/api/v1/reports/termly?anonymised=1');
    expect(preview.json.alerts.total).toEqual(HIDDEN);
    expect(d.json.devices.list).toEqual([
      { deviceId: device.id, hostname: 'HOST-SECRET-NAME', kind: 'school', reasons: ['no-lock-capability'] },
    ]);
    const bad = await dsl.req('GET', '/api/v1/reports/termly?from=2026-12-01&to=2026-01-01');
    expect(bad.status).toBe(400);
  });
});
