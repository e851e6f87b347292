// Issue 10 item 13 in a real Chromium against a real collector process: IT revokes a real agent
// from its device page (a reason is required and audited) and the agent stops reconnecting;
// IT retires another device; IT approves a queued replacement from the devices page.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { adminApi, createStaff, type Json, signIn, TestAgent } from './console-helpers.ts';

let collector: CollectorProcess;
let browser: TestBrowser;
let it1: { username: string; password: string };

beforeAll(async () => {
  collector = await startCollector();
  browser = await launchBrowser();
  it1 = await createStaff(collector, 'it-revoker', 'it');
});

afterAll(async () => {
  await browser?.close();
  await collector?.cleanup();
});

const device = async (id: string): Promise<Json> =>
  (await adminApi(collector, 'GET', `/devices/${id}`)).device;

describe('console: revoke, retire and replacement approval (IT)', () => {
  it('revoked in the console: a real agent is disconnected and stops reconnecting', async () => {
    const enrolled = await enrolAgent({ collector });
    // --demo: report-only idle lock and audit-only USB, so the test machine is never locked or changed.
    const agent = await startAgent({ dataDir: enrolled.dataDir, args: ['--demo'] });
    const page = await browser.newPage();
    try {
      await waitFor(async () => (await device(enrolled.deviceId)).status.connected, 'agent connected');
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/devices/${enrolled.deviceId}`);
      await expect.poll(() => page.locator('#identity-state').textContent()).toBe('enrolled');

      // No reason: nothing is sent, the page says why.
      await page.getByRole('button', { name: 'Revoke device' }).click();
      await expect.poll(() => page.locator('.identity-actions .status').textContent()).toContain('Say why');
      expect((await device(enrolled.deviceId)).revoked).toBe(false);

      await page
        .getByLabel('Reason (required, recorded in the audit log)')
        .fill('laptop reported stolen (e2e)');
      await page.getByRole('button', { name: 'Revoke device' }).click();
      await expect.poll(() => page.locator('#identity-state').textContent()).toBe('revoked');
      expect(await page.locator('#identity-revoked').textContent()).toContain('laptop reported stolen (e2e)');

      await agent.waitForLog(/revoked by the collector; not reconnecting/);
      const st = await waitFor(async () => {
        const s = JSON.parse((await agentCli(['status', '--json', '--data-dir', enrolled.dataDir])).stdout);
        return s.connection === 'revoked' ? s : undefined;
      }, 'agent status revoked');
      expect(st.lastError).toMatch(/revoked/i);
      const revoked = await device(enrolled.deviceId);
      expect(revoked).toMatchObject({
        revoked: true,
        revokedBy: 'it-revoker',
        revokedReason: 'laptop reported stolen (e2e)',
      });
      expect(revoked.status.connected).toBe(false);
      // It stops reconnecting: over 5 s (five times the agent's first retry delay, 1 s) the
      // collector sees no attempt with the revoked key, and the agent process is still running.
      await new Promise((r) => setTimeout(r, 5_000));
      expect((await device(enrolled.deviceId)).revokedConnectAttempts).toBeUndefined();
      expect(agent.logs().match(/revoked by the collector; not reconnecting/g)).toHaveLength(1);
      expect(await Promise.race([agent.exited.then(() => 'exited'), Promise.resolve('running')])).toBe(
        'running',
      );

      const audit = (
        await adminApi(collector, 'GET', `/audit?action=device.revoke&target=device:${enrolled.deviceId}`)
      ).records as Json[];
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actor: 'it-revoker',
        details: { reason: 'laptop reported stolen (e2e)' },
      });
      // The sign-in page's session probe answers 401 before sign-in; anything else is a bug.
      expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await agent.stop();
      await page.close();
      await enrolled.cleanup();
    }
  });

  it('retired in the console: revoked, marked retired, audited; the session is closed', async () => {
    const agent = await TestAgent.enrol(collector, 'old-lab-pc');
    await agent.connect();
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/devices/${agent.deviceId}`);
      await page.getByLabel('Reason (required, recorded in the audit log)').fill('sent for recycling');
      await page.getByRole('button', { name: 'Retire device' }).click();
      await expect.poll(() => page.locator('#identity-state').textContent()).toBe('retired');
      expect(await page.locator('#identity-facts').textContent()).toContain(
        'sent for recycling · data not deleted yet',
      );
      // A retired device offers no more actions.
      expect(await page.getByRole('button', { name: 'Retire device' }).count()).toBe(0);
      const d = await device(agent.deviceId);
      expect(d).toMatchObject({
        revoked: true,
        retiredBy: 'it-revoker',
        retiredReason: 'sent for recycling',
      });
      await waitFor(
        async () => !(await device(agent.deviceId)).status.connected,
        'retired device disconnected',
      );
      const audit = (
        await adminApi(collector, 'GET', `/audit?action=device.retire&target=device:${agent.deviceId}`)
      ).records as Json[];
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'it-revoker', details: { reason: 'sent for recycling' } });
      // The sign-in page's session probe answers 401 before sign-in; anything else is a bug.
      expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a queued replacement appears live on the devices page; IT approves it there with a reason', async () => {
    const machine = createHash('sha256').update(randomBytes(16)).digest('hex');
    const enrol = async () => {
      const res = await fetch(`${collector.url}/api/v1/enrol`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          secret: collector.enrolSecret,
          machineId: machine,
          hostname: 'art-room-2',
          os: 'linux',
          serial: 'SN9',
        }),
      });
      return { status: res.status, json: (await res.json()) as Json };
    };
    const first = await enrol();
    expect(first.status).toBe(200);
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/devices`);
      await expect.poll(() => page.locator('.live-state').textContent()).toContain('live');
      // The request arrives while the page is open: it appears without a reload.
      const queued = await enrol();
      expect(queued.status).toBe(202);
      const item = page.locator(`article.replacement[data-request-id="${queued.json.requestId}"]`);
      await expect.poll(() => item.textContent()).toContain('art-room-2');
      await item.getByRole('button', { name: 'Approve replacement' }).click();
      await expect.poll(() => item.locator('.status').textContent()).toContain('Give a reason');
      await item.getByLabel('Reason').fill('reimaged over half term');
      await item.getByRole('button', { name: 'Approve replacement' }).click();
      await expect.poll(() => item.count()).toBe(0);
      // Both identities carry clone suspicion, visible in the device table.
      await expect
        .poll(() => page.locator(`tr[data-device-id="${queued.json.deviceId}"]`).textContent())
        .toContain('suspected clone');
      expect(await page.locator(`tr[data-device-id="${first.json.deviceId}"]`).textContent()).toContain(
        'suspected clone',
      );
      const old = await device(first.json.deviceId);
      expect(old).toMatchObject({ revoked: true, replacedBy: queued.json.deviceId });
      const fresh = await device(queued.json.deviceId);
      expect(fresh.replacement).toMatchObject({
        how: 'approval',
        approvedBy: 'it-revoker',
        reason: 'reimaged over half term',
      });
      // The new device's page shows what it replaced and the clone suspicion.
      await page.goto(`${collector.url}/#/devices/${queued.json.deviceId}`);
      await expect
        .poll(() => page.locator('#clone-suspicion').textContent())
        .toContain('replaced on approval by it-revoker');
      expect(await page.locator('#identity-facts').textContent()).toContain(first.json.deviceId);
      // The sign-in page's session probe answers 401 before sign-in; anything else is a bug.
      expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
