// TOTP from outside with plain HTTP (issue 19 item 2): a real collector with the production
// default (admin and dsl need an authenticator app), codes computed by the test with otpauth.
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, createStaffClient, type Harness, STRONG, startHarness } from './harness.ts';

let h: Harness;
const code = (secret: string, at = Date.now()) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: at,
  });
/** A code of the NEXT 30 s step (the server accepts one step either side). */
const nextCode = (secret: string) => code(secret, Date.now() + 30_000);

beforeAll(async () => {
  h = await startHarness({ mfaRequiredRoles: ['admin', 'dsl'] });
});
afterAll(async () => {
  await h?.close();
});

async function auditActions(target: string): Promise<string[]> {
  const token = new Client(h.url, h.adminToken);
  const r = await token.req('GET', `/api/v1/audit?target=${encodeURIComponent(target)}&limit=200`);
  expect(r.status).toBe(200);
  return (r.json.records ?? r.json.entries ?? r.json.items).map((e: { action: string }) => e.action);
}

/** Signs in and enrols; answers the secret and the recovery codes. */
async function enrolled(
  username: string,
): Promise<{ c: Client; secret: string; recovery: string[]; id: string }> {
  const c = await createStaffClient(h.url, h.adminToken, username, 'admin');
  const me = await c.req('GET', '/api/v1/auth/me');
  expect(me.json.mustEnrolMfa).toBe(true);
  const start = await c.req('POST', '/api/v1/auth/mfa/enrol', {});
  expect(start.status).toBe(200);
  const secret = start.json.secret as string;
  const ok = await c.req('POST', '/api/v1/auth/mfa/confirm', { code: code(secret) });
  expect(ok.status).toBe(200);
  return { c, secret, recovery: ok.json.recoveryCodes, id: me.json.user.id };
}

describe('TOTP for local accounts', () => {
  it('an admin without an authenticator app may only enrol; enrolment shows the secret once and audits each step', async () => {
    const c = await createStaffClient(h.url, h.adminToken, 'mfa-admin1', 'admin');
    const blocked = await c.req('GET', '/api/v1/users');
    expect(blocked.status).toBe(403);
    expect(blocked.json.error.code).toBe('CUST_ERR_MFA_ENROLMENT_REQUIRED');
    const start = await c.req('POST', '/api/v1/auth/mfa/enrol', {});
    expect(start.status).toBe(200);
    expect(start.json.uri).toMatch(/^otpauth:\/\/totp\/Custodian:mfa-admin1\?/);
    expect(start.json.uri).toContain(`secret=${start.json.secret}`);
    const wrong = await c.req('POST', '/api/v1/auth/mfa/confirm', {
      code: String((Number(code(start.json.secret)) + 1) % 1_000_000).padStart(6, '0'),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('CUST_ERR_MFA_FAILED');
    const ok = await c.req('POST', '/api/v1/auth/mfa/confirm', { code: code(start.json.secret) });
    expect(ok.status).toBe(200);
    expect(ok.json.recoveryCodes).toHaveLength(10);
    expect(ok.json.user.mfaEnabled).toBe(true);
    // The secret and recovery hashes never leave the server again.
    const list = await c.req('GET', '/api/v1/users');
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(start.json.secret);
    expect(list.text).not.toContain('recovery"');
    const again = await c.req('POST', '/api/v1/auth/mfa/enrol', {});
    expect(again.status).toBe(409);
    const actions = await auditActions(`user:${ok.json.user.id}`);
    expect(actions).toEqual(expect.arrayContaining(['mfa.enrol-started', 'mfa.failed', 'mfa.enabled']));
  });

  it('sign-in becomes two steps: no session after the password, one after the code; the same code is refused again', async () => {
    const { secret, id } = await enrolled('mfa-admin2');
    const c = new Client(h.url);
    const first = await c.login('mfa-admin2', STRONG);
    expect(first.status).toBe(200);
    expect(first.json.mfaRequired).toBe(true);
    expect(first.json.csrfToken).toBeUndefined();
    expect(first.headers.getSetCookie()).toEqual([]);
    expect((await c.req('GET', '/api/v1/auth/me')).status).toBe(401);
    // The code that confirmed the enrolment was spent: replaying it is refused.
    const replay = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      code: code(secret),
    });
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe('CUST_ERR_MFA_FAILED');
    expect(replay.json.error.message).toMatch(/already used/);
    const fresh = nextCode(secret);
    const second = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      code: fresh,
    });
    expect(second.status).toBe(200);
    c.csrf = second.json.csrfToken;
    expect((await c.req('GET', '/api/v1/users')).status).toBe(200);
    // The challenge is spent, and the same code in a new sign-in is a replay.
    const spent = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      code: fresh,
    });
    expect(spent.status).toBe(401);
    const d = new Client(h.url);
    const again = await d.login('mfa-admin2', STRONG);
    const reuse = await d.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: again.json.mfaToken,
      code: fresh,
    });
    expect(reuse.status).toBe(401);
    expect(reuse.json.error.message).toMatch(/already used/);
    const actions = await auditActions(`user:${id}`);
    expect(actions).toEqual(
      expect.arrayContaining(['mfa.challenged', 'mfa.verified', 'mfa.failed', 'auth.login']),
    );
  });

  it('the second step takes a code or a recovery code, not both and not neither (refused by its schema)', async () => {
    const { secret, recovery } = await enrolled('mfa-admin-shape');
    const c = new Client(h.url);
    const first = await c.login('mfa-admin-shape', STRONG);
    const mfaToken = first.json.mfaToken as string;
    const both = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken,
      code: code(secret),
      recoveryCode: recovery[0],
    });
    expect(both.status).toBe(400);
    expect(both.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    const neither = await c.req('POST', '/api/v1/auth/mfa/verify', { mfaToken });
    expect(neither.status).toBe(400);
    expect(neither.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.code' });
    // Neither attempt used up the sign-in: the right code still completes it.
    const ok = await c.req('POST', '/api/v1/auth/mfa/verify', { mfaToken, code: nextCode(secret) });
    expect(ok.status).toBe(200);
  });

  it('a recovery code works once', async () => {
    const { recovery } = await enrolled('mfa-admin3');
    const rc = recovery[0] as string;
    const c = new Client(h.url);
    const first = await c.login('mfa-admin3', STRONG);
    const used = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      recoveryCode: rc,
    });
    expect(used.status).toBe(200);
    expect(used.json.user.recoveryCodesLeft).toBe(9);
    const d = new Client(h.url);
    const second = await d.login('mfa-admin3', STRONG);
    const reused = await d.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: second.json.mfaToken,
      recoveryCode: rc,
    });
    expect(reused.status).toBe(401);
    expect(reused.json.error.code).toBe('CUST_ERR_MFA_FAILED');
    // Another code still works.
    const other = await d.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: second.json.mfaToken,
      recoveryCode: recovery[1] as string,
    });
    expect(other.status).toBe(200);
  });

  it('new recovery codes need a current code from the app; the old ones stop working', async () => {
    const { c, secret, recovery } = await enrolled('mfa-admin-renew');
    // A session alone is not enough: a wrong code, or the code that confirmed the enrolment (replay).
    const wrong = await c.req('POST', '/api/v1/auth/mfa/recovery-codes', { code: '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe('CUST_ERR_MFA_FAILED');
    expect((await c.req('POST', '/api/v1/auth/mfa/recovery-codes', { code: code(secret) })).status).toBe(400);
    const renewed = await c.req('POST', '/api/v1/auth/mfa/recovery-codes', { code: nextCode(secret) });
    expect(renewed.status).toBe(200);
    const fresh = renewed.json.recoveryCodes as string[];
    expect(fresh).toHaveLength(10);
    expect(fresh.some((x) => recovery.includes(x))).toBe(false);
    expect(renewed.json.user.recoveryCodesLeft).toBe(10);
    expect(await auditActions(`user:${renewed.json.user.id}`)).toContain('mfa.recovery-codes-renewed');
    const d = new Client(h.url);
    const first = await d.login('mfa-admin-renew', STRONG);
    const old = await d.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      recoveryCode: recovery[0] as string,
    });
    expect(old.status).toBe(401);
    const ok = await d.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      recoveryCode: fresh[0] as string,
    });
    expect(ok.status).toBe(200);
    // An account without TOTP has nothing to renew.
    const gov = await createStaffClient(h.url, h.adminToken, 'mfa-gov-renew', 'governor');
    expect((await gov.req('POST', '/api/v1/auth/mfa/recovery-codes', { code: '123456' })).status).toBe(409);
  });

  it('wrong codes are throttled: after the free attempts even the right code gets 429 with Retry-After', async () => {
    const { secret } = await enrolled('mfa-admin4');
    const c = new Client(h.url);
    let first = await c.login('mfa-admin4', STRONG);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await c.req('POST', '/api/v1/auth/mfa/verify', {
        mfaToken: first.json.mfaToken,
        code: '000000',
      });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    // Five wrong codes also spend the challenge: the password must be given again.
    const dead = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      code: nextCode(secret),
    });
    expect(dead.status).toBe(401);
    first = await c.login('mfa-admin4', STRONG);
    const limited = await c.req('POST', '/api/v1/auth/mfa/verify', {
      mfaToken: first.json.mfaToken,
      code: nextCode(secret),
    });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('CUST_ERR_RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await c.req('GET', '/api/v1/auth/me')).status).toBe(401);
  });

  it('an admin resets a lost authenticator (audited); the user enrols again', async () => {
    const { id } = await enrolled('mfa-admin5');
    const token = new Client(h.url, h.adminToken);
    const r = await token.req('POST', `/api/v1/users/${id}/mfa-reset`, { reason: 'lost phone' });
    expect(r.status).toBe(200);
    expect(r.json.user.mfaEnabled).toBe(false);
    const c = new Client(h.url);
    const login = await c.login('mfa-admin5', STRONG);
    expect(login.json.mfaRequired).toBeUndefined();
    expect(login.json.mustEnrolMfa).toBe(true);
    expect(await auditActions(`user:${id}`)).toContain('mfa.reset');
  });

  it('a governor is not required to enrol unless the settings say so', async () => {
    const c = await createStaffClient(h.url, h.adminToken, 'mfa-gov1', 'governor');
    expect((await c.req('GET', '/api/v1/reports/termly')).status).toBe(200);
    const token = new Client(h.url, h.adminToken);
    const s = await token.req('GET', '/api/v1/auth/sign-in-settings');
    const put = await token.req('PUT', '/api/v1/auth/sign-in-settings', {
      ...s.json.settings,
      providers: [],
      mfaRequiredRoles: ['governor'],
    });
    expect(put.status).toBe(200);
    expect(put.json.settings.mfaRequiredRoles).toEqual(expect.arrayContaining(['admin', 'dsl', 'governor']));
    const blocked = await c.req('GET', '/api/v1/reports/termly');
    expect(blocked.status).toBe(403);
    expect(blocked.json.error.code).toBe('CUST_ERR_MFA_ENROLMENT_REQUIRED');
    await token.req('PUT', '/api/v1/auth/sign-in-settings', {
      ...s.json.settings,
      providers: [],
      mfaRequiredRoles: [],
    });
  });
});

describe('password sign-in switched off per role', () => {
  it('refuses the password of a role that must use SSO, and never for admin (break-glass)', async () => {
    await createStaffClient(h.url, h.adminToken, 'local-gov', 'governor');
    const token = new Client(h.url, h.adminToken);
    const s = (await token.req('GET', '/api/v1/auth/sign-in-settings')).json.settings;
    const bad = await token.req('PUT', '/api/v1/auth/sign-in-settings', {
      ...s,
      providers: [],
      localLoginDisabledRoles: ['admin'],
    });
    expect(bad.status).toBe(400);
    const put = await token.req('PUT', '/api/v1/auth/sign-in-settings', {
      ...s,
      providers: [],
      localLoginDisabledRoles: ['governor'],
    });
    expect(put.status).toBe(200);
    const c = new Client(h.url);
    const r = await c.login('local-gov', STRONG);
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('CUST_ERR_LOCAL_LOGIN_DISABLED');
    expect(r.headers.getSetCookie()).toEqual([]);
    // A wrong password still says only "wrong username or password".
    const wrong = await c.login('local-gov', 'not the password at all');
    expect(wrong.status).toBe(401);
    await token.req('PUT', '/api/v1/auth/sign-in-settings', {
      ...s,
      providers: [],
      localLoginDisabledRoles: [],
    });
    expect((await c.login('local-gov', STRONG)).status).toBe(200);
  });
});
