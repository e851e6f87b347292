// Issue 18 items 2 and 3 in a real Chromium against a real collector process: IT acknowledges and
// resolves a health alert (a device whose screen lock keeps failing) from the Device health page,
// with who and when recorded and audited; and bulk-retires two stale devices (leavers) with a
// reason, each device retired and audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { adminApi, createStaff, type Json, signIn, TestAgent } from './console-helpers.ts';

let collector: CollectorProcess;
let browser: TestBrowser;
let it1: { username: string; password: string };

beforeAll(async () => {
  collector = await startCollector({ env: { CUSTODIAN_HEALTH_CHECK_INTERVAL_MS: '500' } });
  browser = await launchBrowser();
  it1 = await createStaff(collector, 'it-health', 'it');
});

afterAll(async () => {
  await browser?.close();
  await collector?.cleanup();
});

const healthOf = async (id: string): Promise<Json[]> =>
  (await adminApi(collector, 'GET', `/device-health/alerts?deviceId=${id}&state=open,acknowledged,resolved`))
    .alerts;

describe('console: device health queue and leavers (IT)', () => {
  it('acknowledges then resolves a health alert; who and when are shown and audited', async () => {
    const agent = await TestAgent.enrol(collector, 'lab-7');
    await agent.connect();
    const fail = (attempt: number) => ({ lockFailed: { method: 'i3lock', reason: 'no display', attempt } });
    await agent.send(fail(1), fail(2), fail(3));
    const [alert] = await waitFor(async () => {
      const a = await healthOf(agent.deviceId);
      return a.length > 0 ? a : undefined;
    }, 'lock-failing alert');
    expect(alert).toMatchObject({ kind: 'lock-failing', state: 'open' });
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.getByRole('link', { name: 'Device health' }).click();
      const row = page.locator(`tr[data-health-id="${alert.id}"]`);
      await expect.poll(() => row.textContent()).toContain('screen lock failing');
      expect(await row.textContent()).toContain('lab-7');
      await row.getByLabel('Note').fill('ticket 4411');
      await row.getByRole('button', { name: 'Acknowledge' }).click();
      await expect
        .poll(() => row.locator('.health-state').textContent())
        .toContain('acknowledged by it-health');
      expect(await row.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
      await row.getByRole('button', { name: 'Resolve' }).click();
      // Resolved items leave the default view (open and acknowledged)...
      await expect.poll(() => row.count()).toBe(0);
      // ...and show under "resolved" with who resolved it.
      await page.getByLabel('Show').selectOption('resolved');
      await expect.poll(() => row.locator('.health-state').textContent()).toContain('resolved by it-health');
      const [after] = await healthOf(agent.deviceId);
      expect(after).toMatchObject({
        state: 'resolved',
        acknowledgedBy: 'it-health',
        resolvedBy: 'it-health',
      });
      expect(after.history.map((x: Json) => [x.action, x.actor])).toEqual([
        ['opened', 'system'],
        ['acknowledged', 'it-health'],
        ['resolved', 'it-health'],
      ]);
      const audit = (await adminApi(collector, 'GET', `/audit?target=device:${agent.deviceId}`))
        .records as Json[];
      expect(audit.find((r) => r.action === 'health.acknowledge')).toMatchObject({
        actor: 'it-health',
        details: { healthAlertId: alert.id, note: 'ticket 4411' },
      });
      expect(audit.find((r) => r.action === 'health.resolve')).toMatchObject({ actor: 'it-health' });
      expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await agent.disconnect();
      await page.close();
    }
  });

  it('bulk-retires two stale devices with a reason; each is retired and audited', async () => {
    // Stale after 0 days: every device not connected now (a real process cannot be aged 14 days).
    await adminApi(collector, 'PUT', '/device-health/settings', { staleDays: 0 });
    const leaverA = await TestAgent.enrol(collector, 'y13-laptop-a');
    const leaverB = await TestAgent.enrol(collector, 'y13-laptop-b');
    const stays = await TestAgent.enrol(collector, 'y12-laptop');
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/health`);
      for (const a of [leaverA, leaverB, stays])
        await expect.poll(() => page.locator(`tr[data-stale-id="${a.deviceId}"]`).count()).toBe(1);
      await page.getByLabel(`Select ${leaverA.deviceId}`).check();
      await page.getByLabel(`Select ${leaverB.deviceId}`).check();
      // No reason: nothing is done.
      await page.getByRole('button', { name: 'Retire selected' }).click();
      await expect.poll(() => page.locator('.bulk-actions .status').textContent()).toContain('Say why');
      expect((await adminApi(collector, 'GET', `/devices/${leaverA.deviceId}`)).device.revoked).toBe(false);

      await page
        .getByLabel('Reason (required, recorded in the audit log for each device)')
        .fill('Year 13 leavers');
      await page.getByRole('button', { name: 'Retire selected' }).click();
      await expect.poll(() => page.locator(`tr[data-stale-id="${leaverA.deviceId}"]`).count()).toBe(0);
      expect(await page.locator(`tr[data-stale-id="${leaverB.deviceId}"]`).count()).toBe(0);
      expect(await page.locator(`tr[data-stale-id="${stays.deviceId}"]`).count()).toBe(1);
      for (const a of [leaverA, leaverB]) {
        const d = (await adminApi(collector, 'GET', `/devices/${a.deviceId}`)).device;
        expect(d).toMatchObject({ revoked: true, retiredBy: 'it-health', retiredReason: 'Year 13 leavers' });
        const audit = (
          await adminApi(collector, 'GET', `/audit?action=device.retire&target=device:${a.deviceId}`)
        ).records as Json[];
        expect(audit).toHaveLength(1);
        expect(audit[0]).toMatchObject({ actor: 'it-health', details: { reason: 'Year 13 leavers' } });
      }
      expect((await adminApi(collector, 'GET', `/devices/${stays.deviceId}`)).device.revoked).toBe(false);
      expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('the settings form saves the one health settings record (audited)', async () => {
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/health`);
      await page.getByLabel('Offline alert after (minutes in school hours)').fill('45');
      await page.getByLabel('Sat').check();
      await page.getByLabel('Daily digest of open health items').check();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => page.locator('.health-settings .status').textContent()).toBe('Saved.');
      const { settings } = await adminApi(collector, 'GET', '/device-health/settings');
      expect(settings).toMatchObject({
        offlineMinutes: 45,
        digest: { enabled: true },
        updatedBy: 'it-health',
      });
      expect(settings.schoolHours.days).toContain(6);
      const audit = (await adminApi(collector, 'GET', '/audit?action=health.settings')).records as Json[];
      expect(audit[0]).toMatchObject({ actor: 'it-health', details: { new: { offlineMinutes: 45 } } });
      expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
