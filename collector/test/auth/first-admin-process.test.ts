// The real `custodian-collector serve` process: the first start prints the first admin's
// one-time password once (outside the JSON log), that password must be changed before
// anything else, and a restart neither prints a new one nor forgets the account or sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../../../test/support/collector-process.ts';
import { Client, STRONG } from './harness.ts';

let c: CollectorProcess;
beforeAll(async () => {
  c = await startCollector();
}, 60_000);
afterAll(async () => {
  await c?.cleanup();
});

describe('first admin on a real collector process', () => {
  it('prints a one-time password once and forces its change; survives a restart', async () => {
    const banner = c.logs().filter((l) => l.includes('one-time password:'));
    expect(banner).toHaveLength(1);
    const password = /one-time password: (\S+)/.exec(banner[0] as string)?.[1] as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/); // 18 random bytes, base64url: 144 bits
    // Not in any JSON log line.
    expect(c.logs().filter((l) => l.startsWith('{') && l.includes(password))).toEqual([]);

    const admin = new Client(c.url);
    const login = await admin.login('admin', password);
    expect(login.status).toBe(200);
    expect(login.json.mustChangePassword).toBe(true);
    expect((await admin.req('GET', '/api/v1/devices')).json.error.code).toBe(
      'CUST_ERR_PASSWORD_CHANGE_REQUIRED',
    );
    expect(
      (await admin.req('POST', '/api/v1/auth/password', { currentPassword: password, newPassword: STRONG }))
        .status,
    ).toBe(200);
    expect((await admin.req('GET', '/api/v1/devices')).status).toBe(200);

    await c.restart();
    expect(c.logs().filter((l) => l.includes('one-time password:'))).toHaveLength(1);
    // The session is stored in level, so it outlives the process.
    expect((await admin.req('GET', '/api/v1/auth/me')).json.user.username).toBe('admin');
    expect((await new Client(c.url).login('admin', STRONG)).status).toBe(200);
  });
});
