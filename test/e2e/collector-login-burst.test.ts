// Issue 10 item 4 against a real collector process with the production scrypt cost: 40 parallel
// wrong-password sign-ins over plain HTTP. Before the fix all 40 were checked (and answered 401)
// and scrypt filled libuv's pool, stalling an IT read for seconds. Now at most the free attempts
// are checked, the rest are refused with CUST_ERR_RATE_LIMITED, and the IT read made during the
// burst is served. (How long it takes is measured by `pnpm bench collector-login`, not here.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCollector } from '../support/collector-process.ts';

const PASSWORD = 'a long enough password 123';
const FREE_ATTEMPTS = 5;

describe('collector: parallel sign-in burst', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;

  const asToken = (method: string, path: string, body?: unknown) =>
    fetch(`${collector.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const login = (username: string, password: string) =>
    fetch(`${collector.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });

  beforeAll(async () => {
    collector = await startCollector({ env: { CUSTODIAN_LOG_LEVEL: 'warn' } });
    for (const username of ['it-reader', 'victim'])
      expect(
        (
          await asToken('POST', '/users', {
            username,
            role: 'it',
            password: PASSWORD,
            mustChangePassword: false,
          })
        ).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await collector?.cleanup();
  });

  it('checks at most the free attempts, refuses the rest with the stable code, and still serves IT', async () => {
    const it = await login('it-reader', PASSWORD);
    expect(it.status).toBe(200);
    const cookie = (it.headers.getSetCookie()[0] as string).split(';')[0] as string;

    const burst = Array.from({ length: 40 }, (_, i) => login('victim', `wrong-password-${i}`));
    // Made while the burst is in flight.
    const read = fetch(`${collector.url}/api/v1/devices`, { headers: { cookie } });
    const replies = await Promise.all(burst);
    const devices = await read;
    expect(devices.status).toBe(200);
    expect(Array.isArray(((await devices.json()) as { devices: unknown[] }).devices)).toBe(true);

    const statuses = replies.map((r) => r.status);
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(FREE_ATTEMPTS);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - checked);
    for (const r of replies.filter((r) => r.status === 429))
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('CUST_ERR_RATE_LIMITED');
    const audit = (await (await asToken('GET', '/audit?action=auth.login-failed&limit=100')).json()) as {
      records: { details: { username: string } }[];
    };
    expect(audit.records.filter((r) => r.details.username === 'victim')).toHaveLength(checked);
  });
});
