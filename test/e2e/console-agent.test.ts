// The whole chain with nothing simulated: a real agent process watching a real X display
// (Xvfb + openbox) captures a flagged window title with a real screenshot; the DSL, signed in
// to the console in Chromium, sees the alert arrive without a reload, reveals the screenshot
// (the agent's PNG of the display, decoded by the browser), grades, escalates and exports it.
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { startX, type XSession } from '../support/xvfb.ts';
import { createStaff, signIn } from './console-helpers.ts';

const WIDTH = 1024;
const HEIGHT = 768;

describe('console with a real agent under Xvfb', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let x: XSession;
  let enrolled: EnrolledAgent;
  let agent: AgentProcess;

  beforeAll(async () => {
    collector = await startCollector();
    x = await startX({ width: WIDTH, height: HEIGHT });
    enrolled = await enrolAgent({ collector });
    // --demo: idle lock report-only and USB audit-only, so the test machine is never locked or changed.
    agent = await startAgent({ dataDir: enrolled.dataDir, args: ['--demo'], env: x.env });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await agent?.stop();
    await enrolled?.cleanup();
    await browser?.close();
    await x?.stop();
    await collector?.cleanup();
  });

  it('DSL sees the flagged window live, reveals the real screenshot, grades, escalates, exports', async () => {
    const dsl = await createStaff(collector, 'dsl-real', 'dsl');
    const page = await browser.newPage();
    await signIn(page, collector.url, dsl);
    await page.goto(`${collector.url}/#/alerts`);
    await expect.poll(() => page.locator('.live-state').textContent()).toContain('live');
    await page.evaluate(() => {
      (globalThis as unknown as { __noReload: boolean }).__noReload = true;
    });

    await x.openWindow('how to kill myself painlessly - Google Search');
    const row = page.locator('tr[data-alert-id]', { hasText: 'how to kill myself' });
    await row.waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
      true,
    );
    // Severity 5 (active planning): the banner shows too.
    await page.locator('#banner .sev5').waitFor();

    await row.getByRole('link').click();
    await page.getByRole('button', { name: /Reveal screenshot/ }).click();
    const img = page.locator('img.shot');
    await img.waitFor();
    await expect
      .poll(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(WIDTH);
    expect(await img.evaluate((el) => (el as unknown as { naturalHeight: number }).naturalHeight)).toBe(
      HEIGHT,
    );

    await page.getByRole('button', { name: '5', exact: true }).click();
    await expect.poll(() => page.locator('.status').first().textContent()).toContain('Graded 5');
    await page.getByRole('button', { name: 'Escalate…' }).click();
    await page.getByRole('button', { name: 'Open incident' }).click();
    await expect.poll(() => page.locator('.page-head .badge').textContent()).toBe('escalated');

    const downloading = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export evidence' }).click();
    const file = await (await downloading).path();
    const html = await readFile(file, 'utf8');
    expect(html).toContain('how to kill myself');
    expect(html).toContain(enrolled.deviceId);
    await rm(file, { force: true });
    await page.close();
  });
});
