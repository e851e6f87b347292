// TOTP in the console (issue 19 item 2): a real collector with the production default (admin and
// dsl need an authenticator app) and Debian Chromium; the codes are computed by the test with
// otpauth from the secret the page shows, as a phone app would.
import { Secret, TOTP } from 'otpauth';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { adminApi, createStaff, type Json } from './console-helpers.ts';

let collector: Awaited<ReturnType<typeof startCollector>>;
let browser: TestBrowser;
let page: Page;

const totp = (secret: string, at: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({
    timestamp: at,
  });

beforeAll(async () => {
  collector = await startCollector({ env: { CUSTODIAN_MFA_REQUIRED_ROLES: 'admin,dsl' } });
  browser = await launchBrowser();
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await collector?.cleanup();
});

async function passwordStep(who: { username: string; password: string }) {
  await page.context().clearCookies();
  await page.goto(`${collector.url}/#/login`);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function me(): Promise<number> {
  return page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
}

async function statusText(): Promise<string> {
  const el = page.locator('.status.error').first();
  await el.waitFor();
  return (await el.textContent()) ?? '';
}

describe('console: two-step sign-in with an authenticator app', () => {
  it('an admin is made to enrol, then signs in with a code, and a recovery code works once', async () => {
    const admin = await createStaff(collector, 'mfa-boss', 'admin');
    await passwordStep(admin);
    // The shell sends an admin without an app to the set-up page, whatever they ask for.
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = ((await page.locator('[data-mfa-secret]').textContent()) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await page.locator('[data-mfa-uri]').textContent()).toContain(`secret=${secret}`);
    await page.goto(`${collector.url}/#/users`);
    await page.getByLabel('Code from the app').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Set up an authenticator app' }).waitFor();
    expect(page.url()).toContain('#/mfa');
    // A fresh enrolment: the page gives a new secret each time it is started.
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret2 = ((await page.locator('[data-mfa-secret]').textContent()) ?? '').trim();
    const enrolledAt = Date.now();
    await page.getByLabel('Code from the app').fill(totp(secret2, enrolledAt));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('[data-recovery-codes] li').first().waitFor();
    const recovery = await page.locator('[data-recovery-codes] li').allTextContents();
    expect(recovery).toHaveLength(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('link', { name: 'Staff' }).waitFor();

    // Sign in again: the password alone gives no session.
    await passwordStep(admin);
    await page.getByLabel('Code', { exact: true }).waitFor();
    expect(await me()).toBe(401);
    // The code used at enrolment is spent for its window.
    await page.getByLabel('Code', { exact: true }).fill(totp(secret2, enrolledAt));
    await page.getByRole('button', { name: 'Verify' }).click();
    expect(await statusText()).toContain('already used');
    expect(await me()).toBe(401);
    await page.getByLabel('Code', { exact: true }).fill(totp(secret2, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('link', { name: 'Staff' }).waitFor();
    expect(await me()).toBe(200);

    // A recovery code: once.
    await passwordStep(admin);
    await page.getByLabel('Recovery code').fill(recovery[0] as string);
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    await page.getByRole('link', { name: 'Staff' }).waitFor();
    await passwordStep(admin);
    await page.getByLabel('Recovery code').fill(recovery[0] as string);
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    expect(await statusText()).toContain('wrong code');
    expect(await me()).toBe(401);

    const records = (await adminApi(collector, 'GET', '/audit?actionPrefix=mfa.&limit=100'))
      .records as Json[];
    const actions = records
      .filter((r) => r.details.username === 'mfa-boss' || r.actor === 'mfa-boss')
      .map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'mfa.enrol-started',
        'mfa.enabled',
        'mfa.challenged',
        'mfa.verified',
        'mfa.failed',
      ]),
    );
  });
});
