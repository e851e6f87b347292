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
});

/** Says Hello with credentials that must not work; resolves with the close. */
async function refusedHello(deviceId: string, deviceKey: string) {
  const c = new AgentClient(h.wsUrl);
  await c.opened;
  c.send({
    hello: {
      deviceId,
      deviceKey,
      streamId: newStreamId(),
      agentVersion: 't',
      os: 'linux',
      lastSeq: 0,
      policyVersion: 0,
    },
  });
  return c.closed;
}

/** A school device enrolled with its own machine id, connected and streaming. */
async function liveVictim(machineId: string) {
  const enrolled = await h.api('POST', '/api/v1/enrol', { secret: h.enrolSecret, ...facts(machineId) }, null);
  expect(enrolled.status).toBe(200);
  const session = new AgentClient(h.wsUrl);
  const stream = newStreamId();
  await session.hello(enrolled.json.deviceId, enrolled.json.deviceKey, stream);
  expect((await session.batch(stream, [heartbeat(1)])).seq).toBe(1);
  return { id: enrolled.json.deviceId as string, key: enrolled.json.deviceKey as string, session, stream };
}

describe('re-enrolling a machine id that has a live device (issue 10 item 2)', () => {
  it('attack: a BYOD code and the victim machine id neither revoke nor replace it; queued, IT denies', async () => {
    const victim = await liveVictim('m-victim-byod');
    // The attacker holds a BYOD code and read the victim's machine id (world-readable).
    const code = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 1 });
    const attack = await h.api(
      'POST',
      '/api/v1/enrol',
      { ...(await byodBody(code.json.code, 'm-victim-byod')), hostname: 'lab-01', serial: 'SN-1' },
      null,
    );
    expect(attack.status).toBe(202);
    expect(attack.json).toMatchObject({ status: 'pending', replaces: { deviceId: victim.id } });
    expect(attack.json.requestId).toMatch(/^r_/);
    // The victim keeps streaming on the same session: not closed, not revoked.
    expect((await victim.session.batch(victim.stream, [heartbeat(2)])).seq).toBe(2);
    const stored = await h.app.store.devices.get(victim.id);
    expect(stored?.revokedAt).toBeUndefined();
    expect((await h.app.store.devices.byMachineId('m-victim-byod'))?.id).toBe(victim.id);
    // IT sees that someone asked to take it over.
    expect(stored?.cloneSuspicion?.at(-1)?.reason).toContain(
      `replacement requested (${attack.json.requestId})`,
    );
    expect(stored?.cloneSuspicion?.at(-1)?.reason).toContain('a BYOD code never replaces a live device');
    // The key the attacker got opens nothing until approved.
    expect((await refusedHello(attack.json.deviceId, attack.json.deviceKey)).code).toBe(
      CloseCode.AUTH_FAILED,
    );
    const queue = await h.api('GET', '/api/v1/enrol/replacements?state=pending');
    const queued = queue.json.replacements.find((r: { id: string }) => r.id === attack.json.requestId);
    expect(queued).toMatchObject({ kind: 'byod', replaces: victim.id, replacesConnected: true });
    expect(JSON.stringify(queue.json)).not.toContain('keyHash');
    expect(queued.byod.userName).toBe('Sam Sixthform');
    expect(JSON.stringify(queue.json)).not.toContain('codeHash');
    const requested = await h.app.store.audit.list({
      action: 'device.replacement.request',
      target: `device:${victim.id}`,
    });
    expect(requested.records).toHaveLength(1);

    const noReason = await h.api('POST', `/api/v1/enrol/replacements/${attack.json.requestId}/deny`, {
      reason: '  ',
    });
    expect(noReason).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_INPUT' } } });
    const denied = await h.api('POST', `/api/v1/enrol/replacements/${attack.json.requestId}/deny`, {
      reason: 'not a request we know of',
    });
    expect(denied.json.replacement).toMatchObject({ state: 'denied', decidedBy: 'admin-token' });
    const claim = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: attack.json.requestId, deviceKey: attack.json.deviceKey },
      null,
    );
    expect(claim).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_ENROL_DENIED' } } });
    expect(claim.json.error.message).toContain('not a request we know of');
    const again = await h.api('POST', `/api/v1/enrol/replacements/${attack.json.requestId}/approve`, {
      reason: 'x',
    });
    expect(again.status).toBe(409);
    expect((await h.app.store.audit.list({ action: 'device.replacement.deny' })).records).toHaveLength(1);
    expect((await victim.session.batch(victim.stream, [heartbeat(3)])).seq).toBe(3);
    expect((await h.app.store.devices.get(victim.id))?.revokedAt).toBeUndefined();
    victim.session.close();
  });

  it('proof of the old key replaces a live device at once (audited, clone suspicion); a wrong proof is refused', async () => {
    const old = await liveVictim('m-proof');
    const wrong = await h.api(
      'POST',
      '/api/v1/enrol',
      {
        secret: h.enrolSecret,
        ...facts('m-proof'),
        previousDeviceId: old.id,
        previousDeviceKey: 'x'.repeat(43),
      },
      null,
    );
    expect(wrong).toMatchObject({ status: 401, json: { error: { code: 'CUST_ERR_AUTH_FAILED' } } });
    expect((await old.session.batch(old.stream, [heartbeat(2)])).seq).toBe(2);
    const res = await h.api(
      'POST',
      '/api/v1/enrol',
      {
        secret: h.enrolSecret,
        ...facts('m-proof', { serial: 'SN-OTHER' }),
        previousDeviceId: old.id,
        previousDeviceKey: old.key,
      },
      null,
    );
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('enrolled');
    const closed = await old.session.closed;
    expect(closed.code).toBe(CloseCode.DEVICE_REVOKED);
    expect(closed.reason).toContain(`re-enrolled as ${res.json.deviceId}`);
    const dev = await h.app.store.devices.get(res.json.deviceId);
    expect(dev).toMatchObject({ replaces: old.id, replacement: { how: 'proof' } });
    expect(dev?.cloneSuspicion?.[0]?.reason).toContain(`replaced ${old.id} with proof of its key`);
    expect(dev?.cloneSuspicion?.[0]?.reason).toMatch(/serial SN-OTHER differs/);
    expect(dev?.cloneSuspicion?.[0]?.reason).toMatch(/connected right now/);
    const audit = await h.app.store.audit.list({ action: 'device.replace', target: `device:${old.id}` });
    expect(audit.records[0]?.details).toMatchObject({ how: 'proof', newDeviceId: res.json.deviceId });
    const c = new AgentClient(h.wsUrl);
    await c.hello(res.json.deviceId, res.json.deviceKey, newStreamId());
    c.close();
  });

  it('without proof a live school device is queued; only an approval completes it, keeping the old history', async () => {
    const old = await liveVictim('m-reinstall');
    const res = await h.api(
      'POST',
      '/api/v1/enrol',
      { secret: h.enrolSecret, ...facts('m-reinstall') },
      null,
    );
    expect(res.status).toBe(202);
    expect(res.json.message).toContain('must approve');
    // A second request for the same device waits beside it.
    const other = await h.api(
      'POST',
      '/api/v1/enrol',
      { secret: h.enrolSecret, ...facts('m-reinstall') },
      null,
    );
    expect(other.status).toBe(202);
    const pending = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: res.json.requestId, deviceKey: res.json.deviceKey },
      null,
    );
    expect(pending).toMatchObject({ status: 202, json: { status: 'pending' } });
    const wrongKey = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: res.json.requestId, deviceKey: old.key },
      null,
    );
    expect(wrongKey.status).toBe(401);
    expect((await old.session.batch(old.stream, [heartbeat(2)])).seq).toBe(2);

    const approved = await h.api('POST', `/api/v1/enrol/replacements/${res.json.requestId}/approve`, {
      reason: 'laptop reinstalled by IT, ticket 4411',
    });
    expect(approved.json.replacement).toMatchObject({ state: 'approved', decidedBy: 'admin-token' });
    const closed = await old.session.closed;
    expect(closed.code).toBe(CloseCode.DEVICE_REVOKED);
    expect(closed.reason).toContain(`replaced by ${res.json.deviceId}`);
    // Approving one closes the other: it could never be approved now.
    expect(await h.app.store.enrol.getReplacement(other.json.requestId)).toMatchObject({
      state: 'denied',
      decidedBy: 'system',
    });
    const otherClaim = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: other.json.requestId, deviceKey: other.json.deviceKey },
      null,
    );
    expect(otherClaim).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_ENROL_DENIED' } } });
    expect(otherClaim.json.error.message).toContain(`superseded: request ${res.json.requestId}`);
    expect(otherClaim.json.error.message).not.toContain('admin-token');
    const claim = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: res.json.requestId, deviceKey: res.json.deviceKey },
      null,
    );
    expect(claim).toMatchObject({ status: 200, json: { status: 'enrolled', deviceId: res.json.deviceId } });
    const dev = await h.app.store.devices.get(res.json.deviceId);
    expect(dev).toMatchObject({
      replaces: old.id,
      replacement: { how: 'approval', requestId: res.json.requestId, approvedBy: 'admin-token' },
    });
    expect(dev?.cloneSuspicion?.[0]?.reason).toContain('replaced on approval by admin-token');
    expect((await h.app.store.devices.byMachineId('m-reinstall'))?.id).toBe(res.json.deviceId);
    // The old identity's history stays readable under its id.
    const history = await h.api('GET', `/api/v1/devices/${old.id}/timeline`);
    expect(history.json.events.map((e: { seq: number }) => e.seq)).toEqual([2, 1]);
    expect(
      (await h.app.store.audit.list({ action: 'device.replacement.approve', target: `device:${old.id}` }))
        .records,
    ).toHaveLength(1);
    const c = new AgentClient(h.wsUrl);
    await c.hello(res.json.deviceId, res.json.deviceKey, newStreamId());
    c.close();
  });

  it('a school device not seen for enrol.liveDays is replaced by the enrol secret alone, with clone suspicion', async () => {
    const old = await liveVictim('m-stale');
    old.session.close();
    await old.session.closed;
    h.clock.now = Date.now() + 91 * 86_400_000;
    try {
      const res = await h.api('POST', '/api/v1/enrol', { secret: h.enrolSecret, ...facts('m-stale') }, null);
      expect(res.status).toBe(200);
      expect((await h.app.store.devices.get(old.id))?.replacedBy).toBe(res.json.deviceId);
      expect((await h.app.store.devices.get(old.id))?.revokedAt).toBeDefined();
      const dev = await h.app.store.devices.get(res.json.deviceId);
      expect(dev?.replacement).toEqual({ how: 'stale' });
      expect(dev?.cloneSuspicion?.[0]?.reason).toMatch(/without proof: not seen for 91 days/);
    } finally {
      h.clock.now = undefined;
    }
  });

  it('a BYOD code never replaces even a long-unseen device, and a revoked one is simply succeeded', async () => {
    const old = await liveVictim('m-byod-stale');
    old.session.close();
    await old.session.closed;
    h.clock.now = Date.now() + 400 * 86_400_000;
    try {
      const code = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 1 });
      const res = await h.api('POST', '/api/v1/enrol', await byodBody(code.json.code, 'm-byod-stale'), null);
      expect(res.status).toBe(202);
      expect((await h.app.store.devices.get(old.id))?.revokedAt).toBeUndefined();
    } finally {
      h.clock.now = undefined;
    }
    const blank = await h.api('POST', `/api/v1/devices/${old.id}/revoke`, { reason: '   ' });
    expect(blank).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_INPUT' } } });
    expect((await h.app.store.devices.get(old.id))?.revokedAt).toBeUndefined();
    const revoke = await h.api('POST', `/api/v1/devices/${old.id}/revoke`, { reason: 'handed back' });
    expect(revoke.status).toBe(200);
    const code = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 1 });
    const after = await h.api('POST', '/api/v1/enrol', await byodBody(code.json.code, 'm-byod-stale'), null);
    expect(after.status).toBe(200);
    expect((await h.app.store.devices.get(after.json.deviceId))?.replaces).toBe(old.id);
  });
});

describe('BYOD enrolment', () => {
  it('enrols once with a code and the accepted agreement; the code cannot be replayed', async () => {
    const created = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 2, note: 'Year 12 tutor group' });
    expect(created.status).toBe(201);
    const body = await byodBody(created.json.code, 'm-byod-1');
    const sentAt = Date.now();
    const res = await h.api('POST', '/api/v1/enrol', body, null);
    const answeredAt = Date.now();
    expect(res.status).toBe(200);
    const dev = await h.app.store.devices.get(res.json.deviceId);
    expect(dev?.kind).toBe('byod');
    expect(dev?.byod).toMatchObject({
      userName: 'Sam Sixthform',
      agreementVersion: AGREEMENT_VERSION,
      agreementSha256: AGREEMENT_SHA256,
    });
    expect(dev?.byod?.acceptedAt).toBeGreaterThanOrEqual(sentAt);
    expect(dev?.byod?.acceptedAt).toBeLessThanOrEqual(answeredAt);
    const replay = await h.api('POST', '/api/v1/enrol', await byodBody(created.json.code, 'm-byod-2'), null);
    expect(replay).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_BAD_ENROL_CODE' } } });
    expect(replay.json.error.message).toContain('already been used');
    const codes = await h.api('GET', '/api/v1/enrol/codes');
    // Other tests here create codes with the clock moved on: find this one by its hint.
    const mine = codes.json.codes.filter((c: { hint: string }) => c.hint === created.json.code.slice(0, 4));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ state: 'used', usedByDevice: res.json.deviceId });
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
    expect(ok.json.policy.version).toBe(before.version + 1);
    const change = (await h.api('GET', '/api/v1/policy/changes?scope=default&limit=1')).json.records[0];
    expect(change).toMatchObject({
      actor: 'admin-token',
      reason: 'faster status',
      old: { heartbeatSeconds: before.heartbeatSeconds },
      new: { heartbeatSeconds: 30 },
    });
  });
});
