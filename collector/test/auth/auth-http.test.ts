// Staff sign-in over real HTTP against a real level store: first admin and forced password
// change, cookie flags, CSRF, expiry, throttling, user management and role changes (audited).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client, type Harness, STRONG, startHarness, userClient } from './harness.ts';

let h: Harness;
beforeEach(async () => {
  // A one-minute first throttle delay keeps the throttling assertions independent of machine speed.
  h = await startHarness({
    sessionIdleMs: 30 * 60_000,
    sessionTtlMs: 12 * 3600_000,
    throttle: { baseDelayMs: 60_000 },
  });
});
afterEach(async () => {
  await h.close();
});

describe('first admin', () => {
  it('signs in with the one-time password, must change it, then has admin rights', async () => {
    const c = new Client(h.url);
    const login = await c.login(h.firstAdmin.username, h.firstAdmin.password);
    expect(login.status).toBe(200);
    expect(login.json.mustChangePassword).toBe(true);
    expect(login.json.role).toBe('admin');
    expect(login.json.user.passwordHash).toBeUndefined();

    const blocked = await c.req('GET', '/api/v1/users');
    expect(blocked.status).toBe(403);
    expect(blocked.json.error.code).toBe('CUST_ERR_PASSWORD_CHANGE_REQUIRED');
    const me = await c.req('GET', '/api/v1/auth/me');
    expect(me.status).toBe(200);
    expect(me.json.csrfToken).toBe(c.csrf);

    const weak = await c.req('POST', '/api/v1/auth/password', {
      currentPassword: h.firstAdmin.password,
      newPassword: 'short',
    });
    expect(weak.status).toBe(400);
    const wrongCurrent = await c.req('POST', '/api/v1/auth/password', {
      currentPassword: 'not-the-password',
      newPassword: STRONG,
    });
    expect(wrongCurrent.status).toBe(403);
    const changed = await c.req('POST', '/api/v1/auth/password', {
      currentPassword: h.firstAdmin.password,
      newPassword: STRONG,
    });
    expect(changed.status).toBe(200);
    const users = await c.req('GET', '/api/v1/users');
    expect(users.status).toBe(200);
    expect(users.json.users.map((u: { username: string }) => u.username)).toEqual(['admin']);

    // The one-time password no longer works.
    const again = await new Client(h.url).login('admin', h.firstAdmin.password);
    expect(again.status).toBe(401);
  });
});

describe('sessions and cookies', () => {
  it('sets an httpOnly SameSite=Strict cookie and logout ends the session', async () => {
    const c = await userClient(h, 'it.one', 'it');
    const res = await fetch(`${h.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'it.one', password: STRONG }),
    });
    const cookie = res.headers.getSetCookie()[0] as string;
    expect(cookie).toMatch(/^custodian_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure'); // plain HTTP on loopback; Secure (and __Host-) with TLS

    expect((await c.req('GET', '/api/v1/auth/me')).json.role).toBe('it');
    const saved = c.cookie;
    const out = await c.req('POST', '/api/v1/auth/logout');
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()[0]).toContain('Max-Age=0');
    // The server forgot the session: replaying the old cookie is refused.
    const old = new Client(h.url);
    old.cookie = saved;
    const replay = await old.req('GET', '/api/v1/auth/me');
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe('CUST_ERR_UNAUTHENTICATED');
    // The other session (second sign-in) is unaffected.
    const other = new Client(h.url);
    other.cookie = cookie.split(';')[0];
    expect((await other.req('GET', '/api/v1/auth/me')).status).toBe(200);
  });

  it('marks the cookie Secure (__Host-) behind a TLS-terminating proxy when secureCookies is always', async () => {
    const proxied = await startHarness({ secureCookies: 'always' });
    try {
      const c = await userClient(proxied, 'it.proxy', 'it');
      const res = await fetch(`${proxied.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'it.proxy', password: STRONG }),
      });
      const cookie = res.headers.getSetCookie()[0] as string;
      expect(cookie).toMatch(/^__Host-custodian_session=[A-Za-z0-9_-]{43};/);
      expect(cookie.split('; ')).toContain('Secure');
      // The proxy forwards the cookie under its __Host- name; the plain name is not accepted.
      expect((await c.req('GET', '/api/v1/auth/me')).json.role).toBe('it');
      const plain = new Client(proxied.url);
      plain.cookie = (cookie.split(';')[0] as string).replace('__Host-', '');
      expect((await plain.req('GET', '/api/v1/auth/me')).status).toBe(401);
    } finally {
      await proxied.close();
    }
  });

  it('refuses state-changing requests without the CSRF token', async () => {
    const c = await userClient(h, 'dsl.one', 'dsl');
    const noToken = await c.req('POST', '/api/v1/incidents', { title: 'x' }, { csrf: false });
    expect(noToken.status).toBe(403);
    expect(noToken.json.error.code).toBe('CUST_ERR_CSRF');
    const wrong = await c.req(
      'POST',
      '/api/v1/incidents',
      { title: 'x' },
      { csrf: false, headers: { 'x-csrf-token': 'A'.repeat(43) } },
    );
    expect(wrong.json.error.code).toBe('CUST_ERR_CSRF');
    const ok = await c.req('POST', '/api/v1/incidents', { title: 'x' });
    expect(ok.status).toBe(201);
  });

  it('expires idle sessions and absolute lifetimes with a specific code', async () => {
    const c = await userClient(h, 'gov.one', 'governor');
    expect((await c.req('GET', '/api/v1/auth/me')).status).toBe(200);
    h.advance(31 * 60_000);
    const idle = await c.req('GET', '/api/v1/auth/me');
    expect(idle.status).toBe(401);
    expect(idle.json.error.code).toBe('CUST_ERR_SESSION_EXPIRED');
    // An expired cookie does not get in the way of signing in again (public route).
    expect((await c.login('gov.one', STRONG)).status).toBe(200);
    for (let i = 0; i < 25; i++) {
      h.advance(29 * 60_000);
      const r = await c.req('GET', '/api/v1/auth/me');
      if (r.status !== 200) {
        expect(r.json.error.code).toBe('CUST_ERR_SESSION_EXPIRED');
        expect(i).toBeGreaterThanOrEqual(23); // 12 h / 29 min ≈ 24.8 steps
        return;
      }
    }
    throw new Error('session outlived its absolute lifetime');
  });
});

describe('login throttling and audit', () => {
  it('throttles repeated failures per username+ip and audits every attempt', async () => {
    await userClient(h, 'target', 'dsl');
    const c = new Client(h.url);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await c.login('target', `wrong-password-${i}`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toContain(429);
    // Even the right password waits while throttled.
    const throttled = await c.login('target', STRONG);
    expect(throttled.status).toBe(429);
    expect(throttled.json.error.code).toBe('CUST_ERR_RATE_LIMITED');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    h.advance(60 * 60_000);
    expect((await c.login('target', STRONG)).status).toBe(200);

    const admin = new Client(h.url, h.adminToken);
    const failed = await admin.req('GET', '/api/v1/audit?action=auth.login-failed');
    expect(failed.json.records.length).toBeGreaterThanOrEqual(5);
    expect(failed.json.records[0].ip).toBe('127.0.0.1');
    // The failure that engaged the throttle says so; the refused (429) attempts write nothing.
    expect(
      failed.json.records.filter((r: { details: { throttledForMs?: number } }) => r.details.throttledForMs),
    ).toHaveLength(1);
    expect(failed.json.records).toHaveLength(5);
    const ok = await admin.req('GET', '/api/v1/audit?action=auth.login');
    expect(ok.json.records.some((r: { actor: string }) => r.actor === 'target')).toBe(true);
  });

  it('gives one answer for unknown user and wrong password', async () => {
    await userClient(h, 'known', 'it');
    const a = await new Client(h.url).login('known', 'wrong-password-xx');
    const b = await new Client(h.url).login('nobody', 'wrong-password-xx');
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(a.json).toEqual(b.json);
  });
});

describe('user management', () => {
  it('lets admins create, re-role (with a reason, audited) and disable users', async () => {
    const admin = new Client(h.url, h.adminToken);
    const created = await admin.req('POST', '/api/v1/users', { username: 'j.smith', role: 'it' });
    expect(created.status).toBe(201);
    const otp = created.json.oneTimePassword as string;
    expect(otp).toMatch(/^[A-Za-z0-9_-]{24}$/); // 18 random bytes, base64url: 144 bits
    const id = created.json.user.id as string;
    const dup = await admin.req('POST', '/api/v1/users', { username: 'j.smith', role: 'dsl' });
    expect(dup.status).toBe(409);

    const js = new Client(h.url);
    expect((await js.login('j.smith', otp)).json.mustChangePassword).toBe(true);
    expect(
      (await js.req('POST', '/api/v1/auth/password', { currentPassword: otp, newPassword: STRONG })).status,
    ).toBe(200);
    expect((await js.req('GET', '/api/v1/auth/me')).json.role).toBe('it');

    const noReason = await admin.req('PATCH', `/api/v1/users/${id}`, { role: 'dsl' });
    expect(noReason.status).toBe(400);
    const promoted = await admin.req('PATCH', `/api/v1/users/${id}`, {
      role: 'dsl',
      reason: 'became deputy DSL',
    });
    expect(promoted.status).toBe(200);
    expect(promoted.json.user.role).toBe('dsl');
    // A role change ends the user's sessions: the new role applies from the next sign-in.
    expect((await js.req('GET', '/api/v1/auth/me')).status).toBe(401);
    const audit = await admin.req('GET', `/api/v1/audit?action=user.role-changed&target=user:${id}`);
    expect(audit.json.records[0].details).toMatchObject({
      from: 'it',
      to: 'dsl',
      reason: 'became deputy DSL',
    });
    expect(audit.json.records[0].actor).toBe('admin-token');

    expect((await js.login('j.smith', STRONG)).json.role).toBe('dsl');
    const disabled = await admin.req('PATCH', `/api/v1/users/${id}`, {
      disabled: true,
      reason: 'left the school',
    });
    expect(disabled.status).toBe(200);
    expect((await js.req('GET', '/api/v1/auth/me')).status).toBe(401);
    expect((await new Client(h.url).login('j.smith', STRONG)).status).toBe(401);
  });

  it('refuses role escalation by non-admins and protects the last admin', async () => {
    const it1 = await userClient(h, 'it.two', 'it');
    const me = (await it1.req('GET', '/api/v1/auth/me')).json.user.id as string;
    const escalate = await it1.req('PATCH', `/api/v1/users/${me}`, { role: 'admin', reason: 'please' });
    expect(escalate.status).toBe(403);
    expect(escalate.json.error.code).toBe('CUST_ERR_FORBIDDEN');
    const create = await it1.req('POST', '/api/v1/users', { username: 'sneaky', role: 'dsl' });
    expect(create.status).toBe(403);

    const admin = new Client(h.url, h.adminToken);
    const adminUser = (await admin.req('GET', '/api/v1/users')).json.users.find(
      (u: { username: string }) => u.username === 'admin',
    );
    const last = await admin.req('PATCH', `/api/v1/users/${adminUser.id}`, { role: 'it', reason: 'oops' });
    expect(last.status).toBe(409);
    expect(last.json.error.code).toBe('CUST_ERR_CONFLICT');
  });

  it('keeps the admin API token working as an admin principal, and refuses a wrong one', async () => {
    const me = await new Client(h.url, h.adminToken).req('GET', '/api/v1/auth/me');
    expect(me.json).toMatchObject({ kind: 'token', role: 'admin' });
    const bad = await new Client(h.url, 'x'.repeat(43)).req('GET', '/api/v1/users');
    expect(bad.status).toBe(401);
    expect((await new Client(h.url).req('GET', '/api/v1/users')).status).toBe(401);
  });
});
