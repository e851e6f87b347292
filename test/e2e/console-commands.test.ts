// IT locks a pupil's screen from the console, with nothing simulated: a real agent process on a
// real X display (Xvfb + openbox), a real collector process, Chromium signed in as an `it` user.
// "Lock now" goes console → collector → agent's live session → the agent runs i3lock on that
// display; the agent's CommandResult comes back and the console shows it without a reload, the
// timeline holds the ScreenLocked (by_policy false), and the command is in the audit log.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { startX, type XSession } from '../support/xvfb.ts';
import { timeline } from './agent-harness.ts';
import { adminApi, createStaff, signIn, TestAgent } from './console-helpers.ts';

/** The parent pid of a process (field 4 of /proc/<pid>/stat, after the parenthesised name). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Is `pid` a descendant of `ancestor`? */
function descends(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    p = parentOf(p);
    if (p === ancestor) return true;
  }
  return false;
}

/** Pids of i3lock processes drawing on `display` (other suites may run their own elsewhere). */
function lockersOn(display: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'i3lock') continue;
      const env = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
      if (env.includes(`DISPLAY=${display}`)) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

describe('device commands from the console to a real agent', () => {
  let collector: CollectorProcess;
  let browser: TestBrowser;
  let x: XSession;
  let enrolled: EnrolledAgent;
  let agent: AgentProcess;

  beforeAll(async () => {
    collector = await startCollector();
    x = await startX();
    enrolled = await enrolAgent({ collector });
    // --demo keeps idle lock report-only and USB audit-only: the only lock is the one IT asks for.
    agent = await startAgent({
      dataDir: enrolled.dataDir,
      args: ['--demo'],
      env: { ...x.env, CUSTODIAN_LOCK_COMMAND: 'i3lock -n' },
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await agent?.stop();
    await enrolled?.cleanup();
    await browser?.close();
    await x?.stop(); // also ends the i3lock on that display
    await collector?.cleanup();
  });

  it('IT clicks "Lock now": the agent locks the screen and the console shows the result', async () => {
    const it_ = await createStaff(collector, 'it-lock', 'it');
    const page = await browser.newPage();
    await signIn(page, collector.url, it_);
    await page.goto(`${collector.url}/#/devices/${enrolled.deviceId}`);
    const card = page.locator('#device-commands');
    await card.getByRole('button', { name: 'Lock now' }).waitFor();
    await page.locator('#live-h + dl .badge', { hasText: 'online' }).waitFor({ timeout: 30_000 });
    expect(lockersOn(x.display)).toEqual([]);

    await card.getByLabel('Reason for the command').fill('left logged in at the front desk');
    await card.getByRole('button', { name: 'Lock now' }).click();
    await expect.poll(() => card.locator('.status').textContent()).toContain('sent');

    // The agent's result arrives over the live feed: no reload.
    const row = card.locator('tr[data-command-id]').first();
    await expect
      .poll(() => row.locator('.command-result').textContent(), { timeout: 30_000 })
      .toContain('done');
    expect(await row.textContent()).toContain('Lock now');
    expect(await row.textContent()).toContain('it-lock');
    // i3lock forks once after it grabbed the screen; both belong to the agent's lock command.
    const lockers = lockersOn(x.display);
    expect(lockers.length).toBeGreaterThan(0);
    expect(lockers.every((pid) => descends(pid, agent.pid))).toBe(true);

    const locked = await waitFor(
      async () => (await timeline(collector, enrolled.deviceId, ['screenLocked'])).at(0),
      'screenLocked in the timeline',
      30_000,
    );
    expect(locked.event['screenLocked']).toMatchObject({ method: 'i3lock', attempt: 1 });
    expect((locked.event['screenLocked'] as { byPolicy?: boolean }).byPolicy).not.toBe(true);

    const audit = await adminApi(collector, 'GET', '/audit?action=device.command');
    const sent = audit.records.find((r: { target: string }) => r.target === `device:${enrolled.deviceId}`);
    expect(sent).toMatchObject({
      actor: 'it-lock',
      details: { kind: 'LOCK_NOW', reason: 'left logged in at the front desk', role: 'it' },
    });
    const results = await adminApi(collector, 'GET', '/audit?action=device.command-result');
    expect(
      results.records.find(
        (r: { details: { commandId: string } }) => r.details.commandId === sent.details.commandId,
      ),
    ).toMatchObject({ actor: `device:${enrolled.deviceId}`, details: { ok: true, kind: 'LOCK_NOW' } });
    await page.close();
  });

  it('IT refreshes the inventory and rescans USB: the agent reports both done', async () => {
    const it_ = await createStaff(collector, 'it-inventory', 'it');
    const page = await browser.newPage();
    await signIn(page, collector.url, it_);
    await page.goto(`${collector.url}/#/devices/${enrolled.deviceId}`);
    const card = page.locator('#device-commands');
    await page.locator('#live-h + dl .badge', { hasText: 'online' }).waitFor({ timeout: 30_000 });
    for (const label of ['Refresh inventory', 'Rescan USB']) {
      await card.getByRole('button', { name: label }).click();
      await expect.poll(() => card.locator('.status').textContent()).toContain(`“${label}” sent`);
      const row = card.locator('tr[data-command-id]', { hasText: label }).first();
      await expect
        .poll(() => row.locator('.command-result').textContent(), { timeout: 30_000 })
        .toContain('done');
    }
    await page.close();
  });

  it('a DSL sees the recent commands on the device page but no command buttons', async () => {
    const dsl = await createStaff(collector, 'dsl-cmd', 'dsl');
    const page = await browser.newPage();
    await signIn(page, collector.url, dsl);
    await page.goto(`${collector.url}/#/devices/${enrolled.deviceId}`);
    const card = page.locator('#device-commands');
    await card.locator('tr[data-command-id]').first().waitFor();
    expect(await card.getByRole('button').count()).toBe(0);
    await page.close();
  });

  it('shows a policy the agent refused on the device page, live', async () => {
    const device = await TestAgent.enrol(collector, 'refuses-policy');
    await device.connect();
    const it_ = await createStaff(collector, 'it-policy', 'it');
    const page = await browser.newPage();
    await signIn(page, collector.url, it_);
    await page.goto(`${collector.url}/#/devices/${device.deviceId}`);
    const card = page.locator('#device-commands');
    await card.getByText('No commands sent recently.').waitFor();
    expect(await card.locator('.policy-rejected').count()).toBe(0);
    await device.send({
      policyApplied: { version: 5, ok: false, error: 'invalid policy: <b>windowSampleMs</b>' },
    });
    const notice = card.locator('.policy-rejected');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('refused policy v5');
    // Device text stays text.
    expect(await notice.textContent()).toContain('<b>windowSampleMs</b>');
    expect(await notice.locator('b').count()).toBe(0);
    await device.disconnect();
    await page.close();
  });

  it('an offline device: the console says the command was not sent, and why', async () => {
    await agent.stop();
    const it_ = await createStaff(collector, 'it-offline', 'it');
    const page = await browser.newPage();
    await signIn(page, collector.url, it_);
    await page.goto(`${collector.url}/#/devices/${enrolled.deviceId}`);
    const card = page.locator('#device-commands');
    await card.locator('tr[data-command-id]').first().waitFor();
    await page.locator('#live-h + dl .badge', { hasText: 'offline' }).waitFor({ timeout: 30_000 });
    const before = await card.locator('tr[data-command-id]').count();
    await card.getByRole('button', { name: 'Rescan USB' }).click();
    await expect.poll(() => card.locator('.status').textContent()).toContain('CUST_ERR_DEVICE_OFFLINE');
    expect(await card.locator('.status').textContent()).toContain('not sent');
    expect(await card.locator('tr[data-command-id]').count()).toBe(before);
    await page.close();
  });
});
