// Subject access and erasure from the console's Data protection page, in Debian Chromium against
// a real collector process fed by a real agent-protocol client: a DSL runs a subject access
// request for a pupil and the zip the browser saves holds the expected parts (hashes checked
// against its manifest, the screenshot byte for byte); an erasure of a device whose alert is
// linked to an open incident shows, prominently, what the safeguarding hold kept and why; an
// admin sees no subject access form; a hostile device name and user name render as text.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { createStaff, type Json, makePng, signIn, staffSession, TestAgent } from './console-helpers.ts';

const SCREENSHOTS = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'screenshots');

const HOSTILE_HOST = `y9-laptop<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>\u202Egpj.exe`;
const HOSTILE_USER = `pupil"><img src=x onerror="window.__xss=3">`;

let collector: Awaited<ReturnType<typeof startCollector>>;
let browser: TestBrowser;
let dir: string;
let dsl: { username: string; password: string };
let admin: { username: string; password: string };
let laptop: TestAgent;
let other: TestAgent;
let png: Buffer;
let alertId: string;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function files(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    out.set(relative(root, full), await readFile(full));
  }
  return out;
}

beforeAll(async () => {
  collector = await startCollector();
  browser = await launchBrowser();
  dir = await mkdtemp(join(tmpdir(), 'custodian-dp-e2e-'));
  dsl = await createStaff(collector, 'dp-dsl', 'dsl');
  admin = await createStaff(collector, 'dp-admin', 'admin');
  const scratch = await browser.newPage();
  png = await makePng(scratch, 'Captured window: search results');
  await scratch.close();

  laptop = await TestAgent.enrol(collector, HOSTILE_HOST);
  await laptop.connect();
  await laptop.send(
    { heartbeat: { uptimeSeconds: 600, loggedInUser: 'ava.pupil' } },
    {
      activeWindow: { app: 'chromium', title: 'Geography homework', url: 'https://example.org/geo', pid: 9 },
    },
  );
  const blobId = await laptop.uploadBlob(png);
  await laptop.send({
    flaggedActivity: {
      category: 'suicide',
      severity: 4,
      matchedTerm: 'unalive',
      context: '… searched for "unalive" in the browser …',
      window: {
        app: 'chromium',
        title: 'unalive - Search',
        url: 'https://search.example/?q=unalive',
        pid: 9,
      },
      screenshotBlobIds: [blobId],
      source: 'url',
    },
  });
  other = await TestAgent.enrol(collector, 'library-pc-2');
  await other.connect();
  await other.send(
    { heartbeat: { uptimeSeconds: 60, loggedInUser: HOSTILE_USER } },
    { activeWindow: { app: 'writer', title: 'Essay', url: '', pid: 4 } },
  );
  const asDsl = await staffSession(collector, dsl);
  alertId = await waitFor(async () => {
    const alerts = (await asDsl('GET', '/alerts')).data?.alerts ?? [];
    return alerts.length === 1 ? String(alerts[0].id) : undefined;
  }, 'the alert');
}, 120_000);

afterAll(async () => {
  await laptop?.disconnect();
  await other?.disconnect();
  await browser?.close();
  await collector?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function openPage(who: { username: string; password: string }): Promise<Page> {
  const page = await browser.newPage();
  await signIn(page, collector.url, who);
  await page.getByRole('link', { name: 'Data protection' }).click();
  await page.getByRole('heading', { name: 'Erasure request' }).waitFor();
  return page;
}

describe('console: subject access and erasure', () => {
  it('a DSL runs a subject access request and the saved zip holds the expected parts', async () => {
    const page = await openPage(dsl);
    const sar = page.locator('#subject-access');
    await sar.getByLabel('Subject access: who').selectOption('user');
    await sar.getByLabel('Subject access: user name').fill('Ava.Pupil');
    await sar.getByLabel('Reference').fill('SAR-2026-014');
    await sar.getByRole('button', { name: 'Review export' }).click();
    // What it does is shown before it is done; nothing is exported yet.
    const confirm = sar.locator('[data-confirm="subject-access"]');
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('Ava.Pupil');
    expect(await confirm.textContent()).toContain('SAR-2026-014');
    expect(await confirm.textContent()).toContain('recorded in the audit log');
    const asAdmin = await staffSession(collector, admin);
    const audited = async () =>
      (await asAdmin('GET', '/audit?action=data-protection.subject-access')).data.records.length;
    expect(await audited()).toBe(0);

    const download = page.waitForEvent('download');
    await confirm.getByRole('button', { name: 'Export and download' }).click();
    const saved = join(dir, 'sar.zip');
    await (await download).saveAs(saved);
    await sar.locator('[data-sar-download]').waitFor();
    expect(await audited()).toBe(1);

    const out = join(dir, 'sar');
    execFileSync('unzip', ['-q', saved, '-d', out]);
    const got = await files(out);
    const manifest = JSON.parse((got.get('manifest.json') as Buffer).toString('utf8'));
    expect(manifest).toMatchObject({
      subject: 'user:Ava.Pupil',
      reference: 'SAR-2026-014',
      generatedBy: 'dp-dsl',
    });
    for (const part of manifest.parts as { path: string; sha256: string; bytes: number }[]) {
      const bytes = got.get(part.path);
      expect(bytes, part.path).toBeDefined();
      expect(sha256(bytes as Buffer), part.path).toBe(part.sha256);
    }
    const paths = [...got.keys()].sort();
    expect(paths).toEqual(
      expect.arrayContaining([
        'subject.json',
        'audit.ndjson',
        `devices/${laptop.deviceId}/device.json`,
        `devices/${laptop.deviceId}/timeline.ndjson`,
        `alerts/${alertId}.json`,
        'manifest.json',
      ]),
    );
    const shot = paths.find((p) => p.startsWith(`alerts/${alertId}/screenshots/`));
    expect(shot).toBeDefined();
    expect(got.get(shot as string)?.equals(png)).toBe(true);
    // Only Ava's device: the library PC (another user) is not in it.
    expect(paths.some((p) => p.includes(other.deviceId))).toBe(false);
    // Chromium logs the 401 of the signed-out start page's /auth/me; nothing else.
    expect(browser.errors.filter((e) => !e.includes('status of 401'))).toEqual([]);
    await page.close();
  });

  it('nothing held about a name: the page says so with the code', async () => {
    const page = await openPage(dsl);
    const sar = page.locator('#subject-access');
    await sar.getByLabel('Subject access: user name').fill('nobody.here');
    await sar.getByLabel('Reference').fill('SAR-2026-015');
    await sar.getByRole('button', { name: 'Review export' }).click();
    await sar.getByRole('button', { name: 'Export and download' }).click();
    await expect.poll(() => sar.locator('.status.error').textContent()).toContain('CUST_ERR_NOT_FOUND');
    await page.close();
  });

  it('opening the alert in the console writes one audit record (view.alert), not two', async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, dsl);
    await page.goto(`${collector.url}/#/alerts/${alertId}`);
    await page.getByRole('button', { name: /Reveal screenshot/ }).waitFor();
    // Every request the page makes on opening is done (the old page recorded the opening after drawing).
    await page.waitForLoadState('networkidle');
    const asAdmin = await staffSession(collector, admin);
    const views = async () =>
      ((await asAdmin('GET', `/audit?target=alert:${alertId}&limit=100`)).data.records as Json[])
        .map((r) => String(r.action))
        .filter((a) => a === 'view.alert' || a === 'alert.viewed');
    await waitFor(async () => (await views()).length > 0 || undefined, 'the opening audited');
    expect(await views()).toEqual(['view.alert']);
    await page.close();
  });

  it('an erasure refused in part by the safeguarding hold shows what was kept and why', async () => {
    const asDsl = await staffSession(collector, dsl);
    const esc = await asDsl('POST', `/alerts/${alertId}/escalate`, {
      incident: { title: 'Concern about a pupil' },
    });
    expect(esc.status, JSON.stringify(esc.data)).toBe(200);
    const incidentId = String(esc.data.incident?.id ?? esc.data.alert?.incidentId);

    const page = await openPage(dsl);
    const card = page.locator('#erasure');
    await card.getByLabel('Erasure: who').selectOption('device');
    // The hostile name is an option's text, never markup.
    const option = card.locator(`select[name="Erasure-device"] option[value="${laptop.deviceId}"]`);
    expect(await option.textContent()).toBe(`${HOSTILE_HOST} · ${laptop.deviceId}`);
    await card.getByLabel('Erasure: device').selectOption(laptop.deviceId);
    await card.getByRole('button', { name: 'Review erasure' }).click();
    // No grounds: refused in the page, nothing sent.
    expect(await card.locator('.status.error').textContent()).toContain('Give the reason');
    await card
      .getByLabel('Grounds for erasure')
      .fill('ER-2026-003: parent asked, grounds checked by the DPO');
    await card.getByRole('button', { name: 'Review erasure' }).click();
    const confirm = card.locator('[data-confirm="erasure"]');
    await confirm.waitFor();
    expect(await confirm.textContent()).toContain('cannot be undone');
    expect(await confirm.textContent()).toContain('safeguarding hold');
    const erase = confirm.getByRole('button', { name: 'Erase', exact: true });
    expect(await erase.isDisabled()).toBe(true);
    await confirm.getByLabel(/erasure cannot be undone/).check();
    await erase.click();

    const kept = card.locator('[data-kept]');
    await kept.waitFor();
    expect(await kept.getAttribute('role')).toBe('alert');
    const text = (await kept.textContent()) ?? '';
    expect(text).toMatch(/refused/i);
    expect(text).toContain(`alert:${alertId}`);
    expect(text).toContain(`linked to incident ${incidentId}, which is open (safeguarding hold)`);
    // What erasure always keeps (the audit log) is not shown as refused.
    expect(text).not.toContain('audit log');
    // The alert is still there for the DSL.
    expect((await asDsl('GET', `/alerts/${alertId}`)).status).toBe(200);
    // The record is listed, with the hostile device name as text.
    const row = page.locator(`#erasures tr[data-erasure-id]`).first();
    await row.waitFor();
    expect(await row.textContent()).toContain('<img src=x onerror="window.__xss=1">');
    // The right-to-left override is a visible marker (in the full name, in the title), never applied.
    expect(await row.textContent()).not.toContain('\u202E');
    expect(await row.locator('span.ext[title]').first().getAttribute('title')).toContain('⟦U+202E⟧gpj.exe');
    expect(await page.locator('#erasures img, #erasure img, #subject-access img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await page.screenshot({ path: join(SCREENSHOTS, 'data-protection.png'), fullPage: true });
    await page.close();
  });

  it('a hostile user name erased by an admin shows as text; admins get no subject access form', async () => {
    const page = await openPage(admin);
    expect(await page.locator('#subject-access form').count()).toBe(0);
    expect(await page.locator('#subject-access').textContent()).toContain('run by a DSL');
    const card = page.locator('#erasure');
    await card.getByLabel('Erasure: user name').fill(HOSTILE_USER);
    await card.getByLabel('Grounds for erasure').fill('ER-2026-004');
    await card.getByRole('button', { name: 'Review erasure' }).click();
    const confirm = card.locator('[data-confirm="erasure"]');
    expect(await confirm.textContent()).toContain(HOSTILE_USER);
    await confirm.getByLabel(/erasure cannot be undone/).check();
    await confirm.getByRole('button', { name: 'Erase', exact: true }).click();
    await card.locator('[data-erasure]').waitFor();
    expect(await card.locator('[data-erasure]').textContent()).toContain(
      'Nothing was kept back by a safeguarding hold',
    );
    const row = page.locator('#erasures tr[data-erasure-id]').first();
    await expect.poll(() => row.textContent()).toContain(HOSTILE_USER);
    expect(await page.locator('#erasures img, #erasure img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    // The only console errors: Chromium's own lines for the signed-out /auth/me (401) and the
    // 404 of "nothing held" above.
    expect(browser.errors.filter((e) => !/status of 40[14]/.test(e))).toEqual([]);
    await page.close();
  });
});
