// The DSL in a real Chromium against a real collector: a flagged alert appears in the queue
// without a reload, the screenshot stays hidden until "Reveal" (which fetches it through the
// audited endpoint), then grade, escalate and evidence export from the alert page; keyboard
// triage in the queue; the severity-5 banner.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { adminApi, createStaff, makePng, signIn, TestAgent } from './console-helpers.ts';

const SCREENSHOTS = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'screenshots');

describe('console: alerts (DSL)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let dsl: { username: string; password: string };
  let agent: TestAgent;
  let png: Buffer;

  beforeAll(async () => {
    collector = await startCollector();
    browser = await launchBrowser();
    dsl = await createStaff(collector, 'dsl-lead', 'dsl');
    agent = await TestAgent.enrol(collector, 'y10-laptop-14');
    await agent.connect();
    await agent.send(
      { heartbeat: { uptimeSeconds: 600, loggedInUser: 'pupil.a' } },
      {
        activeWindow: {
          app: 'chromium',
          title: 'Geography homework — rivers',
          url: 'https://example.org/geo',
          pid: 9,
        },
      },
    );
    const scratch = await browser.newPage();
    png = await makePng(scratch, 'Captured window: search results');
    await scratch.close();
  });

  afterAll(async () => {
    await agent?.disconnect();
    await browser?.close();
    await collector?.cleanup();
  });

  async function flag(term: string, severity: number, withShot: boolean): Promise<void> {
    const blobIds = withShot ? [await agent.uploadBlob(png)] : [];
    await agent.send({
      flaggedActivity: {
        category: 'suicide',
        severity,
        matchedTerm: term,
        context: `… searched for "${term}" in the browser …`,
        window: {
          app: 'chromium',
          title: `${term} - Search`,
          url: `https://search.example/?q=${encodeURIComponent(term)}`,
          pid: 9,
        },
        screenshotBlobIds: blobIds,
        source: 'url',
      },
    });
  }

  it('shows a new alert live, reveals the screenshot, grades, escalates and exports evidence', async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, dsl);
    await page.goto(`${collector.url}/#/alerts`);
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await expect.poll(() => page.locator('.live-state').textContent()).toContain('live');
    await page.evaluate(() => {
      (globalThis as unknown as { __noReload: boolean }).__noReload = true;
    });

    await flag('how to end it all', 4, true);
    const row = page.locator('tr[data-alert-id]', { hasText: 'how to end it all' });
    await row.waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
      true,
    );

    // Opening the alert must not fetch the screenshot: only "Reveal" does.
    const shotRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/screenshots/')) shotRequests.push(r.url());
    });
    await row.getByRole('link').click();
    await page.getByRole('button', { name: /Reveal screenshot/ }).waitFor();
    // Where the words were seen: the URL and the source (title, URL, page text, typed text).
    const fact = (name: string) =>
      page.locator('dl.facts dt', { hasText: name }).locator('xpath=following-sibling::dd[1]');
    expect(await fact('Source').textContent()).toBe('web address (URL)');
    expect(await fact('URL').textContent()).toBe('https://search.example/?q=how%20to%20end%20it%20all');
    expect(await page.locator('img.shot').count()).toBe(0);
    expect(shotRequests).toEqual([]);

    await page.getByRole('button', { name: /Reveal screenshot/ }).click();
    const img = page.locator('img.shot');
    await img.waitFor();
    await expect
      .poll(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(640);
    expect(shotRequests.length).toBe(1);

    await page.getByRole('button', { name: '4', exact: true }).click();
    await expect.poll(() => page.locator('.status').first().textContent()).toContain('Graded 4');

    await page.getByLabel('Add a note').fill('Checked with form tutor: pupil is known to pastoral team.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await expect.poll(() => page.locator('ul.notes').textContent()).toContain('known to pastoral team');
    expect(await page.locator('ul.notes').textContent()).toContain(dsl.username);

    // The revealed image stays on screen after the actions, without a second (audited) fetch.
    expect(await page.locator('img.shot').count()).toBe(1);
    expect(shotRequests.length).toBe(1);

    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'alert.png'), fullPage: true });

    await page.getByRole('button', { name: 'Escalate…' }).click();
    await page.getByRole('button', { name: 'Open incident' }).click();
    await expect.poll(() => page.locator('.page-head .badge').textContent()).toBe('escalated');
    await page.getByRole('link', { name: 'open incident record' }).waitFor();

    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export evidence' }).click();
    const download = await downloading;
    const file = await download.path();
    const html = await readFile(file, 'utf8');
    expect(html).toContain('how to end it all');
    expect(html.toLowerCase()).toContain('sha-256');
    await rm(file, { force: true });

    // The incident record: who was involved, the referral, the outcome; each save kept in its history.
    await page.getByRole('link', { name: 'open incident record' }).click();
    await page.getByRole('button', { name: 'Save incident' }).waitFor();
    await page.getByRole('button', { name: 'Add person' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Pupil A (Y10)');
    await page.getByLabel('Actions taken').fill('Spoke with pupil; parents informed.');
    await page.getByLabel('Referral made to').selectOption('childrens-social-care');
    await page.getByLabel('Outcome', { exact: true }).selectOption('referred-externally');
    await page.getByRole('button', { name: 'Save incident' }).click();
    await expect.poll(() => page.locator('.status').first().textContent()).toContain('Incident updated');
    expect(await page.locator('ol.history').textContent()).toContain('updated');
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('Pupil A (Y10)');

    // The reveal and the export are in the audit log, attributed to this DSL.
    const audit = await adminApi(collector, 'GET', '/audit?limit=200');
    const records = (audit.records ?? []) as { actor: string; action: string }[];
    expect(records.some((r) => r.actor === dsl.username && /screenshot/i.test(r.action))).toBe(true);
    expect(records.some((r) => r.actor === dsl.username && /export|evidence/i.test(r.action))).toBe(true);
    await page.close();
  });

  it('triages from the keyboard: j/k move, a number grades, f marks a false positive', async () => {
    await flag('kms', 3, false);
    await flag('unalive myself', 3, false);
    const page = await browser.newPage();
    await signIn(page, collector.url, dsl);
    await page.goto(`${collector.url}/#/alerts`);
    await page.locator('tr[data-alert-id]', { hasText: 'unalive myself' }).waitFor();
    await page.locator('h1').click();
    const selectedTerm = () => page.locator('tr.selected td:nth-child(3)').textContent();
    const first = await selectedTerm();
    await page.keyboard.press('j');
    await expect.poll(selectedTerm).not.toBe(first);
    const second = await selectedTerm();
    await page.keyboard.press('k');
    await expect.poll(selectedTerm).toBe(first);
    await page.keyboard.press('j');
    await expect.poll(selectedTerm).toBe(second);
    await page.keyboard.press('f');
    // Queue shows status "new" by default: the dismissed alert leaves it.
    await expect.poll(() => page.locator('tr[data-alert-id]', { hasText: second ?? '' }).count()).toBe(0);
    await page.keyboard.press('2');
    await expect.poll(() => page.locator('.status').first().textContent()).toContain('Graded 2');
    await page.close();
  });

  it('shows a severity-5 banner to a signed-in DSL on any page', async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, dsl);
    await page.goto(`${collector.url}/#/incidents`);
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    // Give the alert feed a moment to be connected before the alert is opened: poll the page's own indicator.
    await page.goto(`${collector.url}/#/alerts`);
    await expect.poll(() => page.locator('.live-state').textContent()).toContain('live');
    await page.goto(`${collector.url}/#/incidents`);
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    await flag('going to kill myself tonight', 5, false);
    const banner = page.locator('#banner .sev5');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.textContent()).toContain('Severity 5');
    await banner.getByRole('link', { name: 'Review now' }).click();
    await page.getByRole('heading', { name: /going to kill myself tonight/ }).waitFor();
    await page.close();
  });
});
