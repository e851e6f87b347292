// Dual control in a real Chromium against a real collector (issue 18 item 5): two DSLs, each in
// their own browser (separate cookie jars). The lead switches dual control on, opens a severity-5
// alert and finds no "Reveal" — only "Ask a second DSL"; the deputy approves on "Requests &
// notices"; the lead then reveals the screenshot, and the audit record of that view names both.
// The alert page's "Export CSV" downloads the alert as a CSV for CPOMS/MyConcern.
import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { adminApi, createStaff, makePng, signIn, staffSession, TestAgent } from './console-helpers.ts';

describe('console: dual control with two DSL sessions', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let leadBrowser: TestBrowser;
  let deputyBrowser: TestBrowser;
  let lead: { username: string; password: string };
  let deputy: { username: string; password: string };
  let agent: TestAgent;
  let alertId: string;

  beforeAll(async () => {
    collector = await startCollector();
    leadBrowser = await launchBrowser();
    deputyBrowser = await launchBrowser();
    lead = await createStaff(collector, 'dsl-lead', 'dsl');
    deputy = await createStaff(collector, 'dsl-deputy', 'dsl');
    agent = await TestAgent.enrol(collector, 'y9-laptop-03');
    await agent.connect();
    const scratch = await leadBrowser.newPage();
    const png = await makePng(scratch, 'Captured window: search results');
    await scratch.close();
    await agent.send({ heartbeat: { uptimeSeconds: 60, loggedInUser: 'pupil.b' } });
    await agent.send({
      flaggedActivity: {
        category: 'suicide',
        severity: 5,
        matchedTerm: 'how to end my life',
        context: '… searched for "how to end my life" …',
        window: {
          app: 'chromium',
          title: 'how to end my life - Search',
          url: 'https://search.example/',
          pid: 7,
        },
        screenshotBlobIds: [await agent.uploadBlob(png)],
        source: 'url',
      },
    });
    const asLead = await staffSession(collector, lead);
    alertId = await waitFor(
      async () => (await asLead('GET', '/alerts')).data.alerts[0]?.id as string | undefined,
      'the flagged activity to open an alert',
    );
  });

  afterAll(async () => {
    await agent?.disconnect();
    await leadBrowser?.close();
    await deputyBrowser?.close();
    await collector?.cleanup();
  });

  it('the lead cannot reveal (or switch dual control off) alone; the deputy approves; both are on record', async () => {
    const leadPage = await leadBrowser.newPage();
    await signIn(leadPage, collector.url, lead);

    // The lead switches dual control on (the school's one settings record).
    await leadPage.goto(`${collector.url}/#/inbox`);
    await leadPage.getByLabel('Second DSL needed to reveal screenshots').check();
    await leadPage.getByLabel('From severity').fill('4');
    await leadPage.getByLabel('Reason for the change').fill('Belmont policy: do not view misuse alone');
    await leadPage.getByRole('button', { name: 'Save dual control' }).click();
    await leadPage.locator('#dual-control-settings .status.ok').waitFor();

    // On the alert: no reveal button, no image request; only the request form.
    const shotRequests: string[] = [];
    leadPage.on('request', (r) => {
      if (r.url().includes('/screenshots/')) shotRequests.push(r.url());
    });
    await leadPage.goto(`${collector.url}/#/alerts/${alertId}`);
    await leadPage.getByRole('button', { name: 'Ask a second DSL' }).waitFor();
    expect(await leadPage.getByRole('button', { name: /Reveal screenshot/ }).count()).toBe(0);
    // Going round the console does not help: the server refuses the image itself.
    const direct = await leadPage.evaluate(async (id) => {
      const alert = (await (await fetch(`/api/v1/alerts/${id}`)).json()) as {
        screenshots: { url: string }[];
      };
      const r = await fetch(alert.screenshots[0]?.url ?? '');
      const body = (await r.json()) as { error: { code: string } };
      return { status: r.status, code: body.error.code };
    }, alertId);
    expect(direct).toEqual({ status: 403, code: 'CUST_ERR_DUAL_CONTROL_REQUIRED' });
    expect(shotRequests).toHaveLength(1); // that refused try, nothing from the page itself

    await leadPage.getByLabel('Why you need to see it').fill('Form tutor reports a disclosure this morning');
    await leadPage.getByRole('button', { name: 'Ask a second DSL' }).click();
    await leadPage.locator('.dual-control[data-state="pending"]').waitFor();
    expect(await leadPage.locator('.dual-control[data-state="pending"]').textContent()).toContain(
      'Waiting for a second DSL',
    );

    // The lead's own request is listed for them, but not theirs to decide.
    const leadInbox = await leadBrowser.newPage();
    await leadInbox.goto(`${collector.url}/#/inbox`);
    const ownRow = leadInbox.locator('#reveal-requests tr[data-reveal-request]');
    await ownRow.waitFor();
    expect(await ownRow.textContent()).toContain('yours: another DSL decides');
    expect(await ownRow.getByRole('button', { name: 'Approve reveal' }).count()).toBe(0);
    await leadInbox.close();

    // The deputy, in another browser, approves.
    const deputyPage = await deputyBrowser.newPage();
    await signIn(deputyPage, collector.url, deputy);
    await deputyPage.goto(`${collector.url}/#/inbox`);
    const row = deputyPage.locator('#reveal-requests tr[data-reveal-request]');
    await row.waitFor();
    expect(await row.textContent()).toContain('dsl-lead');
    expect(await row.textContent()).toContain('Form tutor reports a disclosure');
    await row.getByRole('button', { name: 'Approve reveal' }).click();
    await deputyPage.getByText('No screenshot requests waiting.').waitFor();

    // Back with the lead: the reveal is now possible, and says who approved.
    await leadPage.getByRole('button', { name: 'Check again' }).click();
    await leadPage.getByRole('button', { name: /Reveal screenshot/ }).waitFor();
    expect(await leadPage.locator('.dual-control[data-state="approved"]').textContent()).toContain(
      'dsl-deputy',
    );
    expect(shotRequests).toHaveLength(1);
    await leadPage.getByRole('button', { name: /Reveal screenshot/ }).click();
    const img = leadPage.locator('img.shot');
    await img.waitFor();
    await expect
      .poll(() => img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth))
      .toBe(640);
    expect(shotRequests).toHaveLength(2);

    const views = await adminApi(collector, 'GET', `/audit?action=screenshot.viewed&target=alert:${alertId}`);
    expect(views.records).toHaveLength(1);
    expect(views.records[0]).toMatchObject({
      actor: 'dsl-lead',
      details: { dualControl: { requestedBy: 'dsl-lead', approvedBy: 'dsl-deputy' } },
    });

    // The same page downloads the alert as CSV (audited on the server).
    const downloading = leadPage.waitForEvent('download');
    await leadPage.getByRole('link', { name: 'Export CSV' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(`alert-${alertId}.csv`);
    const file = await download.path();
    const csv = await readFile(file, 'utf8');
    expect(csv.startsWith('record_type,record_id,occurred_at,date,time,pupil_name,')).toBe(true);
    expect(csv).toContain(alertId);
    expect(csv).toContain('pupil.b');
    await rm(file, { force: true });
    const exported = await adminApi(
      collector,
      'GET',
      `/audit?action=records.exported&target=alert:${alertId}`,
    );
    expect(exported.records[0]).toMatchObject({ actor: 'dsl-lead', details: { count: 1, format: 'csv' } });

    // The queue's export takes its filters: severity 5+, as JSON.
    await leadPage.goto(`${collector.url}/#/alerts`);
    await leadPage.getByRole('heading', { name: 'Alerts' }).waitFor();
    await leadPage.getByLabel('Status').selectOption('');
    await leadPage.getByLabel('Severity').selectOption('5');
    const listDownload = leadPage.waitForEvent('download');
    await leadPage.getByRole('link', { name: 'Export JSON' }).click();
    const listFile = await (await listDownload).path();
    const doc = JSON.parse(await readFile(listFile, 'utf8'));
    expect(doc.export).toMatchObject({ kind: 'alerts', count: 1, filters: { minSeverity: 5 } });
    expect(doc.records[0].record_id).toBe(alertId);
    await rm(listFile, { force: true });

    // Switching it off alone is not possible: it waits for the deputy, who approves it.
    await leadPage.goto(`${collector.url}/#/inbox`);
    await leadPage.getByLabel('Second DSL needed to reveal screenshots').uncheck();
    await leadPage.getByLabel('Reason for the change').fill('Trial over');
    await leadPage.getByRole('button', { name: 'Save dual control' }).click();
    await leadPage.getByText('Loosening dual control needs another DSL').waitFor();
    expect(await leadPage.locator('[data-state="change-pending"]').textContent()).toContain('Yours');
    expect((await adminApi(collector, 'GET', '/audit?action=dual-control.changed')).records).toHaveLength(1);
    // The deputy is still on "Requests & notices": a reload shows the change waiting.
    await deputyPage.reload();
    await deputyPage
      .locator('[data-state="change-pending"]')
      .getByRole('button', { name: 'Approve change' })
      .click();
    await deputyPage.getByText('Approved: the change applies now.').waitFor();
    const changes = await adminApi(collector, 'GET', '/audit?action=dual-control.changed');
    expect(changes.records[0]).toMatchObject({
      actor: 'dsl-deputy',
      details: { requestedBy: 'dsl-lead', approvedBy: 'dsl-deputy', to: { enabled: false } },
    });

    const errors = [...leadBrowser.errors, ...deputyBrowser.errors].filter(
      (e) => !e.includes('401') && !e.includes('403'),
    );
    expect(errors).toEqual([]);
    await leadPage.close();
    await deputyPage.close();
  });
});
