// Issue 18 in the console (Chromium): the DSL sets up email on the Notifications page, sends a
// test, names contacts and a rota, adds a webhook (its secret shown once, and it signs the test
// the receiver checks); a flagged alert then reaches the DSL by email, the email's link opens
// the alert in the signed-in console, and Acknowledge is recorded with the opening. IT has no
// such page and the API refuses it. A school's DSL sets who is told of their own school's alerts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedMail, startSmtp, startWebhookReceiver } from '../../collector/test/notify/receivers.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { adminApi, createStaff, signIn, staffSession, TestAgent } from './console-helpers.ts';

describe('console: notification settings', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;

  beforeAll(async () => {
    smtp = await startSmtp();
    collector = await startCollector();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await collector?.cleanup();
    await smtp?.close();
  });

  it('the DSL sets up email, a rota and a webhook; an alert emails them and the link opens it', async () => {
    const dsl = await createStaff(collector, 'dsl-lead', 'dsl');
    let secret = '';
    const receiver = await startWebhookReceiver({ secret: () => secret });
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, dsl);
      await page.getByRole('link', { name: 'Notifications' }).click();
      await page.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();

      await page.getByLabel('Host').fill('127.0.0.1');
      await page.getByLabel('Port').fill(String(smtp.port));
      await page.getByLabel('Security').selectOption('none');
      await page.getByLabel('From').fill('custodian@school.test');
      await page.getByLabel('Password').fill('relay-secret-pw');
      await page.getByRole('button', { name: 'Save email settings' }).click();
      await page.getByText('Email settings saved.').waitFor();
      // The password is stored, never put back into the page.
      expect(await page.getByLabel('Password').inputValue()).toBe('');
      expect(await page.getByLabel('Password').getAttribute('placeholder')).toContain('stored');

      await page.getByLabel('Send a test to').fill('me@school.test');
      await page.getByRole('button', { name: 'Send test' }).first().click();
      await page.getByText('Test email accepted by the relay.').waitFor();
      expect((await smtp.waitFor(1))[0]!.to).toEqual(['me@school.test']);

      await page.getByLabel('Contacts').fill('lead, Dee Lead, lead@school.test, dsl');
      await page.getByLabel('Rota').fill('4, any, lead');
      await page.getByRole('button', { name: 'Save contacts and rota' }).click();
      await page.getByText('Contacts and rota saved.').waitFor();
      // A rota naming nobody known is refused with the server's message.
      await page.getByLabel('Rota').fill('4, any, nobody');
      await page.getByRole('button', { name: 'Save contacts and rota' }).click();
      await page.getByText('the rota names contact nobody').waitFor();

      await page.getByLabel('Name', { exact: true }).fill('DSL channel');
      await page.getByLabel('URL', { exact: true }).fill(receiver.url);
      await page.getByRole('button', { name: 'Add webhook' }).click();
      secret = (await page.locator('#webhook-secret code.big').textContent()) ?? '';
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const settings = await adminApi(collector, 'GET', '/notify/settings');
      expect(JSON.stringify(settings)).not.toContain(secret);
      expect(JSON.stringify(settings)).not.toContain('relay-secret-pw');
      await page
        .locator('#webhooks tr', { hasText: 'DSL channel' })
        .getByRole('button', { name: 'Send test' })
        .click();
      await page.getByText('Test delivered.').waitFor();
      expect(receiver.hits.map((h) => [h.status, h.signatureOk])).toEqual([[200, true]]);
      await page.locator('#deliveries tr', { hasText: 'delivered' }).first().waitFor();

      // A flag from a device: the email reaches the rota's contact, without the flagged words.
      const agent = await TestAgent.enrol(collector, 'lab-07');
      await agent.connect();
      await agent.send({
        flaggedActivity: {
          category: 'self-harm',
          severity: 5,
          matchedTerm: 'browserterm',
          context: 'searching browserterm now',
          window: {
            app: 'firefox',
            title: 'browserterm - Search',
            url: 'https://search.test/?q=browserterm',
            pid: 3,
          },
          source: 'title',
        },
      });
      const mails = await smtp.waitFor(2);
      const mail = mails.find((m) => m.to.includes('lead@school.test'));
      const text = decodedMail(mail?.raw ?? '');
      expect(text).toContain('severity 5');
      expect(text).not.toContain('browserterm');
      expect(text).not.toContain('search.test');
      const link = /(http:\/\/127\.0\.0\.1:\d+\/#\/alerts\/[A-Za-z0-9_-]+)/.exec(text)?.[1] ?? '';
      expect(link).not.toBe('');
      await waitFor(async () => receiver.accepted().length === 2, 'the alert webhook', 30_000);

      // Not signed in: the link asks for sign-in, then opens the alert.
      await page.context().clearCookies();
      await page.goto('about:blank');
      await page.goto(link);
      await page.getByLabel('Username').fill(dsl.username);
      await page.getByLabel('Password', { exact: true }).fill(dsl.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Acknowledge' }).click();
      await page.getByText('Acknowledged: nobody else will be notified.').waitFor();
      await page.getByRole('button', { name: /Acknowledged by dsl-lead/ }).waitFor();
      const alertId = link.split('/').pop() ?? '';
      const as = await staffSession(collector, dsl);
      const detail = await as('GET', `/alerts/${alertId}`);
      const actions = detail.data.alert.history.map((x: { action: string }) => x.action);
      expect(actions).toEqual(expect.arrayContaining(['notified', 'viewed', 'acknowledged']));
      await agent.disconnect();
      // The one 400 is the rota refused above, on purpose.
      expect(browser.errors.filter((e) => !e.includes('401') && !e.includes('status of 400'))).toEqual([]);
    } finally {
      await page.close();
      await receiver.close();
    }
  });

  it("a school's DSL sets who is told of their school's alerts; another school is not theirs", async () => {
    await adminApi(collector, 'POST', '/schools', { id: 'alpha', name: 'Alpha Academy' });
    await adminApi(collector, 'POST', '/schools', { id: 'beta', name: 'Beta Academy' });
    const dslA = await createStaff(collector, 'alpha-dsl', 'dsl');
    const users = (await adminApi(collector, 'GET', '/users')).users as { id: string; username: string }[];
    const id = users.find((u) => u.username === 'alpha-dsl')?.id;
    await adminApi(collector, 'PATCH', `/users/${id}`, { schools: ['alpha'], reason: 'Alpha DSL' });
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, dslA);
      // The trust's page is not theirs; their school's is, with only their school to pick.
      expect(await page.getByRole('link', { name: 'Notifications', exact: true }).count()).toBe(0);
      await page.getByRole('link', { name: 'School alert contacts' }).click();
      await page.getByText("alpha uses the trust's notification settings.").waitFor();
      const options = await page.getByLabel('School', { exact: true }).locator('option').allTextContents();
      expect(options).toEqual(['Alpha Academy (alpha)']);

      await page.getByLabel('Contacts').fill('lead, Alpha Lead, lead@alpha.test, dsl');
      await page.getByLabel('Rota').fill('4, school-hours, nobody');
      await page.getByRole('button', { name: 'Save school notifications' }).click();
      await page.getByText('the rota names contact nobody').waitFor();
      await page.getByLabel('Rota').fill('4, school-hours, lead');
      await page.getByLabel('School starts').fill('07:30');
      await page.getByLabel('School ends').fill('15:00');
      await page.getByLabel('School days').fill('1 2 3 4 5');
      await page.getByRole('button', { name: 'Save school notifications' }).click();
      await page.getByText('Saved for alpha.').waitFor();
      await page.getByText('alpha has its own contacts and rota (last changed by alpha-dsl).').waitFor();
      const stored = await adminApi(collector, 'GET', '/notify/schools/alpha/settings');
      expect(stored.layer).toMatchObject({
        contacts: [{ id: 'lead', email: 'lead@alpha.test' }],
        rota: { bands: [{ minSeverity: 4, window: 'school-hours', contacts: ['lead'] }] },
        schoolHours: { days: [1, 2, 3, 4, 5], start: '07:30', end: '15:00' },
      });
      expect(stored.layer.timeZone).toBeUndefined();
      expect(stored.layer.termDates).toBeUndefined();
      const as = await staffSession(collector, dslA);
      expect((await as('GET', '/notify/schools/beta/settings')).status).toBe(404);

      await page.getByRole('button', { name: "Use the trust's settings" }).click();
      await page.getByText("alpha uses the trust's settings again.").waitFor();
      expect((await adminApi(collector, 'GET', '/notify/schools/alpha/settings')).layer).toBeNull();
      // The one 400 is the rota refused above, on purpose.
      expect(browser.errors.filter((e) => !e.includes('401') && !e.includes('status of 400'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('IT has no Notifications page and the API refuses it', async () => {
    const it = await createStaff(collector, 'tech', 'it');
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it);
      expect(await page.getByRole('link', { name: 'Notifications' }).count()).toBe(0);
      const as = await staffSession(collector, it);
      expect((await as('GET', '/notify/settings')).status).toBe(403);
    } finally {
      await page.close();
    }
  });
});
