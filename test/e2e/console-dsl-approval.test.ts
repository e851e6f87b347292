// Issue 10 item 6 in the console (Chromium): an admin asks for a DSL account on the Staff page
// and gets no password; the DSL sees the request and the notice on "Requests & notices",
// approves it, and only the DSL sees the new account's one-time password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { createStaff, signIn } from './console-helpers.ts';

describe('console: DSL accounts need a DSL', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;

  beforeAll(async () => {
    collector = await startCollector();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await collector?.cleanup();
  });

  it('an admin request waits for the DSL, who approves it and alone sees the one-time password', async () => {
    const lead = await createStaff(collector, 'dsl-lead', 'dsl');
    const admin = await createStaff(collector, 'head-of-it', 'admin');

    const page = await browser.newPage();
    await signIn(page, collector.url, admin);
    await page.goto(`${collector.url}/#/users`);
    await page.getByRole('heading', { name: 'Staff accounts' }).waitFor();
    await page.getByLabel('Username').fill('new-deputy');
    await page.getByLabel('Role', { exact: true }).selectOption('dsl');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Request sent: a DSL must approve it').waitFor();
    expect(await page.locator('code.big').count()).toBe(0);
    expect(await page.locator('tr[data-username="new-deputy"]').count()).toBe(0);

    await signIn(page, collector.url, lead);
    await page.goto(`${collector.url}/#/inbox`);
    await page.getByRole('heading', { name: 'Requests & notices' }).waitFor();
    const row = page.locator('#dsl-requests tr', { hasText: 'new-deputy' });
    await row.waitFor();
    expect(await row.textContent()).toContain('head-of-it');
    // The notices list loads beside the requests (the inbox page now also loads dual-control requests).
    await expect
      .poll(() => page.locator('#dsl-notices tr[data-kind="dsl-account.requested"]').count())
      .toBe(1);
    await row.getByRole('button', { name: 'Approve' }).click();
    const otp = (await page.locator('code.big').textContent()) ?? '';
    expect(otp).toMatch(/^[A-Za-z0-9_-]{24}$/);
    await page.getByText('No requests waiting.').waitFor();

    const login = await fetch(`${collector.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'new-deputy', password: otp }),
    });
    expect(login.status).toBe(200);
    const body = (await login.json()) as { role: string; mustChangePassword: boolean };
    expect(body).toMatchObject({ role: 'dsl', mustChangePassword: true });
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    await page.close();
  });
});
