// Issue 10 items 4 and 10, replayed over plain HTTP: a burst of parallel wrong passwords, and
// the throttle behind a TLS-terminating proxy (X-Forwarded-For).
import { afterEach, describe, expect, it } from 'vitest';
import { Client, type Harness, STRONG, startHarness, userClient } from './harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const admin = (x: Harness) => new Client(x.url, x.adminToken);

async function loginAs(x: Harness, username: string, password: string, xff?: string) {
  return fetch(`${x.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(xff ? { 'x-forwarded-for': xff } : {}) },
    body: JSON.stringify({ username, password }),
  });
}

describe('parallel sign-in burst (issue 10 item 4)', () => {
  it('counts each attempt before hashing: of 40 parallel wrong passwords only the 5 free ones are checked', async () => {
    // The concurrency gate is opened wide here so that the throttle alone is under test.
    h = await startHarness({
      throttle: { baseDelayMs: 60_000 },
      gate: { maxConcurrent: 64, maxQueued: 64, perIp: 64 },
    });
    const x = h;
    await userClient(x, 'victim', 'it');
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => loginAs(x, 'victim', `wrong-password-${i}`)),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(35);
    for (const r of replies.filter((r) => r.status === 429)) {
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('CUST_ERR_RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const failed = await admin(x).req('GET', '/api/v1/audit?action=auth.login-failed');
    expect(failed.json.records).toHaveLength(5);
  });

  it('caps concurrent password checks per address: the rest are refused at once with the stable code', async () => {
    // Production-like hashing cost (128 MiB, ~0.3 s+): the 40 requests arrive while the first
    // checks still run, as in the reported attack.
    h = await startHarness({
      throttle: { baseDelayMs: 60_000 },
      gate: { maxConcurrent: 1, perIp: 3 },
      scrypt: { N: 1 << 17, r: 8, p: 1 },
    });
    const x = h;
    await userClient(x, 'victim', 'it');
    // Distinct usernames: the per-user throttle does not apply, only the gate.
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => loginAs(x, `nobody${i}`, 'wrong-password-x')),
    );
    const statuses = replies.map((r) => r.status);
    const checked = statuses.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - checked);
    const codes = await Promise.all(
      replies
        .filter((r) => r.status === 429)
        .map(async (r) => ((await r.json()) as { error: { code: string } }).error.code),
    );
    expect(new Set(codes)).toEqual(new Set(['CUST_ERR_RATE_LIMITED']));
    expect(x.auth.gate.running).toBe(0);
    // After the burst the slots are free again: the real user signs in.
    expect((await loginAs(x, 'victim', STRONG)).status).toBe(200);
  });
});

describe('behind a TLS proxy (issue 10 item 10)', () => {
  it('ignores X-Forwarded-For from an address that is not a listed proxy', async () => {
    h = await startHarness({ throttle: { baseDelayMs: 60_000 } });
    const x = h;
    await userClient(x, 'teacher', 'it');
    for (let i = 0; i < 5; i++)
      expect((await loginAs(x, 'teacher', `wrong-password-${i}`, `10.0.0.${i + 1}`)).status).toBe(401);
    // A forged header does not buy a fresh throttle bucket.
    const forged = await loginAs(x, 'teacher', STRONG, '10.9.9.9');
    expect(forged.status).toBe(429);
    const failed = await admin(x).req('GET', '/api/v1/audit?action=auth.login-failed');
    expect(new Set(failed.json.records.map((r: { ip: string }) => r.ip))).toEqual(new Set(['127.0.0.1']));
  });

  it('throttles distinct clients separately when the proxy is trusted', async () => {
    h = await startHarness({ throttle: { baseDelayMs: 60_000 }, http: { trustedProxies: ['127.0.0.1'] } });
    const x = h;
    await userClient(x, 'teacher', 'it');
    // The attacker's browser, through the proxy.
    for (let i = 0; i < 5; i++)
      expect((await loginAs(x, 'teacher', `wrong-password-${i}`, '10.0.0.66')).status).toBe(401);
    expect((await loginAs(x, 'teacher', STRONG, '10.0.0.66')).status).toBe(429);
    // The real teacher, through the same proxy from another machine, is not locked out.
    expect((await loginAs(x, 'teacher', STRONG, '10.0.0.7')).status).toBe(200);
    // A client-supplied hop in front of the real one is not believed: the proxy appends the peer.
    expect((await loginAs(x, 'teacher', STRONG, '10.0.0.7, 10.0.0.66')).status).toBe(429);
    const failed = await admin(x).req('GET', '/api/v1/audit?action=auth.login-failed');
    expect(new Set(failed.json.records.map((r: { ip: string }) => r.ip))).toEqual(new Set(['10.0.0.66']));
  });
});
