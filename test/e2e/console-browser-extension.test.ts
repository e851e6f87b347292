// IT staff find devices without the browser extension (issue 15): the device table's filter
// "Browser extension not connected" keeps exactly the devices whose agent reports the
// browser_extension capability unavailable. Real collector, real Chromium, protocol clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { createStaff, signIn, TestAgent } from './console-helpers.ts';

describe('console: devices without the browser extension', () => {
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

  it('filters the device table to devices whose extension is not connected', async () => {
    const without = await TestAgent.enrol(collector, 'ict-suite-11');
    await without.connect();
    await without.send({
      capabilities: {
        capabilities: [
          { name: 'browser_extension', available: false, reason: 'no browser extension connected' },
        ],
      },
    });
    const withExt = await TestAgent.enrol(collector, 'ict-suite-12');
    await withExt.connect();
    await withExt.send({
      capabilities: {
        capabilities: [{ name: 'browser_extension', available: true, reason: 'connected in chromium' }],
      },
    });

    const page = await browser.newPage();
    await signIn(page, collector.url, await createStaff(collector, 'it-ext', 'it'));
    await page.goto(`${collector.url}/#/devices`);
    const rows = page.locator('#devices-table tbody tr[data-device-id]');
    await expect.poll(() => rows.count()).toBe(2);
    await expect
      .poll(() => page.locator('tr[data-device-id]', { hasText: 'ict-suite-11' }).textContent())
      .toContain('browser_extension');
    await page.getByLabel('Browser extension not connected').check();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-device-id')).toBe(without.deviceId);
    await page.getByLabel('Browser extension not connected').uncheck();
    await expect.poll(() => rows.count()).toBe(2);
    await without.disconnect();
    await withExt.disconnect();
  });
});
