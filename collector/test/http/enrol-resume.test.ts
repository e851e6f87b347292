// Enrolment whose answer was lost to a crash (issue 21, kills during enrolment): the collector
// committed the device (or the queued request, or spent the BYOD code) and was killed before
// answering, or the agent was killed before saving the answer. The agent sends the same
// enrolAttempt again; it must get the same device back with a working key: no second device,
// no replacement request waiting for IT, no "code already used". Before the fix the school retry
// was queued for approval (the first device looked live) and the BYOD retry was refused.
import { CloseCode } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, heartbeat, newStreamId } from '../helpers/agent-client.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const facts = (machineId: string) => ({ machineId, hostname: 'lab-07', os: 'linux', serial: 'SN-7' });
const attempt = () => `att_${newStreamId().replace(/-/g, '')}`;

async function byodBody(code: string, machineId: string) {
  const agreement = await h.api('GET', '/api/v1/agreement', undefined, null);
  return {
    code,
    ...facts(machineId),
    userName: 'Sam Sixthform',
    acceptAgreement: true,
    agreementVersion: agreement.json.version,
    agreementSha256: agreement.json.sha256,
  };
}

/** Hello with these credentials: the collector's welcome (the session is closed again). */
async function connects(deviceId: string, deviceKey: string): Promise<boolean> {
  const c = new AgentClient(h.wsUrl);
  const stream = newStreamId();
  await c.hello(deviceId, deviceKey, stream);
  const ok = Number((await c.batch(stream, [heartbeat(1)])).seq) === 1;
  c.close();
  await c.closed;
  return ok;
}

async function devicesOf(machineId: string) {
  return (await h.app.store.devices.list()).filter((d) => d.machineId === machineId);
}

describe('an enrolment attempt retried after its answer was lost', () => {
  it('school secret: the same device with a fresh key; the lost key no longer works', async () => {
    const a = attempt();
    const body = { secret: h.enrolSecret, ...facts('m-resume-1'), enrolAttempt: a };
    const lost = await h.api('POST', '/api/v1/enrol', body, null);
    expect(lost.status).toBe(200);
    const retry = await h.api('POST', '/api/v1/enrol', body, null);
    expect(retry.status).toBe(200);
    expect(retry.json).toMatchObject({ status: 'enrolled', deviceId: lost.json.deviceId });
    expect(retry.json.deviceKey).not.toBe(lost.json.deviceKey);
    expect(await connects(retry.json.deviceId, retry.json.deviceKey)).toBe(true);
    expect(await devicesOf('m-resume-1')).toHaveLength(1);
    expect(await h.app.store.enrol.listReplacements({ state: 'pending' })).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ replaces: lost.json.deviceId })]),
    );
    // Once the device has connected, the attempt is over: the same body is a new enrolment of a
    // live machine id, queued for IT like any other.
    const late = await h.api('POST', '/api/v1/enrol', body, null);
    expect(late.status).toBe(202);
  });

  it('BYOD code: the code stays spent once, by the same device; another attempt with it is refused', async () => {
    const created = await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 2 });
    const a = attempt();
    const body = { ...(await byodBody(created.json.code, 'm-resume-2')), enrolAttempt: a };
    const lost = await h.api('POST', '/api/v1/enrol', body, null);
    expect(lost.status).toBe(200);
    const retry = await h.api('POST', '/api/v1/enrol', body, null);
    expect(retry.status).toBe(200);
    expect(retry.json.deviceId).toBe(lost.json.deviceId);
    expect(await connects(retry.json.deviceId, retry.json.deviceKey)).toBe(true);
    expect(await devicesOf('m-resume-2')).toHaveLength(1);
    const code = (await h.api('GET', '/api/v1/enrol/codes')).json.codes.filter(
      (c: { hint: string }) => c.hint === created.json.code.slice(0, 4),
    );
    expect(code).toEqual([expect.objectContaining({ state: 'used', usedByDevice: lost.json.deviceId })]);
    // Someone else with the code (another attempt, another machine): still refused.
    const other = await h.api(
      'POST',
      '/api/v1/enrol',
      { ...(await byodBody(created.json.code, 'm-resume-3')), enrolAttempt: attempt() },
      null,
    );
    expect(other).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_BAD_ENROL_CODE' } } });
    const thief = await h.api('POST', '/api/v1/enrol', { ...body, enrolAttempt: attempt() }, null);
    expect(thief).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_BAD_ENROL_CODE' } } });
  });

  it('a queued replacement: the same request with a fresh would-be key, not a second request', async () => {
    const victim = await h.api(
      'POST',
      '/api/v1/enrol',
      { secret: h.enrolSecret, ...facts('m-resume-4') },
      null,
    );
    expect(await connects(victim.json.deviceId, victim.json.deviceKey)).toBe(true);
    const body = { secret: h.enrolSecret, ...facts('m-resume-4'), enrolAttempt: attempt() };
    const lost = await h.api('POST', '/api/v1/enrol', body, null);
    expect(lost.status).toBe(202);
    const retry = await h.api('POST', '/api/v1/enrol', body, null);
    expect(retry.status).toBe(202);
    expect(retry.json).toMatchObject({ requestId: lost.json.requestId, deviceId: lost.json.deviceId });
    const pending = (await h.app.store.enrol.listReplacements({ state: 'pending' })).filter(
      (r) => r.replaces === victim.json.deviceId,
    );
    expect(pending).toHaveLength(1);
    // Only the key of the latest answer claims the request.
    const stale = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: lost.json.requestId, deviceKey: lost.json.deviceKey },
      null,
    );
    expect(stale.status).toBe(401);
    const claim = await h.api(
      'POST',
      '/api/v1/enrol/claim',
      { requestId: retry.json.requestId, deviceKey: retry.json.deviceKey },
      null,
    );
    expect(claim.json.status).toBe('pending');
  });

  it('the lost key of a resumed attempt is refused at Hello', async () => {
    const body = { secret: h.enrolSecret, ...facts('m-resume-5'), enrolAttempt: attempt() };
    const lost = await h.api('POST', '/api/v1/enrol', body, null);
    await h.api('POST', '/api/v1/enrol', body, null);
    const c = new AgentClient(h.wsUrl);
    await c.opened;
    c.send({
      hello: { deviceId: lost.json.deviceId, deviceKey: lost.json.deviceKey, streamId: newStreamId() },
    });
    expect((await c.closed).code).toBe(CloseCode.AUTH_FAILED);
  });
});
