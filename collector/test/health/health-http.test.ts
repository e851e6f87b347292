// Device health and lifecycle through the real app over HTTP, with a foreign `ws` agent client and
// a fake clock: a session that ends without the agent's shutdown notice becomes one health alert
// (one IT notification, identifiers only) after N minutes in school hours and resolves itself when
// the device is back; a clean stop is "offline"; acknowledge/resolve are audited with who and
// when; lock failures; the daily digest; stale devices and bulk retirement of leavers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATIONS_NS, type StaffNotification } from '../../src/auth/notifications.ts';
import { installHealth } from '../../src/health/index.ts';
import { AgentClient, heartbeat, newStreamId } from '../helpers/agent-client.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
const MIN = 60_000;
let t = Date.now();

beforeAll(async () => {
  h = await startHarness({
    modules: [
      { name: 'health', install: (app) => void installHealth(app, () => h?.clock.now ?? Date.now()) },
    ],
    config: (c) => {
      c.health.checkIntervalMs = 3_600_000; // checks run on demand in this test
    },
  });
  h.clock.now = t;
  const res = await h.api('PUT', '/api/v1/device-health/settings', {
    schoolHours: { timeZone: 'UTC', days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '24:00' },
    offlineMinutes: 5,
  });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await h?.close();
});

const advance = (ms: number) => {
  t += ms;
  h.clock.now = t;
};
const check = async () => (await h.api('POST', '/api/v1/device-health/check')).json;
const alertsOf = async (deviceId: string, state = 'open,acknowledged,resolved') =>
  (await h.api('GET', `/api/v1/device-health/alerts?deviceId=${deviceId}&state=${state}`)).json.alerts;
const itNotices = async () =>
  (await h.app.store.kv<StaffNotification>(NOTIFICATIONS_NS).list())
    .map((r) => r.value)
    .filter((n) => n.to === 'it');

async function session(deviceId: string, deviceKey: string, stream = newStreamId()) {
  const c = new AgentClient(h.wsUrl);
  await c.hello(deviceId, deviceKey, stream);
  return { c, stream };
}
const disconnected = async (deviceId: string) => {
  for (let i = 0; i < 200; i++) {
    if (!h.app.status.get(deviceId).connected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('still connected');
};

describe('device health over HTTP', () => {
  it('silence without agentStopping → one alert after N minutes, one IT notice; back online → resolved', async () => {
    const dev = await h.enrol({ hostname: 'suicide-note-host' });
    const { c, stream } = await session(dev.deviceId, dev.deviceKey);
    await c.batch(stream, [heartbeat(1, t)]);
    c.ws.terminate(); // no close frame, no goodbye: as a killed agent
    await disconnected(dev.deviceId);
    advance(4 * MIN);
    expect((await check()).opened).toBe(0);
    advance(2 * MIN);
    expect(await check()).toMatchObject({ opened: 1 });
    expect(await check()).toMatchObject({ opened: 0 }); // deduplicated while open
    const [a] = await alertsOf(dev.deviceId);
    expect(a).toMatchObject({
      kind: 'agent-stopped',
      state: 'open',
      deviceId: dev.deviceId,
      details: { disconnectCode: 1006 },
    });
    expect(a.summary).toContain('connection dropped without a close');
    // The hostname matches the safeguarding library: not shown to IT or admins in the queue either.
    expect(a.hostname).toBe('');
    const notices = (await itNotices()).filter((n) => n.details['deviceId'] === dev.deviceId);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ kind: 'health.agent-stopped', details: { healthAlertId: a.id } });
    // Identifiers only: the hostname (device text) is not in the notice.
    expect(JSON.stringify(notices[0])).not.toContain('suicide');

    const again = await session(dev.deviceId, dev.deviceKey, stream);
    expect(await check()).toMatchObject({ resolved: 1 });
    expect((await alertsOf(dev.deviceId))[0]).toMatchObject({ state: 'resolved', resolvedBy: 'system' });
    again.c.close();
    await disconnected(dev.deviceId);
  });

  it('a clean stop (agentStopping) is "offline"; acknowledge and resolve are audited with who and when', async () => {
    const dev = await h.enrol();
    const { c, stream } = await session(dev.deviceId, dev.deviceKey);
    await c.batch(stream, [{ seq: 1, timeMs: t, agentStopping: { reason: 'SIGTERM' } }]);
    c.close();
    await disconnected(dev.deviceId);
    advance(6 * MIN);
    await check();
    const [a] = await alertsOf(dev.deviceId);
    expect(a).toMatchObject({
      kind: 'offline',
      state: 'open',
      details: { cleanStop: true },
      hostname: 'host-2',
    });

    const ack = await h.api('POST', `/api/v1/device-health/alerts/${a.id}/acknowledge`, {
      note: 'on the trolley',
    });
    expect(ack.status).toBe(200);
    expect(ack.json.alert).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: 'admin-token',
      acknowledgedAt: t,
    });
    expect((await h.api('POST', `/api/v1/device-health/alerts/${a.id}/acknowledge`, {})).status).toBe(409);
    const res = await h.api('POST', `/api/v1/device-health/alerts/${a.id}/resolve`, { note: 'charged' });
    expect(res.json.alert).toMatchObject({
      state: 'resolved',
      resolvedBy: 'admin-token',
      resolution: 'charged',
    });
    const second = await h.api('POST', `/api/v1/device-health/alerts/${a.id}/resolve`, {});
    expect(second.status).toBe(409);
    expect(second.json.error.code).toBe('CUST_ERR_CONFLICT');
    expect((await h.api('POST', '/api/v1/device-health/alerts/nope/resolve', {})).status).toBe(404);
    // Resolved by IT while still offline: the same episode does not reopen it.
    advance(10 * MIN);
    expect((await check()).opened).toBe(0);
    const audit = (await h.app.store.audit.list({ target: `device:${dev.deviceId}` })).records;
    expect(audit.map((r: { action: string }) => r.action)).toEqual(
      expect.arrayContaining(['health.open', 'health.acknowledge', 'health.resolve']),
    );
    expect(audit.find((r: { action: string }) => r.action === 'health.resolve')).toMatchObject({
      actor: 'admin-token',
      details: { healthAlertId: a.id, note: 'charged' },
    });
  });

  it('lock failing repeatedly opens an alert; a lock that works resolves it', async () => {
    const dev = await h.enrol();
    const { c, stream } = await session(dev.deviceId, dev.deviceKey);
    const fail = (seq: number) => ({
      seq,
      timeMs: t,
      lockFailed: { method: 'i3lock', reason: 'no display', attempt: seq },
    });
    await c.batch(stream, [fail(1), fail(2)]);
    await check();
    expect(await alertsOf(dev.deviceId)).toEqual([]);
    await c.batch(stream, [fail(3)]);
    await check();
    expect((await alertsOf(dev.deviceId))[0]).toMatchObject({ kind: 'lock-failing', state: 'open' });
    await c.batch(stream, [{ seq: 4, timeMs: t, screenLocked: { method: 'i3lock', attempt: 4 } }]);
    await check();
    expect((await alertsOf(dev.deviceId))[0]).toMatchObject({ kind: 'lock-failing', state: 'resolved' });
    c.close();
    await disconnected(dev.deviceId);
  });

  it('the daily digest goes once a day', async () => {
    const put = await h.api('PUT', '/api/v1/device-health/settings', {
      digest: { enabled: true, at: '00:00' },
    });
    expect(put.json.settings.digest).toEqual({ enabled: true, at: '00:00' });
    expect((await check()).digestSent).toBe(true);
    expect((await check()).digestSent).toBe(false);
    const digest = (await itNotices()).filter((n) => n.kind === 'health.digest');
    expect(digest).toHaveLength(1);
    expect(digest[0]?.subject).toMatch(/open item\(s\), 0 stale device\(s\)$/);
    expect(digest[0]?.details).toMatchObject({ staleDevices: 0 });
  });

  it('settings are checked: time zone, hours, unknown fields', async () => {
    const bad = await h.api('PUT', '/api/v1/device-health/settings', {
      schoolHours: { timeZone: 'Mars/Base' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('body.schoolHours.timeZone');
    const order = await h.api('PUT', '/api/v1/device-health/settings', {
      schoolHours: { start: '15:00', end: '09:00' },
    });
    expect(order.status).toBe(400);
    expect((await h.api('PUT', '/api/v1/device-health/settings', { offlineMinutess: 3 })).status).toBe(400);
  });
});

describe('lifecycle over HTTP', () => {
  it('stale devices are listed and reported; bulk retire needs a reason and is audited per device', async () => {
    const a = await h.enrol({ hostname: '=cmd|calc' });
    const b = await h.enrol();
    advance(15 * 86_400_000);
    const fresh = await h.enrol();
    const stale = (await h.api('GET', '/api/v1/lifecycle/stale')).json;
    const ids = stale.devices.map((d: { device: { id: string } }) => d.device.id);
    expect(stale.staleDays).toBe(14);
    expect(ids).toEqual(expect.arrayContaining([a.deviceId, b.deviceId]));
    expect(ids).not.toContain(fresh.deviceId);
    const csv = await fetch(`${h.url}/api/v1/lifecycle/stale/report`, {
      headers: { authorization: `Bearer ${h.adminToken}` },
    });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await csv.text();
    // The shared RFC 4180 writer (collector/src/csv.ts): quotes only where needed, formulas inert.
    expect(text.split('\r\n').some((l) => l.startsWith(`${a.deviceId},`))).toBe(true);
    expect(text).toContain(`,'=cmd|calc,`);
    expect(text).not.toMatch(/(^|,)"?=cmd/m);

    const noReason = await h.api('POST', '/api/v1/lifecycle/bulk', {
      action: 'retire',
      deviceIds: [a.deviceId, b.deviceId],
    });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.field).toBe('body.reason');
    const tooMany = await h.api('POST', '/api/v1/lifecycle/bulk', {
      action: 'revoke',
      deviceIds: Array.from({ length: 201 }, (_, i) => `d_${i}`),
      reason: 'too many at once',
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.field).toBe('body.deviceIds');
    const res = await h.api('POST', '/api/v1/lifecycle/bulk', {
      action: 'retire',
      deviceIds: [a.deviceId, b.deviceId, 'd_missing'],
      reason: 'Year 13 leavers 2026',
    });
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([
      { deviceId: a.deviceId, ok: true },
      { deviceId: b.deviceId, ok: true },
      {
        deviceId: 'd_missing',
        ok: false,
        error: { code: 'CUST_ERR_NOT_FOUND', message: 'device d_missing not found' },
      },
    ]);
    for (const id of [a.deviceId, b.deviceId]) {
      const d = (await h.api('GET', `/api/v1/devices/${id}`)).json.device;
      expect(d).toMatchObject({
        revoked: true,
        retiredBy: 'admin-token',
        retiredReason: 'Year 13 leavers 2026',
      });
      const audit = (await h.app.store.audit.list({ action: 'device.retire', target: `device:${id}` }))
        .records;
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'admin-token', details: { reason: 'Year 13 leavers 2026' } });
    }
    const bulk = (await h.app.store.audit.list({ action: 'device.bulk-retire' })).records;
    expect(bulk[0]).toMatchObject({ details: { done: 2, reason: 'Year 13 leavers 2026' } });
    const stale2 = (await h.api('GET', '/api/v1/lifecycle/stale')).json;
    expect(stale2.devices.map((d: { device: { id: string } }) => d.device.id)).not.toContain(a.deviceId);
  });
});
