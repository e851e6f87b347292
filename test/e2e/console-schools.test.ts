// Tenancy in a real Chromium against a real collector process: two schools, a device and an
// alert in each (enrolled with each school's own secret, flagged through real ingest). A
// trust-wide admin manages the schools page and sees each device's school with a filter; school
// A's IT and DSL see only school A, with no school column, filter or Schools page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { adminApi, createStaff, type Json, signIn, TestAgent } from './console-helpers.ts';

const A = 'school-a';
const B = 'school-b';

describe('console: schools of a trust', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let admin: { username: string; password: string };
  let dslTrust: { username: string; password: string };
  let itA: { username: string; password: string };
  let dslA: { username: string; password: string };
  let adminA: { username: string; password: string };
  const secrets: Record<string, string> = {};
  const agents: TestAgent[] = [];

  /** Limits an account to one school (a trust-wide admin, through the user routes). */
  async function limit(username: string, school: string) {
    const users = (await adminApi(collector, 'GET', '/users')).users as Json[];
    const u = users.find((x) => x.username === username);
    await adminApi(collector, 'PATCH', `/users/${u.id}`, { schools: [school], reason: 'school staff' });
  }

  beforeAll(async () => {
    collector = await startCollector();
    browser = await launchBrowser();
    await adminApi(collector, 'POST', '/schools', { id: A, name: 'Alpha Academy' });
    await adminApi(collector, 'POST', '/schools', { id: B, name: 'Beta Academy' });
    for (const [school, host] of [
      [A, 'alpha-lab-01'],
      [B, 'beta-lab-01'],
    ] as const) {
      const { secret } = await adminApi(collector, 'POST', '/enrol/secret/rotate', { schoolId: school });
      secrets[school] = secret;
      const agent = await TestAgent.enrol({ ...collector, enrolSecret: secret }, host);
      await agent.connect();
      await agent.send({
        flaggedActivity: {
          category: 'suicide',
          severity: 4,
          matchedTerm: `${host}-term`,
          context: 'searched',
          window: { app: 'chromium', title: 'Search', url: 'https://search.example/', pid: 9 },
          screenshotBlobIds: [],
          source: 'url',
        },
      });
      agents.push(agent);
    }
    admin = await createStaff(collector, 'trust-admin', 'admin');
    dslTrust = await createStaff(collector, 'trust-dsl', 'dsl');
    itA = await createStaff(collector, 'alpha-it', 'it');
    await limit('alpha-it', A);
    dslA = await createStaff(collector, 'alpha-dsl', 'dsl');
    await limit('alpha-dsl', A);
    adminA = await createStaff(collector, 'alpha-admin', 'admin');
    await limit('alpha-admin', A);
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) await a.disconnect();
    await browser?.close();
    await collector?.cleanup();
  });

  it('a trust-wide admin adds and renames a school, and filters devices by school', async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, admin);
    await page.getByRole('link', { name: 'Schools' }).click();
    const table = page.locator('#schools-table');
    await expect.poll(() => table.locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Id', { exact: true }).fill('gamma');
    await page.getByLabel('Name', { exact: true }).fill('Gamma School');
    await page.getByRole('button', { name: 'Add school' }).click();
    await table.locator('tr[data-school-id="gamma"]').waitFor();
    await page.getByLabel('New name for gamma').fill('Gamma Primary');
    await table.locator('tr[data-school-id="gamma"]').getByRole('button', { name: 'Rename' }).click();
    await expect
      .poll(async () => (await adminApi(collector, 'GET', '/schools')).schools.map((s: Json) => s.name))
      .toContain('Gamma Primary');

    await page.goto(`${collector.url}/#/devices`);
    const rows = page.locator('#devices-table tbody tr[data-device-id]');
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => page.locator(`td[data-school="${B}"]`).textContent()).toBe('Beta Academy');
    await page.locator('select[data-school-filter]').selectOption(B);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('beta-lab-01');
    await page.close();
  });

  it('a trust-wide admin gives an account two schools on the Staff page (not trust-wide and a school at once)', async () => {
    await adminApi(collector, 'POST', '/users', {
      username: 'shared-it',
      role: 'it',
      password: 'a long enough password 1',
      schools: [A],
    });
    const page = await browser.newPage();
    await signIn(page, collector.url, admin);
    await page.getByRole('link', { name: 'Staff' }).click();
    const picker = page.getByLabel('Schools of shared-it');
    await expect.poll(() => picker.locator('option:checked').allTextContents()).toEqual(['Alpha Academy']);
    const row = page.locator('tr[data-username="shared-it"]');
    await page.getByLabel(/Reason for a role change/).fill('covers both schools from January');
    await picker.selectOption(['', A]);
    await row.getByRole('button', { name: 'Save schools' }).click();
    await page.getByText('Choose trust-wide or schools, not both.').waitFor();
    await picker.selectOption([A, B]);
    await row.getByRole('button', { name: 'Save schools' }).click();
    await page.getByText('shared-it now sees Alpha Academy, Beta Academy.').waitFor();
    const users = (await adminApi(collector, 'GET', '/users')).users as Json[];
    expect(users.find((u) => u.username === 'shared-it')?.schools).toEqual([A, B]);
    await page.close();
  });

  it('an admin of schools A and B sees which school each device is in, but no trust-wide controls', async () => {
    const two = await createStaff(collector, 'ab-admin', 'admin');
    const users = (await adminApi(collector, 'GET', '/users')).users as Json[];
    const u = users.find((x) => x.username === 'ab-admin');
    await adminApi(collector, 'PATCH', `/users/${u.id}`, { schools: [A, B], reason: 'covers both' });
    const page = await browser.newPage();
    await signIn(page, collector.url, two);
    await page.goto(`${collector.url}/#/devices`);
    const rows = page.locator('#devices-table tbody tr[data-device-id]');
    await expect
      .poll(() => page.locator(`td[data-school="${B}"]`).first().textContent())
      .toBe('Beta Academy');
    await page.locator('select[data-school-filter]').selectOption(A);
    // Only school A's devices (alpha-lab-01, and alpha-lab-02 enrolled by another test), none of B's.
    const labs = async () =>
      (await rows.allTextContents()).map((t) =>
        t.includes('beta-lab') ? 'B' : t.includes('alpha-lab') ? 'A' : '?',
      );
    await expect.poll(async () => [...new Set(await labs())]).toEqual(['A']);
    // A device's page names its school, with no "Move" (moving between schools is the trust's).
    await page.goto(`${collector.url}/#/devices/${agents[1]?.deviceId}`);
    await expect.poll(() => page.locator('#device-school').textContent()).toBe('Beta Academy');
    expect(await page.locator('#school-move-to').count()).toBe(0);
    // A new account gets both schools by default; "trust-wide" is not offered.
    await page.goto(`${collector.url}/#/users`);
    const picker = page.getByLabel('Schools of the new account');
    await expect
      .poll(() => picker.locator('option').allTextContents())
      .toEqual(['Alpha Academy', 'Beta Academy']);
    expect(await picker.locator('option:checked').allTextContents()).toEqual([
      'Alpha Academy',
      'Beta Academy',
    ]);
    await page.close();
  });

  it("school A's IT sees only school A's devices, with no school column, filter or Schools page", async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, itA);
    await page.goto(`${collector.url}/#/devices`);
    const rows = page.locator('#devices-table tbody tr[data-device-id]');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('alpha-lab-01');
    expect(await page.locator('body').textContent()).not.toContain('beta-lab-01');
    expect(await page.locator('select[data-school-filter]').count()).toBe(0);
    expect(await page.locator('td[data-school]').count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Schools' }).count()).toBe(0);
    // Typing B's device into the address bar shows "not found", never the device.
    await page.goto(`${collector.url}/#/devices/${agents[1]?.deviceId}`);
    await expect.poll(() => page.locator('.error').count()).toBeGreaterThan(0);
    expect(await page.locator('body').textContent()).not.toContain('beta-lab-01');
    await page.close();
  });

  it("school A's admin runs enrolment for school A: the trust default read-only, a BYOD code and a new secret for A", async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, adminA);
    await page.getByRole('link', { name: 'Policy & enrolment' }).click();
    // The trust default is shown, but not editable (the collector refuses the change: 403).
    await page.getByText('set by the trust').waitFor();
    const trustForm = page.locator('form').first();
    await expect.poll(() => trustForm.locator('input:not([disabled])').count()).toBe(0);
    // The school layer picker offers school A only.
    const layerSchools = page.getByLabel('School', { exact: true }).first();
    await expect.poll(() => layerSchools.locator('option').allTextContents()).toEqual(['Alpha Academy']);

    // A BYOD code: one school, so no picker; the code enrols into school A.
    await page.getByLabel('Note').fill('Year 12 laptop');
    await page.getByRole('button', { name: 'Create code' }).click();
    const code = (await page.locator('[data-enrol-code]').getAttribute('data-enrol-code')) ?? '';
    expect(code).toMatch(/^[A-Za-z0-9-]{8,}$/);
    const codes = (await adminApi(collector, 'GET', '/enrol/codes')).codes as Json[];
    expect(codes.filter((c) => code.startsWith(String(c.hint))).map((c) => c.schoolId)).toEqual([A]);

    // The secret: refused without the confirmation, then replaced; the old one stops enrolling
    // and the new one enrols into school A.
    await page.getByRole('button', { name: 'Replace the secret' }).click();
    await page.getByText('Tick the box to confirm').waitFor();
    expect(await page.locator('[data-enrol-secret]').count()).toBe(0);
    await page.getByLabel('The old secret stops working at once').check();
    await page.getByRole('button', { name: 'Replace the secret' }).click();
    const secret = (await page.locator('[data-enrol-secret]').getAttribute('data-enrol-secret')) ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(secret).not.toBe(secrets[A]);
    await expect(
      TestAgent.enrol({ ...collector, enrolSecret: secrets[A] ?? '' }, 'alpha-old-secret'),
    ).rejects.toThrow(/401|403/);
    const fresh = await TestAgent.enrol({ ...collector, enrolSecret: secret }, 'alpha-lab-02');
    expect((await adminApi(collector, 'GET', `/devices/${fresh.deviceId}`)).device.schoolId).toBe(A);
    // School B's secret was not touched.
    const other = await TestAgent.enrol({ ...collector, enrolSecret: secrets[B] ?? '' }, 'beta-lab-02');
    expect((await adminApi(collector, 'GET', `/devices/${other.deviceId}`)).device.schoolId).toBe(B);
    expect(await page.locator('body').textContent()).not.toContain('Beta Academy');
    await page.close();
  });

  it("the alert queue: a trust-wide DSL sees both schools' alerts with their school; school A's DSL only A's", async () => {
    const page = await browser.newPage();
    await signIn(page, collector.url, dslTrust);
    await page.goto(`${collector.url}/#/alerts`);
    const rows = page.locator('#alerts-table tbody tr[data-alert-id]');
    await page.locator('select[data-school-filter]').selectOption('');
    await expect.poll(() => rows.count()).toBe(2);
    await expect.poll(() => page.locator(`td[data-school="${B}"]`).textContent()).toBe('Beta Academy');
    await page.locator('select[data-school-filter]').selectOption(A);
    await expect.poll(() => rows.count()).toBe(1);

    await signIn(page, collector.url, dslA);
    await page.goto(`${collector.url}/#/alerts`);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('alpha-lab-01-term');
    expect(await page.locator('body').textContent()).not.toContain('beta-lab-01');
    expect(await page.locator('select[data-school-filter]').count()).toBe(0);
    await page.close();
  });
});
