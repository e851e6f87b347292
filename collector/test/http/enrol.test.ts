// Enrolment over the real HTTP API: school secret, BYOD codes with agreement, re-enrolment.
import { CloseCode } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGREEMENT_SHA256, AGREEMENT_VERSION } from '../../src/enrol/agreement.ts';
import { AgentClient, heartbeat, newStreamId } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  // Full titles for IT (timelines carry window titles to IT only when configured to; the default, app and domain, is tested in
  // test/e2e/collector-flagged-text.test.ts).
  h = await startHarness({
    config: (c) => {
      c.itBrowsingDetail = 'full-title';
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const facts = (machineId: string, extra: Record<string, unknown> = {}) => ({
  machineId,
  hostname: 'lab-01',
  os: 'linux',
  serial: 'SN-1',
  ...extra,
});

async function byodBody(code: string, machineId: string) {
  const agreement = await h.api('GET', '/api/v1/agreement', undefined, null);
  expect(agreement.status).toBe(200);
  expect(agreement.json.sha256).toBe(AGREEMENT_SHA256);
  return {
    code,
    ...facts(machineId),
    userName: 'Sam Sixthform',
    acceptAgreement: true,
    agreementVersion: agreement.json.version,
    agreementSha256: agreement.json.sha256,
  };
}

describe('school enrolment', () => {
  it('enrols with the org secret; stores only a hash of the key', async () => {
    const res = await h.api('POST', '/api/v1/enrol', { secret: h.enrolSecret, ...facts('m-school-1') }, null);
    expect(res.status).toBe(200);
    expect(res.json.deviceId).toMatch(/^d_/);
    expect(res.json.deviceKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.json.serverUrl).toBe(h.url);
    const stored = await h.app.store.devices.get(res.json.deviceId);
    expect(stored?.kind).toBe('school');
    expect(JSON.stringify(stored)).not.toContain(res.json.deviceKey);
    const c = new AgentClient(h.wsUrl);
    await c.hello(res.json.deviceId, res.json.deviceKey, newStreamId());
    c.close();
  });

  it('refuses a wrong secret, bad device facts, and an unauthenticated code request', async () => {
    const wrong = await h.api('POST', '/api/v1/enrol', { secret: 'x'.repeat(43), ...facts('m-2') }, null);
    expect(wrong).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_BAD_ENROL_SECRET' } } });
    const badFacts = await h.api(
      'POST',
      '/api/v1/enrol',
      { secret: h.enrolSecret, ...facts('m-3', { hostname: 'a\u0000b' }) },
      null,
    );
    expect(badFacts).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_INPUT' } } });
    const noToken = await h.api('POST', '/api/v1/enrol/codes', {}, null);
    expect(noToken).toMatchObject({ status: 401, json: { error: { code: 'CUST_ERR_UNAUTHENTICATED' } } });
    const badToken = await h.api('GET', '/api/v1/devices', undefined, 'B'.repeat(43));
    expect(badToken.status).toBe(401);
  });

  it('rotating the secret invalidates the old one', async () => {
    const rotated = await h.api('POST', '/api/v1/enrol/secret/rotate', {});
    expect(rotated.status).toBe(200);
    const old = await h.api('POST', '/api/v1/enrol', { secret: h.enrolSecret, ...facts('m-rot') }, null);
    expect(old.status).toBe(403);
    const fresh = await h.api(
      'POST',
      '/api/v1/enrol',
      { secret: rotated.json.secret, ...facts('m-rot') },
      null,
    );
    expect(fresh.status).toBe(200);
    h.enrolSecret = rotated.json.secret;
  });

  it('re-enrolling a machine id revokes the old identity and flags a likely clone', async () => {
    const first = await h.api('POST', '/api/v1/enrol', { secret: h.enrolSecret, ...facts('m-clone') }, null);
    const oldSession = new AgentClient(h.wsUrl);
    await oldSession.hello(first.json.deviceId, first.json.deviceKey, newStreamId());
    const second = await h.api(
      'POST',
      '/api/v1/enrol',
      { secret: h.enrolSecret, ...facts('m-clone', { serial: 'SN-OTHER' }) },
      null,
    );
    expect(second.status).toBe(200);
    expect(second.json.deviceId).not.toBe(first.json.deviceId);
    const closed = await oldSession.closed;
    expect(closed.code).toBe(CloseCode.DEVICE_REVOKED);
    expect(closed.reason).toContain(`re-enrolled as ${second.json.deviceId}`);
    const dev = await h.app.store.devices.get(second.json.deviceId);
    expect(dev?.replaces).toBe(first.json.deviceId);
    expect(dev?.cloneSuspicion?.[0]?.reason).toMatch(/serial SN-OTHER differs/);
    expect(dev?.cloneSuspicion?.[0]?.reason).toMatch(/connected right now/);
    const c = new AgentClient(h.wsUrl);
    await c.hello(second.json.deviceId, second.json.deviceKey, newStreamId());
    c.close();
  });
});

describe('BYOD enrolment', () => {
  it('enrols once with a code and the accepted agreement; the code cannot be replayed', async () => {
    const created = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 2, note: 'Year 12 tutor group' });
    expect(created.status).toBe(201);
    const body = await byodBody(created.json.code, 'm-byod-1');
    const res = await h.api('POST', '/api/v1/enrol', body, null);
    expect(res.status).toBe(200);
    const dev = await h.app.store.devices.get(res.json.deviceId);
    expect(dev?.kind).toBe('byod');
    expect(dev?.byod).toMatchObject({
      userName: 'Sam Sixthform',
      agreementVersion: AGREEMENT_VERSION,
      agreementSha256: AGREEMENT_SHA256,
    });
    expect(dev?.byod?.acceptedAt).toBeGreaterThan(0);
    const replay = await h.api('POST', '/api/v1/enrol', await byodBody(created.json.code, 'm-byod-2'), null);
    expect(replay).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_BAD_ENROL_CODE' } } });
    expect(replay.json.error.message).toContain('already been used');
    const codes = await h.api('GET', '/api/v1/enrol/codes');
    expect(codes.json.codes[0]).toMatchObject({ state: 'used', usedByDevice: res.json.deviceId });
    expect(JSON.stringify(codes.json)).not.toContain(created.json.code);
  });

  it('refuses an expired code, an unknown code, and a missing or stale agreement', async () => {
    const created = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 1 });
    const noAgreement = await h.api(
      'POST',
      '/api/v1/enrol',
      { ...(await byodBody(created.json.code, 'm-b3')), acceptAgreement: false },
      null,
    );
    expect(noAgreement).toMatchObject({
      status: 400,
      json: { error: { code: 'CUST_ERR_AGREEMENT_NOT_ACCEPTED' } },
    });
    const staleText = await h.api(
      'POST',
      '/api/v1/enrol',
      { ...(await byodBody(created.json.code, 'm-b3')), agreementSha256: '0'.repeat(64) },
      null,
    );
    expect(staleText.status).toBe(400);
    const unknown = await h.api('POST', '/api/v1/enrol', await byodBody('ABCD-EFGH-JKLM', 'm-b4'), null);
    expect(unknown).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_BAD_ENROL_CODE' } } });
    h.clock.now = Date.now() + 2 * 3_600_000;
    try {
      const expired = await h.api('POST', '/api/v1/enrol', await byodBody(created.json.code, 'm-b5'), null);
      expect(expired.status).toBe(403);
      expect(expired.json.error.message).toContain('expired');
    } finally {
      h.clock.now = undefined;
    }
  });
});

describe('device API', () => {
  it('lists devices without key hashes; timeline newest first with cursor paging and kinds', async () => {
    const { dev, client: c, stream } = await connectedDevice(h);
    const t0 = Date.now() - 60_000;
    const events = Array.from({ length: 25 }, (_, i) =>
      i % 5 === 0
        ? { seq: i + 1, timeMs: t0 + i * 1000, activeWindow: { title: `w${i}` } }
        : heartbeat(i + 1, t0 + i * 1000),
    );
    await c.batch(stream, events);
    const list = await h.api('GET', '/api/v1/devices');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).not.toContain('keyHash');
    const mine = list.json.devices.find((d: { id: string }) => d.id === dev.deviceId);
    expect(mine.status.connected).toBe(true);
    const seqs: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.api(
        'GET',
        `/api/v1/devices/${dev.deviceId}/timeline?limit=10${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seqs.push(...page.json.events.map((e: { seq: number }) => e.seq));
      cursor = page.json.nextCursor;
    } while (cursor);
    expect(seqs).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    const windows = await h.api('GET', `/api/v1/devices/${dev.deviceId}/timeline?kinds=activeWindow`);
    expect(windows.json.events.map((e: { seq: number }) => e.seq)).toEqual([21, 16, 11, 6, 1]);
    expect(windows.json.events[0].event.activeWindow.title).toBe('w20');
    const ranged = await h.api(
      'GET',
      `/api/v1/devices/${dev.deviceId}/timeline?from=${t0 + 10_000}&to=${t0 + 13_000}`,
    );
    expect(ranged.json.events.map((e: { seq: number }) => e.seq)).toEqual([13, 12, 11]);
    const badKind = await h.api('GET', `/api/v1/devices/${dev.deviceId}/timeline?kinds=../x`);
    expect(badKind.status).toBe(400);
    const pathLike = await h.api('GET', '/api/v1/devices/..%2F..%2Fetc/timeline');
    expect(pathLike).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_INPUT' } } });
    const missing = await h.api('GET', '/api/v1/devices/d_missing');
    expect(missing.status).toBe(404);
    c.close();
  });

  it('refuses an invalid policy naming the field, and a change without a reason', async () => {
    const bad = await h.api('PUT', '/api/v1/policy', {
      policy: { idleLock: { idleLockSeconds: -5 } },
      reason: 'test',
    });
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_POLICY' } } });
    expect(bad.json.error.message).toContain('idleLock.idleLockSeconds');
    const noReason = await h.api('PUT', '/api/v1/policy', { policy: { heartbeatSeconds: 30 } });
    expect(noReason.status).toBe(400);
    const before = (await h.api('GET', '/api/v1/policy')).json.policy;
    const ok = await h.api('PUT', '/api/v1/policy', {
      policy: { heartbeatSeconds: 30 },
      reason: 'faster status',
    });
    expect(ok.status).toBe(200);
    expect(ok.json.policy.version).toBeGreaterThan(before.version);
    const change = (await h.api('GET', '/api/v1/policy/changes?scope=default&limit=1')).json.records[0];
    expect(change).toMatchObject({
      actor: 'admin-token',
      reason: 'faster status',
      old: { heartbeatSeconds: before.heartbeatSeconds },
      new: { heartbeatSeconds: 30 },
    });
  });
});
