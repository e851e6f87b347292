// SSO with OpenID Connect end to end (issue 19 item 1): a real collector process, a real OIDC
// provider (oidc-provider on 127.0.0.1) and Debian Chromium. Sign-in through "Sign in with", the
// role from the groups claim, a new user waiting for an admin, a tampered state and a tampered
// nonce refused, a callback replayed, a user removed from the role group or disabled refused.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { startTestIdp, type TestIdp } from '../support/oidc-provider.ts';
import { adminApi, createStaff, type Json, signIn } from './console-helpers.ts';
import { ssoSignIn as signInWithSso } from './sso-helpers.ts';

let collector: Awaited<ReturnType<typeof startCollector>>;
let idp: TestIdp;
let browser: TestBrowser;
let page: Page;

const LABEL = 'Sign in with School IdP';

beforeAll(async () => {
  collector = await startCollector();
  idp = await startTestIdp([`${collector.url}/api/v1/auth/sso/school/callback`]);
  const put = await adminApi(collector, 'PUT', '/auth/sign-in-settings', {
    publicUrl: collector.url,
    providers: [
      {
        id: 'school',
        label: 'School IdP',
        preset: 'generic',
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        scopes: ['openid', 'email', 'profile', 'groups'],
        groupsClaim: 'groups',
        roleMapping: [
          { group: 'custodian-it', role: 'it' },
          { group: 'custodian-governors', role: 'governor' },
        ],
        allowedDomains: [],
        enabled: true,
      },
    ],
    localLoginDisabledRoles: [],
    mfaRequiredRoles: [],
  });
  expect(put.settings.providers[0].hasClientSecret).toBe(true);
  expect(JSON.stringify(put)).not.toContain(idp.clientSecret);
  browser = await launchBrowser();
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await collector?.cleanup();
});

const onIdp = (u: URL | string) => String(u).startsWith(idp.issuer);

/** Signs in with the test provider's account `accountId` (sso-helpers.ts). */
const ssoSignIn = (accountId: string) =>
  signInWithSso(page, { collectorUrl: collector.url, issuer: idp.issuer, label: LABEL, accountId });

/** The text of the first element matching `selector`, once it exists. */
async function textOf(selector: string): Promise<string> {
  const el = page.locator(selector).first();
  await el.waitFor();
  return (await el.textContent()) ?? '';
}

async function me(): Promise<{ status: number; body: Json }> {
  return page.evaluate(async () => {
    const r = await fetch('/api/v1/auth/me', { credentials: 'same-origin' });
    return { status: r.status, body: await r.json() };
  });
}

async function audit(action: string): Promise<Json[]> {
  return (await adminApi(collector, 'GET', `/audit?action=${action}&limit=200`)).records;
}

async function userByEmail(email: string): Promise<Json | undefined> {
  return (await adminApi(collector, 'GET', '/users')).users.find((u: Json) => u.sso?.email === email);
}

describe('console: sign in with OpenID Connect', () => {
  it('signs in end to end, the role from the groups claim, linked to (issuer, subject)', async () => {
    idp.accounts.set('alice-sub', {
      email: 'alice@school.example',
      name: 'Alice IT',
      groups: ['custodian-it'],
    });
    await ssoSignIn('alice-sub');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await textOf('.who')).toContain('alice · it');
    const who = await me();
    expect(who.status).toBe(200);
    expect(who.body.role).toBe('it');
    const user = await userByEmail('alice@school.example');
    expect(user.sso).toMatchObject({ provider: 'school', issuer: idp.issuer, subject: 'alice-sub' });
    expect(user.roleFrom).toBe('mapping');
    const logins = await audit('auth.login');
    expect(logins.some((r: Json) => r.actor === 'alice' && r.details.method === 'sso')).toBe(true);
    // An SSO account has no password to guess.
    const pw = await fetch(`${collector.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'any password at all 123' }),
    });
    expect(pw.status).toBe(401);
  });

  it('a new user with no mapped group gets no role until an admin gives one on the Staff page', async () => {
    idp.accounts.set('bob-sub', { email: 'bob@school.example', name: 'Bob Head', groups: ['staff'] });
    await ssoSignIn('bob-sub');
    expect(await textOf('.status.error')).toContain('no role for you yet');
    expect((await me()).status).toBe(401);
    expect(await userByEmail('bob@school.example')).toBeUndefined();
    const pending = (await adminApi(collector, 'GET', '/auth/sso/pending')).pending as Json[];
    expect(pending.map((p) => p.email)).toContain('bob@school.example');
    // An admin (password + break-glass local account) gives Bob the governor role in the console.
    const admin = await createStaff(collector, 'sso-admin', 'admin');
    await signIn(page, collector.url, admin);
    await page.goto(`${collector.url}/#/users`);
    await page.getByLabel(/Reason for a role change/).fill('chair of governors');
    const row = page.locator('tr[data-pending="bob@school.example"]');
    await row.getByRole('combobox').selectOption('governor');
    await row.getByRole('button', { name: 'Give role' }).click();
    expect(await textOf('.status.ok')).toContain('can now sign in as governor');
    const bob = await userByEmail('bob@school.example');
    expect(bob).toMatchObject({ role: 'governor', roleFrom: 'admin' });
    expect((await audit('auth.sso-role-assigned')).length).toBe(1);
    await ssoSignIn('bob-sub');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect((await me()).body.role).toBe('governor');
  });

  /**
   * Rewrites one parameter of the authorization request on its way to the provider, as an
   * attacker in the middle would: the collector's 302 from /start is fetched, its Location
   * changed, and the browser follows the changed one (redirects are not routed one by one).
   */
  async function tamperAuthorization(param: 'state' | 'nonce', value: (v: string) => string) {
    const start = `${collector.url}/api/v1/auth/sso/school/start`;
    await page.route(start, async (route) => {
      const res = await route.fetch({ maxRedirects: 0 });
      const to = new URL(res.headers().location ?? '');
      expect(to.origin).toBe(idp.issuer);
      to.searchParams.set(param, value(to.searchParams.get(param) ?? ''));
      await route.fulfill({ response: res, headers: { ...res.headers(), location: to.href } });
    });
    return () => page.unroute(start);
  }

  it('refuses a tampered state', async () => {
    idp.accounts.set('carol-sub', { email: 'carol@school.example', name: 'Carol', groups: ['custodian-it'] });
    const undo = await tamperAuthorization('state', (v) => `${v.slice(0, -2)}AA`);
    try {
      await ssoSignIn('carol-sub');
    } finally {
      await undo();
    }
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_SSO_FAILED/.test(u.href));
    expect((await me()).status).toBe(401);
    expect(await userByEmail('carol@school.example')).toBeUndefined();
    expect((await audit('auth.sso-failed')).some((r: Json) => r.details.reason === 'state')).toBe(true);
  });

  it('refuses a tampered nonce (the ID token carries a nonce this flow did not send)', async () => {
    const undo = await tamperAuthorization('nonce', () => 'attacker-chosen-nonce-0123456789');
    try {
      await ssoSignIn('carol-sub');
    } finally {
      await undo();
    }
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_SSO_FAILED/.test(u.href));
    expect((await me()).status).toBe(401);
    expect(await userByEmail('carol@school.example')).toBeUndefined();
    expect(
      (await audit('auth.sso-failed')).map((r: Json) => [r.details.reason, r.details.error]),
    ).toContainEqual(['nonce', expect.any(String)]);
  });

  it('refuses a callback in a browser that did not start the sign-in (login CSRF)', async () => {
    // The victim's browser gets the provider's answer without the binding cookie /start set in
    // the attacker's: the collector's answer to /start is passed on with its cookie removed.
    const start = `${collector.url}/api/v1/auth/sso/school/start`;
    await page.route(start, async (route) => {
      const res = await route.fetch({ maxRedirects: 0 });
      const headers = { ...res.headers() };
      expect(headers['set-cookie']).toContain('custodian_sso=');
      delete headers['set-cookie'];
      // route.fetch keeps cookies in the browser's jar: take this one out again.
      await page.context().clearCookies({ name: 'custodian_sso' });
      await route.fulfill({ status: 302, headers });
    });
    try {
      await ssoSignIn('carol-sub');
    } finally {
      await page.unroute(start);
    }
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_SSO_FAILED/.test(u.href));
    expect((await me()).status).toBe(401);
    expect((await audit('auth.sso-failed')).some((r: Json) => r.details.reason === 'binding')).toBe(true);
  });

  it('a callback URL works once: replayed, it is refused', async () => {
    let seen = '';
    const listener = (req: { url(): string }) => {
      if (req.url().includes('/api/v1/auth/sso/school/callback?')) seen = req.url();
    };
    page.on('request', listener);
    await ssoSignIn('carol-sub');
    page.off('request', listener);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(seen).toContain('code=');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(seen);
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_SSO_FAILED/.test(u.href));
    expect((await me()).status).toBe(401);
  });

  it('a user removed from the role group at the provider is refused at the next sign-in', async () => {
    const alice = idp.accounts.get('alice-sub') as { email: string; name: string; groups: string[] };
    alice.groups = ['staff'];
    await ssoSignIn('alice-sub');
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_SSO_NO_ROLE/.test(u.href));
    expect((await me()).status).toBe(401);
    expect((await audit('auth.sso-role-lost')).some((r: Json) => r.details.subject === 'alice-sub')).toBe(
      true,
    );
    // Back in the group: back in (the mapping decides, at every sign-in).
    alice.groups = ['custodian-governors'];
    await ssoSignIn('alice-sub');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect((await me()).body.role).toBe('governor');
  });

  it('a user disabled in Custodian, or removed at the provider, cannot sign in', async () => {
    const bob = await userByEmail('bob@school.example');
    await adminApi(collector, 'PATCH', `/users/${bob.id}`, { disabled: true, reason: 'left the school' });
    await ssoSignIn('bob-sub');
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_AUTH_FAILED/.test(u.href));
    expect((await me()).status).toBe(401);
    // Removed at the provider: the provider itself no longer signs them in.
    idp.accounts.delete('carol-sub');
    await page.context().clearCookies();
    await page.goto(`${collector.url}/#/login`);
    await page.getByRole('link', { name: LABEL }).click();
    await page.waitForURL((u) => onIdp(u));
    await page.locator('input[name="login"]').fill('carol-sub');
    await page.locator('input[name="password"]').fill('anything');
    await page.locator('button[type="submit"]').first().click();
    await page.waitForLoadState('load');
    // The provider stops at its own error page: nothing comes back to the collector.
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.goto(`${collector.url}/#/login`);
    expect((await me()).status).toBe(401);
    expect(await userByEmail('carol@school.example')).toMatchObject({ role: 'it' });
  });

  it('caps sign-ins in progress per address: a flood of /start gets 429, not a growing store', async () => {
    // Last in this file: it fills 127.0.0.1's allowance for ten minutes.
    const statuses: number[] = [];
    for (let i = 0; i < 210; i++) {
      const r = await fetch(`${collector.url}/api/v1/auth/sso/school/start`, { redirect: 'manual' });
      statuses.push(r.status);
      if (r.status === 429) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(((await r.json()) as Json).error.code).toBe('CUST_ERR_RATE_LIMITED');
        break;
      }
      expect(r.status).toBe(302);
    }
    expect(statuses.at(-1)).toBe(429);
    // 200 per address, some already held by the refused sign-ins above (they expire, unused).
    expect(statuses.length).toBeGreaterThan(190);
    expect(statuses.length).toBeLessThanOrEqual(201);
  });
});
