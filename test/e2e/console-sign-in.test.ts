// The Sign-in settings page in Debian Chromium against a real collector process and a real OIDC
// provider (oidc-provider on 127.0.0.1): an admin sets up SSO through the page (the client secret
// is write-only: never shown back, kept when the form is saved again), then a member of the mapped
// group signs in with SSO; the MFA floor is shown and cannot be lowered, admin password sign-in
// cannot be switched off; a person waiting for a role, whose name from the provider is hostile
// markup, is shown as text and refused.
import { dirname, join } from 'node:path';
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { startTestIdp, type TestIdp } from '../support/oidc-provider.ts';
import { adminApi, createStaff, type Json, signIn } from './console-helpers.ts';
import { ssoSignIn } from './sso-helpers.ts';

const SCREENSHOTS = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'screenshots');

const HOSTILE_NAME = `M<img src=x onerror="window.__xss=1"><script>x=2</script>`;

let collector: Awaited<ReturnType<typeof startCollector>>;
let idp: TestIdp;
let browser: TestBrowser;
let page: Page;
let admin: { username: string; password: string };

beforeAll(async () => {
  // The floor for this collector: dsl always needs an authenticator app (admin signs in with a
  // password here, as the other browser tests do).
  collector = await startCollector({ env: { CUSTODIAN_MFA_REQUIRED_ROLES: 'dsl' } });
  idp = await startTestIdp([`${collector.url}/api/v1/auth/sso/school/callback`]);
  admin = await createStaff(collector, 'signin-admin', 'admin');
  browser = await launchBrowser();
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await collector?.cleanup();
});

async function openSettings(): Promise<void> {
  await signIn(page, collector.url, admin);
  await page.getByRole('link', { name: 'Sign-in', exact: true }).click();
  await page.getByRole('heading', { name: 'Single sign-on (OpenID Connect)' }).waitFor();
}

const totp = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: at,
  });

const settings = async (): Promise<Json> => adminApi(collector, 'GET', '/auth/sign-in-settings');

describe('console: sign-in settings', () => {
  it('an admin sets up SSO on the page; the secret is never shown back; a mapped user then signs in with SSO', async () => {
    await openSettings();
    await page.getByLabel('Console address (public URL)').fill(collector.url);
    await page.getByLabel('Preset for a new provider').selectOption('generic');
    await page.getByRole('button', { name: 'Add provider' }).click();
    const p = page.locator('fieldset[data-provider="0"]');
    await p.getByLabel('Provider id').fill('school');
    await p.getByLabel('Button text').fill('School IdP');
    await p.getByLabel('Issuer').fill(idp.issuer);
    await p.getByLabel('Client id').fill(idp.clientId);
    await p.getByLabel('Client secret').fill(idp.clientSecret);
    await p.getByLabel('Scopes').fill('openid email profile groups');
    expect(await p.getByLabel('Groups claim').inputValue()).toBe('groups');
    await p.getByRole('button', { name: 'Add mapping' }).click();
    await p.getByLabel('Group or app role').fill('custodian-it');
    await p.getByLabel('gives the role').selectOption('it');
    await p.getByLabel(/Enabled/).check();
    expect(await p.locator('[data-redirect-uri]').textContent()).toBe(
      `${collector.url}/api/v1/auth/sso/school/callback`,
    );
    // Password sign-in: admin cannot be switched off; governors can.
    expect(await page.locator('input[name="local-off-admin"]').isDisabled()).toBe(true);
    await page.locator('input[name="local-off-governor"]').check();
    // MFA: the floor (dsl here) is shown ticked and cannot be unticked; it can be added.
    const floor = page.locator('input[name="mfa-dsl"]');
    expect(await floor.isChecked()).toBe(true);
    expect(await floor.isDisabled()).toBe(true);
    expect(await page.locator('label[data-mfa-role="dsl"]').textContent()).toContain('cannot be lowered');
    await page.locator('input[name="mfa-it"]').check();
    await page.getByRole('button', { name: 'Save sign-in settings' }).click();
    await expect.poll(() => page.locator('.status.ok').first().textContent()).toContain('Saved');

    const saved = await settings();
    expect(saved.settings).toMatchObject({
      publicUrl: collector.url,
      localLoginDisabledRoles: ['governor'],
      providers: [
        {
          id: 'school',
          label: 'School IdP',
          issuer: idp.issuer,
          clientId: idp.clientId,
          roleMapping: [{ group: 'custodian-it', role: 'it' }],
          enabled: true,
          hasClientSecret: true,
        },
      ],
    });
    expect(saved.settings.mfaRequiredRoles.sort()).toEqual(['dsl', 'it']);
    expect(saved.mfaFloor).toEqual(['dsl']);
    // The secret is write-only: not in the API answer, not in the page after a reload.
    expect(JSON.stringify(saved)).not.toContain(idp.clientSecret);
    await page.reload();
    const again = page.locator('fieldset[data-provider="0"]');
    await again.getByLabel('Client secret').waitFor();
    expect(await again.getByLabel('Client secret').inputValue()).toBe('');
    expect(await again.getByLabel('Client secret').getAttribute('placeholder')).toContain('stored');
    expect(await page.content()).not.toContain(idp.clientSecret);
    await page.screenshot({ path: join(SCREENSHOTS, 'sign-in.png'), fullPage: true });
    // Saving again without typing it keeps the stored secret (sign-in below needs it).
    await page.getByRole('button', { name: 'Save sign-in settings' }).click();
    await expect.poll(() => page.locator('.status.ok').first().textContent()).toContain('Saved');
    expect((await settings()).settings.providers[0].hasClientSecret).toBe(true);

    idp.accounts.set('ivy-sub', { email: 'ivy@school.example', name: 'Ivy IT', groups: ['custodian-it'] });
    await ssoSignIn(page, {
      collectorUrl: collector.url,
      issuer: idp.issuer,
      label: 'Sign in with School IdP',
      accountId: 'ivy-sub',
    });
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await page.locator('.who').textContent()).toContain(' · it');
    const me: Json = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).json());
    expect(me.user.sso).toMatchObject({ provider: 'school', subject: 'ivy-sub' });
    expect(me.role).toBe('it');
    // IT has no Sign-in page.
    expect(await page.getByRole('link', { name: 'Sign-in', exact: true }).count()).toBe(0);
  });

  it('a person waiting for a role shows with their (hostile) name as text, and is refused', async () => {
    idp.accounts.set('mal-sub', { email: 'mallory@school.example', name: HOSTILE_NAME, groups: ['staff'] });
    await ssoSignIn(page, {
      collectorUrl: collector.url,
      issuer: idp.issuer,
      label: 'Sign in with School IdP',
      accountId: 'mal-sub',
    });
    await page.waitForURL((u) => /#\/login\?sso=CUST_ERR_SSO_NO_ROLE/.test(u.href));
    await openSettings();
    const row = page.locator('tr[data-pending="mallory@school.example"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(HOSTILE_NAME);
    expect(await page.locator('#sso-pending img, #sso-pending script').count()).toBe(0);
    await row.getByRole('button', { name: 'Refuse' }).click();
    // A reason first.
    await expect.poll(() => page.locator('#sso-pending .status.error').textContent()).toContain('reason');
    await page.getByLabel(/^Reason \(recorded in the audit log/).fill('not a member of staff');
    await row.getByRole('button', { name: 'Refuse' }).click();
    await expect
      .poll(() => page.locator('#sso-pending .status.ok').textContent())
      .toContain('mallory@school.example was refused');
    await row.waitFor({ state: 'detached' });
    expect((await adminApi(collector, 'GET', '/auth/sso/pending')).pending).toEqual([]);
    const refused = await adminApi(collector, 'GET', '/audit?action=auth.sso-pending-refused');
    expect(refused.records[0].details).toMatchObject({
      email: 'mallory@school.example',
      reason: 'not a member of staff',
    });
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
  });

  it('My account: IT (now required by the settings) enrols, then makes new recovery codes; an admin reads its notices', async () => {
    const it_ = await createStaff(collector, 'signin-it', 'it');
    await signIn(page, collector.url, it_);
    // `it` was added to the MFA roles on this page above: the shell sends them to set-up.
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = ((await page.locator('[data-mfa-secret]').textContent()) ?? '').trim();
    await page.getByLabel('Code from the app').fill(totp(secret, Date.now()));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('[data-recovery-codes] li').first().waitFor();
    const first = await page.locator('[data-recovery-codes] li').allTextContents();
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('link', { name: 'signin-it · it' }).click();
    await page.getByRole('heading', { name: 'My account' }).waitFor();
    expect(await page.locator('[data-recovery-left]').textContent()).toBe('10');
    await page.getByLabel('Code from the app').fill(totp(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Make new recovery codes' }).click();
    await page.locator('[data-recovery-codes] li').first().waitFor();
    const fresh = await page.locator('[data-recovery-codes] li').allTextContents();
    expect(fresh).toHaveLength(10);
    expect(fresh.some((c) => first.includes(c))).toBe(false);
    const renewed = await adminApi(collector, 'GET', '/audit?action=mfa.recovery-codes-renewed');
    expect(renewed.records.map((r: Json) => r.actor)).toEqual(['signin-it']);

    // The admin's notices: the SSO sign-in that waited for a role (addressed to admins).
    await signIn(page, collector.url, admin);
    await page.getByRole('link', { name: 'signin-admin · admin' }).click();
    const notice = page.locator('#notices tr[data-notice="sso.pending"]').first();
    await notice.waitFor();
    expect(await notice.textContent()).toContain('mallory@school.example');
    expect(await page.locator('#notices').textContent()).not.toContain('capture.lowered');
  });
});
