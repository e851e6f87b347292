// POST /api/v1/enrol checked by its schema (enrol/enrol-input.ts) before the service runs: the
// service gets typed facts. Replayed from outside as an agent (or an attacker posing as one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const facts = { machineId: 'm-input-1', hostname: 'lab-01', os: 'linux' };
const enrol = (body: unknown) => h.api('POST', '/api/v1/enrol', body, null);

describe('enrol input', () => {
  it('names the device fact that is wrong, for a school or a BYOD enrolment', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ secret: h.enrolSecret, ...facts, hostname: 'lab\ud800' }, 'body.hostname'],
      [{ secret: h.enrolSecret, ...facts, os: '' }, 'body.os'],
      [{ secret: h.enrolSecret, ...facts, serial: 'x'.repeat(129) }, 'body.serial'],
      [{ secret: h.enrolSecret, machineId: 'm', hostname: 'h' }, 'body.os'],
      [{ code: 'ABCD-EFGH', ...facts, userName: 'Sam\u001b[2J' }, 'body.userName'],
      [{ code: 'ABCD-EFGH', ...facts }, 'body.userName'],
    ];
    for (const [body, field] of cases) {
      const res = await enrol(body);
      expect(res.status, field).toBe(400);
      expect(res.json.error, field).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field });
    }
    // Neither a secret nor a code: refused before anything is looked up.
    const neither = await enrol(facts);
    expect(neither.status).toBe(400);
    expect(neither.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    expect(await h.app.store.devices.byMachineId('m-input-1')).toBeUndefined();
  });

  it('a re-enrolment proof needs both the previous id and its key', async () => {
    const res = await enrol({ secret: h.enrolSecret, ...facts, previousDeviceKey: 'k'.repeat(43) });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.previousDeviceId' });
    // A newer agent's extra field does not stop it enrolling.
    const ok = await enrol({ secret: h.enrolSecret, ...facts, aFieldFromTheFuture: 1 });
    expect(ok.status).toBe(200);
  });
});
