// IT staff in a real Chromium against a real collector: the device table follows a device
// going online → offline without a reload, an uninstalled device read as such, device text that is an XSS payload renders inert,
// and the screenshot endpoint refuses an IT user with 403.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolAgent, startAgent } from '../support/agent-process.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { createStaff, signIn, staffSession, TestAgent } from './console-helpers.ts';

const SCREENSHOTS = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'screenshots');

const XSS_TITLE = `report\u202Egpj.exe <img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>"><svg onload=alert(3)>`;

describe('console: devices (IT)', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let it1: { username: string; password: string };

  beforeAll(async () => {
    // IT reads window titles here (rendering, XSS, truncation): full titles; the default (app and
    // domain) is tested in console-redaction.test.ts.
    collector = await startCollector({ env: FULL_TITLES });
    browser = await launchBrowser();
    it1 = await createStaff(collector, 'it-tech', 'it');
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.cleanup();
  });

  it('shows a device go from online to offline live when its agent stops', async () => {
    const agent = await TestAgent.enrol(collector, 'lab-pc-07');
    await agent.connect();
    await agent.send(
      { heartbeat: { uptimeSeconds: 100, loggedInUser: 'j.bloggs' } },
      { policyApplied: { version: agent.policyVersion, ok: true } },
      {
        activeWindow: {
          app: 'firefox',
          title: 'Year 9 Maths — Quadratics',
          url: 'https://example.org/maths',
          pid: 42,
        },
      },
    );
    const other = await TestAgent.enrol(collector, 'library-01');
    await other.connect();
    await other.send(
      { policyApplied: { version: other.policyVersion, ok: true } },
      { activeWindow: { app: 'libreoffice', title: 'Essay draft.odt', url: '', pid: 7 } },
    );

    // A fuller picture for the README screenshot: a locked BYOD-style laptop with a USB stick in.
    const third = await TestAgent.enrol(collector, 'staff-laptop-03');
    await third.connect();
    await third.send(
      { heartbeat: { uptimeSeconds: 5000, loggedInUser: 'ms.khan' } },
      { policyApplied: { version: third.policyVersion, ok: true } },
      { activeWindow: { app: 'thunderbird', title: 'Inbox — Staff mail', url: '', pid: 3 } },
      {
        usbAttached: {
          device: 'sdb1',
          vendor: 'SanDisk',
          product: 'Cruzer Blade',
          label: 'SANDISK',
          encryption: 2,
          decision: 2,
          decisionReason: 'unencrypted removable storage',
        },
      },
      { idleState: { state: 3, idleMs: 900_000 } },
      { screenLocked: { method: 'i3lock', idleMs: 900_000, byPolicy: true, attempt: 1 } },
    );

    const page = await browser.newPage();
    await signIn(page, collector.url, it1);
    await page.goto(`${collector.url}/#/devices`);
    const row = page.locator(`tr[data-device-id="${agent.deviceId}"]`);
    const thirdRow = page.locator(`tr[data-device-id="${third.deviceId}"]`);
    await expect.poll(() => thirdRow.textContent()).toContain('SANDISK');
    expect(await thirdRow.textContent()).toContain('locked');
    await expect.poll(() => row.locator('.status-cell').textContent()).toContain('online');
    await expect.poll(() => row.textContent()).toContain('Year 9 Maths');
    await expect.poll(() => page.locator('.live-state').textContent()).toContain('live');

    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'devices.png'), fullPage: true });

    // Mark the document: a reload would lose this, so seeing "offline" with it intact proves a live update.
    await page.evaluate(() => {
      (globalThis as unknown as { __noReload: boolean }).__noReload = true;
    });
    await agent.disconnect();
    await expect
      .poll(() => row.locator('.status-cell').textContent(), { timeout: 15_000 })
      .toContain('offline');
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
      true,
    );
    await other.disconnect();
    await third.disconnect();
    await page.close();
  });

  it('shows a real agent process go online, then offline when it is stopped', async () => {
    const enrolled = await enrolAgent({ collector });
    // --demo: report-only idle lock and audit-only USB, so the test machine is never locked or changed.
    const agent = await startAgent({ dataDir: enrolled.dataDir, args: ['--demo'] });
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/devices`);
      const row = page.locator(`tr[data-device-id="${enrolled.deviceId}"]`);
      await expect
        .poll(() => row.locator('.status-cell').textContent(), { timeout: 30_000 })
        .toContain('online');
      await page.evaluate(() => {
        (globalThis as unknown as { __noReload: boolean }).__noReload = true;
      });
      await agent.stop();
      await expect
        .poll(() => row.locator('.status-cell').textContent(), { timeout: 30_000 })
        .toContain('offline');
      expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(
        true,
      );
    } finally {
      await agent.stop();
      await page.close();
      await enrolled.cleanup();
    }
  });

  it('an uninstalled device reads "uninstalled", not offline, in the list and on its page (issue 17)', async () => {
    const agent = await TestAgent.enrol(collector, 'uninstalled-01');
    await agent.connect();
    await agent.send(
      { policyApplied: { version: agent.policyVersion, ok: true } },
      { agentStopping: { reason: 'service stop' } },
      // The user is device text: an XSS payload renders inert.
      { agentUninstalled: { method: 'dpkg remove', user: XSS_TITLE } },
    );
    await agent.disconnect();
    const page = await browser.newPage();
    try {
      await signIn(page, collector.url, it1);
      await page.goto(`${collector.url}/#/devices`);
      const cell = page.locator(`tr[data-device-id="${agent.deviceId}"] .status-cell`);
      await expect.poll(() => cell.textContent()).toContain('uninstalled');
      expect(await cell.textContent()).not.toContain('offline');
      await page.goto(`${collector.url}/#/devices/${agent.deviceId}`);
      const facts = page.locator('section[aria-labelledby="live-h"] dl.facts');
      await expect.poll(() => facts.textContent()).toContain('dpkg remove');
      expect(await facts.textContent()).toContain('uninstalled');
      // Cut to 64 characters, as text (an element would not show its markup).
      expect(await facts.textContent()).toContain('<img src=x onerror=');
      await expect.poll(() => page.locator('#timeline').textContent()).toContain('Agent uninstalled');
      expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    } finally {
      await page.close();
    }
  });

  it('renders an XSS payload in a window title as inert text', async () => {
    const agent = await TestAgent.enrol(collector, 'xss-host');
    await agent.connect();
    await agent.send({
      activeWindow: { app: '<b>app</b>', title: XSS_TITLE, url: 'javascript:alert(4)', pid: 1 },
    });

    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await signIn(page, collector.url, it1);
    await page.goto(`${collector.url}/#/devices`);
    const row = page.locator(`tr[data-device-id="${agent.deviceId}"]`);
    await expect.poll(() => row.textContent()).toContain('<img src=x onerror=');
    // The literal characters are on screen, no element was made from them, no script ran.
    expect(await row.locator('img, script, svg').count()).toBe(0);
    expect(await row.textContent()).toContain('<b>app</b>');
    // The RTL override is shown as a visible marker, not applied.
    expect(await row.textContent()).toContain('⟦U+202E⟧');

    await page.goto(`${collector.url}/#/devices/${agent.deviceId}`);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await expect
      .poll(() => page.locator('#timeline').textContent())
      .toContain('<script>window.__xss=2</script>');
    expect(await page.locator('main img, main script, main svg').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await agent.disconnect();
    await page.close();
  });

  it('truncates a 10 kB window title with the longer text in a title attribute', async () => {
    const agent = await TestAgent.enrol(collector, 'long-title');
    await agent.connect();
    const long = `START${'x'.repeat(10_000)}END`;
    await agent.send({ activeWindow: { app: 'editor', title: long, url: '', pid: 1 } });
    const page = await browser.newPage();
    await signIn(page, collector.url, it1);
    await page.goto(`${collector.url}/#/devices`);
    const cell = page.locator(`tr[data-device-id="${agent.deviceId}"] .window-cell .ext`).nth(1);
    await expect.poll(() => cell.textContent()).toContain('START');
    const shown = (await cell.textContent()) ?? '';
    // The devices table shows 80 characters of a title (devices.js), cut with an ellipsis.
    expect(shown).toBe(`START${'x'.repeat(75)}…`);
    // The title attribute holds the first 1,000 characters (h.js TITLE_MAX), cut with an ellipsis.
    expect(await cell.getAttribute('title')).toBe(`START${'x'.repeat(995)}…`);
    await agent.disconnect();
    await page.close();
  });

  it('refuses an IT user who requests a screenshot URL directly (403)', async () => {
    const agent = await TestAgent.enrol(collector, 'shot-host');
    await agent.connect();
    const page = await browser.newPage();
    const png = new Uint8Array(Buffer.from('89504e470d0a1a0a', 'hex'));
    const blobId = await agent.uploadBlob(png);
    await agent.send({
      flaggedActivity: {
        category: 'self-harm',
        severity: 4,
        matchedTerm: 'cutting myself',
        context: 'how to stop cutting myself',
        window: { app: 'firefox', title: 'how to stop cutting myself', url: '', pid: 5 },
        screenshotBlobIds: [blobId],
        source: 'title',
      },
    });
    const dsl = await staffSession(collector, await createStaff(collector, 'dsl-for-403', 'dsl'));
    const list = await dsl('GET', '/alerts?status=new');
    const alert = (list.data.alerts as { id: string; deviceId: string }[]).find(
      (a) => a.deviceId === agent.deviceId,
    );
    expect(alert).toBeDefined();
    // The same URL works for the DSL, so the IT user's 403 below is about the role, not a bad URL.
    expect((await dsl('GET', `/alerts/${alert?.id}/screenshots/${blobId}`)).status).toBe(200);

    await signIn(page, collector.url, it1);
    const status = await page.evaluate(
      async (url) => (await fetch(url)).status,
      `/api/v1/alerts/${alert?.id}/screenshots/${blobId}`,
    );
    expect(status).toBe(403);
    const listStatus = await page.evaluate(async () => (await fetch('/api/v1/alerts')).status);
    expect(listStatus).toBe(403);
    await agent.disconnect();
    await page.close();
  });
});
