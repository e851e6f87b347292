// The BYOD monitoring scope in the console (issue 19): IT staff in a real Chromium against a real
// collector see a device outside its scope as such in the device list, on the device page
// ("Monitoring scope") and in the timeline. The agent here is a foreign ws client speaking the
// .proto (TestAgent); the reason is device text, so it carries markup that must stay inert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { createStaff, signIn, TestAgent } from './console-helpers.ts';

const HOSTILE = 'not on a school network <img src=x onerror="window.__xss=1">';

describe('console: BYOD monitoring scope (IT)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let it1: { username: string; password: string };

  beforeAll(async () => {
    collector = await startCollector();
    browser = await launchBrowser();
    it1 = await createStaff(collector, 'it-scope', 'it');
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.cleanup();
  });

  it('shows "out of scope" with the reason in the list, on the device page and in the timeline', async () => {
    const agent = await TestAgent.enrol(collector, 'pupil-laptop-12');
    await agent.connect();
    const scope = { applies: true, inScope: false, reason: HOSTILE, rule: '', mode: 'on-premises' };
    await agent.send({ scopeChanged: scope }, { heartbeat: { uptimeSeconds: 10, scope } });
    const other = await TestAgent.enrol(collector, 'lab-pc-01');
    await other.connect();
    await other.send({ heartbeat: { uptimeSeconds: 10 } });

    const page = await browser.newPage();
    await signIn(page, collector.url, it1);
    await page.goto(`${collector.url}/#/devices`);
    const row = page.locator(`tr[data-device-id="${agent.deviceId}"]`);
    await expect.poll(() => row.textContent()).toContain('out of scope');
    const otherRow = page.locator(`tr[data-device-id="${other.deviceId}"]`);
    await expect.poll(() => otherRow.count()).toBe(1);
    expect(await otherRow.textContent()).not.toContain('out of scope');

    await page.goto(`${collector.url}/#/devices/${agent.deviceId}`);
    const fact = page
      .locator('dt', { hasText: 'Monitoring scope' })
      .locator('xpath=following-sibling::dd[1]');
    await expect.poll(() => fact.textContent()).toContain('out of scope');
    expect(await fact.textContent()).toContain(HOSTILE);
    await expect.poll(() => page.locator('#timeline').textContent()).toContain('monitoring stopped');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();

    // Back in scope: the device page says so after a reload.
    await agent.send({
      scopeChanged: {
        applies: true,
        inScope: true,
        reason: 'on the school network "Main site"',
        rule: 'Main site',
        mode: 'on-premises',
      },
    });
    await expect
      .poll(async () => {
        await page.reload();
        return page
          .locator('dt', { hasText: 'Monitoring scope' })
          .locator('xpath=following-sibling::dd[1]')
          .textContent();
      })
      .toContain('in scope');
    expect(await fact.textContent()).toContain('on the school network "Main site"');
    await agent.disconnect();
    await other.disconnect();
    await page.close();
  });
});
