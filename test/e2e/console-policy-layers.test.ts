// Policy layers in the console (issue 20 item 1), Chromium against a real collector process: an
// admin creates a device group, sets its idle lock in the group's layer (only that field goes
// into the layer), moves a connected device into it, and the device's page says the lock comes
// from the group; the connected device receives the new policy. A group name is shown as text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { adminApi, createStaff, signIn, TestAgent } from './console-helpers.ts';

let collector: CollectorProcess;
let browser: TestBrowser;
let agent: TestAgent;

beforeAll(async () => {
  collector = await startCollector();
  browser = await launchBrowser();
  agent = await TestAgent.enrol(collector, 'LAPTOP-Y7');
  await agent.connect();
}, 120_000);

afterAll(async () => {
  await agent?.disconnect();
  await browser?.close();
  await collector?.cleanup();
});

describe('console: school and group policy layers', () => {
  it('edits a group layer, moves a device into the group, and shows where each value comes from', async () => {
    const admin = await createStaff(collector, 'layers.admin', 'admin');
    const page = await browser.newPage();
    await signIn(page, collector.url, admin);
    await page.goto(`${collector.url}/#/policy`);

    // Create a group; its name is device-independent staff text, still shown as text only.
    const name = 'Year 7 <img src=x onerror=alert(1)>';
    await page.getByLabel('New group', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create group' }).click();
    const row = page.locator('tr[data-group]');
    await row.waitFor();
    await expect.poll(() => row.getByLabel('Name').inputValue()).toBe(name);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    const groupId = (await row.getAttribute('data-group')) as string;

    // Its layer: set the idle lock to 7 minutes; only that field goes into the layer.
    await row.getByRole('button', { name: 'Policy layer' }).click();
    const editor = page.locator(`[data-layer="group:${groupId}"]`);
    await editor.getByLabel('Lock after (minutes)').fill('7');
    await editor
      .getByLabel('Reason for this change (required, recorded in the change log)')
      .fill('year 7: short');
    await editor.getByRole('button', { name: 'Save policy' }).click();
    await editor.locator('[data-layer-patch]').waitFor();
    const layer = await adminApi(collector, 'GET', `/policy/groups/${groupId}`);
    expect(layer.layer.patch).toEqual({ idleLock: { idleLockSeconds: 420 } });
    await expect.poll(() => editor.getByText('year 7: short').count()).toBe(1);

    // The device page: move the device into the group, then read where the lock comes from.
    await page.goto(`${collector.url}/#/devices/${agent.deviceId}`);
    const layers = page.locator('section', { has: page.getByRole('heading', { name: /policy comes from/ }) });
    await layers.getByLabel('Group').selectOption(groupId);
    await layers.getByLabel('Reason').fill('joined year 7');
    await layers.getByRole('button', { name: 'Move' }).click();
    const lock = page.locator('tr[data-field="idleLock.idleLockSeconds"]');
    await expect
      .poll(async () => (await lock.textContent()) ?? '', { timeout: 15_000 })
      .toContain(`Group ${groupId}`);
    expect(await lock.textContent()).toContain('420');
    expect(await page.locator('tr[data-field="usb.mode"] [data-set-by]').textContent()).toBe('Trust default');
    // The connected device got the group's lock.
    await expect
      .poll(
        () => agent.received.filter((m) => m.body === 'policy').at(-1)?.policy?.idleLock?.idleLockSeconds,
        {
          timeout: 15_000,
        },
      )
      .toBe(420);
    // The shell asks who is signed in before the login (a 401), as in console-pages.test.ts.
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
  });
});
