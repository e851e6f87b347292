// The console shell against a real collector: security headers on every console response,
// the forced password change on first sign-in, the public BYOD enrolment page, the governor's
// anonymised report, and role-based navigation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { adminApi, createStaff, signIn, staffSession, TestAgent } from './console-helpers.ts';

describe('console: shell, enrolment page, reports', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;

  beforeAll(async () => {
    // IT pages a timeline of window titles here: full titles (the default shows app and domain).
    collector = await startCollector({ env: FULL_TITLES });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.cleanup();
  });

  it('serves the console with a strict CSP and no inline script', async () => {
    for (const path of ['/', '/enrol', '/console/js/app.js', '/console/app.css']) {
      const res = await fetch(`${collector.url}${path}`);
      expect(res.status, path).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const html = await (await fetch(`${collector.url}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await fetch(`${collector.url}/console/js/../../../package.json`)).status).toBe(404);
  });

  it('forces a new password at first sign-in before anything else', async () => {
    const who = await createStaff(collector, 'new-it', 'it', { mustChangePassword: true });
    const page = await browser.newPage();
    await signIn(page, collector.url, who);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    // Navigating elsewhere lands back on the password page.
    await page.goto(`${collector.url}/#/devices`);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    const next = `New-${Date.now()}-pass-phrase`;
    await page.getByLabel('Current password').fill(who.password);
    await page.getByLabel('New password', { exact: true }).fill(next);
    await page.getByLabel('New password again').fill(next);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('heading', { name: 'Devices' }).waitFor();
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    await page.close();
  });

  it('sends a user whose session has ended back to sign-in', async () => {
    // A collector whose sessions time out after 4 s idle: the server ends the session; the
    // browser keeps its cookie, and the next API call is refused with SESSION_EXPIRED.
    const short = await startCollector({ env: { CUSTODIAN_SESSION_IDLE_MS: '4000' } });
    try {
      const who = await createStaff(short, 'it-expiry', 'it');
      const page = await browser.newPage();
      await signIn(page, short.url, who);
      await page.goto(`${short.url}/#/devices`);
      await page.getByRole('heading', { name: 'Devices' }).waitFor();
      const me = () =>
        page.evaluate(async () => {
          const r = await fetch('/api/v1/auth/me');
          return { status: r.status, code: ((await r.json()) as { error?: { code?: string } }).error?.code };
        });
      expect((await me()).status).toBe(200);
      await expect.poll(me, { timeout: 30_000, interval: 500 }).toEqual({
        status: 401,
        code: 'CUST_ERR_SESSION_EXPIRED',
      });
      // The cookie is still in the browser: it was the server that ended the session.
      expect((await page.context().cookies()).map((c) => c.name)).toContain('custodian_session');
      await page.goto(`${short.url}/#/policy`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      await page.close();
    } finally {
      await short.cleanup();
    }
  });

  it('shows the public enrolment page with the agreement and the exact command for a code', async () => {
    const admin = await staffSession(collector, await createStaff(collector, 'admin2', 'admin'));
    const created = await admin('POST', '/enrol/codes', { ttlHours: 24, note: 'Y12 laptop' });
    expect(created.status).toBe(201);
    const code = String(created.data.code);
    const agreement = (await (await fetch(`${collector.url}/api/v1/agreement`)).json()) as {
      version: string;
      sha256: string;
      text: string;
    };
    const page = await browser.newPage();
    await page.goto(`${collector.url}/enrol?code=${encodeURIComponent(code)}`);
    await page.getByRole('heading', { name: 'Enrol your own device' }).waitFor();
    const command = await page.locator('#enrol-command').textContent();
    expect(command).toContain(code);
    expect(command).toContain(collector.url);
    expect(await page.locator('pre.agreement').textContent()).toBe(agreement.text);
    expect(await page.locator('main').textContent()).toContain(agreement.sha256);
    await page.goto(`${collector.url}/enrol?code=${encodeURIComponent('<img src=x>')}`);
    await page.getByText('This code is not valid').waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    await page.close();
  });

  it('shows a governor the report with no names and only the report pages', async () => {
    const agent = await TestAgent.enrol(collector, 'governor-check-host');
    await agent.connect();
    await agent.send(
      { heartbeat: { uptimeSeconds: 10, loggedInUser: 'secret.pupil' } },
      {
        flaggedActivity: {
          category: 'bullying',
          severity: 3,
          matchedTerm: 'nobody likes you',
          context: 'nobody likes you',
          window: { app: 'chat', title: 'chat with secret.pupil', url: '', pid: 1 },
          screenshotUnavailableReason: 'no display',
          source: 'title',
        },
      },
    );
    await agent.disconnect();
    const governor = await createStaff(collector, 'governor1', 'governor');
    const page = await browser.newPage();
    await signIn(page, collector.url, governor);
    await page.getByRole('heading', { name: 'Reports' }).waitFor();
    const chart = page.locator('svg.chart');
    await chart.waitFor();
    // The one bullying alert is one hatched "fewer than 3" bar (its <title> names it), never a count.
    const barTitles = await chart.locator('rect > title').allTextContents();
    expect(barTitles.filter((t) => / · bullying: fewer than 3$/.test(t))).toHaveLength(1);
    expect(barTitles.filter((t) => /: \d+$/.test(t))).toEqual([]);
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).toContain('bullying');
    for (const name of ['secret.pupil', 'governor-check-host', 'nobody likes you', agent.deviceId]) {
      expect(text).not.toContain(name);
    }
    // The one seeded alert is a count of 1: a governor sees "fewer than 3", never the 1.
    const alertRows = page
      .locator('table', { has: page.locator('caption', { hasText: 'Alerts by category and month' }) })
      .locator('tbody tr');
    expect(await alertRows.allTextContents()).toEqual([
      expect.stringMatching(/^\d{4}-\d{2}bullyingfewer than 3$/),
    ]);
    const shown = await chart.locator('rect title').allTextContents();
    expect(shown).toContainEqual(expect.stringMatching(/· bullying: fewer than 3$/));
    expect(shown.filter((t) => /bullying: \d/.test(t))).toEqual([]);
    expect(text).toContain('fewer than 3 alerts in the period');
    expect(text).not.toMatch(/\b1 alerts? in the period/);
    const nav = await page.locator('header nav').textContent();
    expect(nav).toContain('Reports');
    expect(nav).not.toContain('Devices');
    expect(nav).not.toContain('Alerts');
    // The server, not the menu, is what stops a governor.
    const statuses = await page.evaluate(async () =>
      Promise.all(
        ['/api/v1/devices', '/api/v1/alerts', '/api/v1/audit'].map(async (u) => (await fetch(u)).status),
      ),
    );
    expect(statuses).toEqual([403, 403, 403]);
    await page.close();
  });

  it('lets an admin change the default policy only with a reason, and shows it in the change log', async () => {
    const who = await createStaff(collector, 'admin-policy', 'admin');
    const page = await browser.newPage();
    await signIn(page, collector.url, who);
    await page.goto(`${collector.url}/#/policy`);
    const minutes = page.getByLabel('Lock after (minutes)');
    await minutes.waitFor();
    await minutes.fill('7');
    // The per-source switches (issue 14): typed text off, on-screen text left on.
    const typed = page.getByLabel(/Match typed text/);
    expect(await typed.isChecked()).toBe(true);
    await typed.uncheck();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => page.locator('.policy-form .status').textContent()).toContain('Say why');
    expect((await adminApi(collector, 'GET', '/policy')).policy.idleLock.idleLockSeconds).not.toBe(420);
    await page.getByLabel(/Reason for this change/).fill('Year 11 mocks: shorter lock in exam rooms');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => page.locator('.policy-form .status').textContent()).toContain('Saved');
    const saved = (await adminApi(collector, 'GET', '/policy')).policy;
    expect(saved.idleLock.idleLockSeconds).toBe(420);
    expect([saved.capture.typedText, saved.capture.screenText]).toEqual([false, true]);
    await expect
      .poll(() => page.locator('section', { hasText: 'Change log' }).textContent())
      .toContain('Year 11 mocks');
    await page.close();
  });

  it('pages a device timeline and filters it by kind', async () => {
    const who = await createStaff(collector, 'it-timeline', 'it');
    const agent = await TestAgent.enrol(collector, 'timeline-host');
    await agent.connect();
    const events = Array.from({ length: 60 }, (_, i) => ({
      activeWindow: { app: 'editor', title: `Document ${i + 1}`, url: '', pid: 1 },
    }));
    await agent.send(...events, { heartbeat: { uptimeSeconds: 1, loggedInUser: 'someone' } });
    await agent.disconnect();
    const page = await browser.newPage();
    await signIn(page, collector.url, who);
    await page.goto(`${collector.url}/#/devices/${agent.deviceId}`);
    const rows = page.locator('#timeline tbody tr');
    await expect.poll(() => rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Older →' }).click();
    await expect.poll(() => page.locator('.pager').textContent()).toContain('Page 2');
    // 61 events sent (60 windows and a heartbeat): 50 on page 1, the other 11 on page 2.
    await expect.poll(() => rows.count()).toBe(11);
    expect(await page.locator('#timeline').textContent()).toContain('Document 1');
    await page.getByLabel('Kinds').selectOption(['heartbeat']);
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.locator('.pager').textContent()).toContain('Page 1');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-kind')).toBe('heartbeat');
    await page.close();
  });

  it('shows an admin the audit log with the sign-ins', async () => {
    const who = await createStaff(collector, 'admin3', 'admin');
    const page = await browser.newPage();
    await signIn(page, collector.url, who);
    await page.goto(`${collector.url}/#/audit`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    // The sign-in itself: a row whose actor is admin3 and whose action is auth.login (the
    // user.created row also names admin3, so "contains admin3" would pass without any sign-in).
    const signIns = () =>
      page
        .locator('#audit-table tbody tr')
        .evaluateAll((rows) =>
          rows
            .map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? ''))
            .filter((cells) => cells[1] === 'admin3' && cells[2] === 'auth.login'),
        );
    await expect.poll(async () => (await signIns()).length).toBe(1);
    expect((await signIns())[0]?.[5]).toBe('127.0.0.1');
    await page.close();
  });
});
