// The school's own BYOD agreement in Chromium against a real collector process (issue 19 item 6):
// an admin edits the text on the Data protection page and publishes it; the public enrolment page
// shows the new version; the real agent CLI enrols a BYOD laptop showing and accepting the new
// text; the laptop enrolled under the old text shows "agreement outdated" to IT; the acceptance
// export holds both; the governors' report shows the views of safeguarding content by role.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCli } from '../support/agent-process.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { startCollector } from '../support/collector-process.ts';
import { adminApi, createStaff, signIn, staffSession } from './console-helpers.ts';

describe('console: the BYOD agreement edited and accepted', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let browser: TestBrowser;
  let dir: string;

  beforeAll(async () => {
    collector = await startCollector();
    browser = await launchBrowser();
    dir = await mkdtemp(join(tmpdir(), 'custodian-agreement-e2e-'));
  });
  afterAll(async () => {
    await browser?.close();
    await collector?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const enrolWithAgent = async (name: string, dataDir: string) => {
    const { code } = await adminApi(collector, 'POST', '/enrol/codes', { ttlHours: 1 });
    const { stdout } = await agentCli(
      [
        'enrol',
        '--server',
        collector.url,
        '--code',
        code,
        '--name',
        name,
        '--accept-agreement',
        '--data-dir',
        dataDir,
      ],
      { env: { ...process.env, CUSTODIAN_AGENT_MACHINE_ID: randomBytes(16).toString('hex') } },
    );
    const creds = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as {
      deviceId: string;
    };
    return { stdout, deviceId: creds.deviceId };
  };

  it('an admin publishes new text; the next BYOD enrolment shows and accepts it; older devices are outdated', async () => {
    const before = (await (await fetch(`${collector.url}/api/v1/agreement`)).json()) as { version: string };
    const early = await enrolWithAgent('Early Enroller', join(dir, 'early'));

    const admin = await createStaff(collector, 'dp-admin', 'admin');
    const page = await browser.newPage();
    await signIn(page, collector.url, admin);
    await page.getByRole('link', { name: 'Data protection' }).click();
    await page.getByRole('heading', { name: 'BYOD acceptable use agreement' }).waitFor();
    const text = `Oakfield Academy BYOD agreement\n\n1. Monitoring applies on the school network only.\n2. <b>Not bold</b> — text, never markup.\n`;
    await page.getByLabel('Agreement text').fill(text);
    await page.getByLabel('Reason').fill('new wording agreed by governors');
    await page.getByRole('button', { name: 'Publish new version' }).click();
    const year = new Date().getUTCFullYear();
    await page.getByText(`Published version ${year}-2.`).waitFor();
    await page.locator(`[data-agreement-version="${year}-2"]`).waitFor();
    expect(await page.locator('form b').count()).toBe(0);

    const current = (await (await fetch(`${collector.url}/api/v1/agreement`)).json()) as {
      version: string;
      sha256: string;
      text: string;
    };
    expect(current).toMatchObject({ version: `${year}-2`, text });
    expect(current.version).not.toBe(before.version);

    // The public enrolment page shows the new text exactly.
    const enrolPage = await browser.newPage();
    await enrolPage.goto(`${collector.url}/enrol?code=ABCD-EFGH`);
    await enrolPage.getByRole('heading', { name: 'Enrol your own device' }).waitFor();
    expect(await enrolPage.locator('pre.agreement').textContent()).toBe(text);
    await enrolPage.close();

    // The real agent fetches, shows and accepts the new version.
    const late = await enrolWithAgent('Late Enroller', join(dir, 'late'));
    expect(late.stdout).toContain('Monitoring applies on the school network only.');
    const { device } = await adminApi(collector, 'GET', `/devices/${late.deviceId}`);
    expect(device).toMatchObject({
      byod: { userName: 'Late Enroller', agreementVersion: current.version, agreementSha256: current.sha256 },
      agreementOutdated: false,
    });

    // IT sees the early laptop as outdated in the device list.
    const it = await createStaff(collector, 'dp-it', 'it');
    await signIn(page, collector.url, it);
    await page.goto(`${collector.url}/#/devices`);
    const earlyRow = page.locator(`tr[data-device-id="${early.deviceId}"]`);
    await earlyRow.getByText('agreement outdated').waitFor();
    expect(
      await page.locator(`tr[data-device-id="${late.deviceId}"]`).getByText('agreement outdated').count(),
    ).toBe(0);

    // Both acceptances, with their versions, in the export the admin downloads.
    const session = await staffSession(collector, admin);
    const csv = await session('GET', '/agreement/acceptances?format=csv');
    expect(csv.status).toBe(200);
    const lines = String(csv.data).trimEnd().split('\r\n');
    expect(lines[1]).toContain(`Early Enroller,${before.version},`);
    expect(lines[2]).toContain(`Late Enroller,${current.version},${current.sha256}`);
    expect(browser.errors.filter((e) => !e.includes('401'))).toEqual([]);
    await page.close();
  });

  it('governors see views of safeguarding content by role on their reports page, without names', async () => {
    const dsl = await createStaff(collector, 'dp-dsl', 'dsl');
    const dslApi = await staffSession(collector, dsl);
    expect((await dslApi('GET', '/alerts')).status).toBe(200);
    expect((await dslApi('GET', '/incidents')).status).toBe(200);
    const governor = await createStaff(collector, 'dp-gov', 'governor');
    const page = await browser.newPage();
    await signIn(page, collector.url, governor);
    await page.goto(`${collector.url}/#/reports`);
    await page.getByRole('heading', { name: 'Views of safeguarding content' }).waitFor();
    const dslRow = page.locator('#reads tr[data-role="dsl"]');
    await dslRow.waitFor();
    const cells = await dslRow.locator('td').allTextContents();
    expect(cells[0]).toBe('dsl');
    expect(
      cells
        .slice(1)
        .map(Number)
        .reduce((a, b) => a + b, 0),
    ).toBe(2);
    expect(await page.locator('#reads').textContent()).not.toContain('dp-dsl');

    // The DSL reads the agreement and the DPIA draft, and cannot publish.
    await signIn(page, collector.url, dsl);
    await page.getByRole('link', { name: 'Data protection' }).click();
    await page.getByRole('heading', { name: 'DPIA draft' }).waitFor();
    await page.locator('[data-dpia-version]').waitFor();
    expect(await page.getByRole('button', { name: 'Publish new version' }).count()).toBe(0);
    expect(await page.locator('pre.agreement').textContent()).toContain('Oakfield Academy BYOD agreement');
    const href = await page.getByRole('link', { name: 'download Markdown' }).getAttribute('href');
    const md = await page.evaluate(async (u) => (await fetch(u as string)).text(), href);
    expect(md).toContain('# Data Protection Impact Assessment');
    await page.close();
  });
});
