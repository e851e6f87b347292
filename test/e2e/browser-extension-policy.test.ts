// Force-install by policy, as a school deploys it (issue 15): the collector packs this
// deployment's extension with its own key and serves /ext/updates.xml + the .crx; the agent
// writes the host files for that id; a managed policy names the update URL; Chromium started
// WITHOUT --load-extension installs the extension from the collector and it connects to the
// agent. The one part written to /etc is the policy file (Chromium reads policy nowhere else);
// its name is unique to this run and it is removed afterwards. The host manifest stays in the
// profile (<userDataDir>/NativeMessagingHosts).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forceInstallPolicy } from '@custodian/browser-extension';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { agentCli } from '../support/agent-process.ts';
import { CHROMIUM_PATH } from '../support/browser.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { readLog, servePages } from './browser-extension-helpers.ts';
import { type CaptureRig, startCaptureRig } from './capture-helpers.ts';

const tools = allInstalled(['Xvfb', 'openbox', 'xprop', 'xrandr', 'import', 'chromium']);
const POLICY_DIR = '/etc/chromium/policies/managed';
const policyFile = join(POLICY_DIR, `custodian-e2e-${randomBytes(6).toString('hex')}.json`);

let rig: CaptureRig | undefined;
let browser: BrowserContext | undefined;
let root: string | undefined;
let site: { url: string; close(): Promise<void> } | undefined;
afterAll(async () => {
  await rm(policyFile, { force: true });
  await browser?.close().catch(() => undefined);
  await site?.close();
  await rig?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.skipIf(!tools)('browser extension force-installed by policy from the collector', () => {
  it('installs from /ext/updates.xml without --load-extension and connects to the agent', async () => {
    root = await mkdtemp(join(tmpdir(), 'custodian-ext-policy-'));
    const runDir = join(root, 'run');
    const hostLog = join(root, 'native-host.log');
    const userDataDir = join(root, 'profile');
    rig = await startCaptureRig({ agentEnv: { CUSTODIAN_AGENT_RUN_DIR: runDir } });
    const r = rig;

    // The collector's extension: its id (the key never leaves the collector), the update manifest.
    const idRes = await fetch(`${r.collector.url}/ext/extension-id`);
    expect(idRes.status).toBe(200);
    const { extensionId, version } = (await idRes.json()) as { extensionId: string; version: string };
    expect(extensionId).toMatch(/^[a-p]{32}$/);
    const xml = await (await fetch(`${r.collector.url}/ext/updates.xml`)).text();
    expect(xml).toContain(`appid="${extensionId}"`);
    expect(xml).toContain(`codebase="${r.collector.url}/ext/custodian.crx" version="${version}"`);
    const crx = Buffer.from(await (await fetch(`${r.collector.url}/ext/custodian.crx`)).arrayBuffer());
    expect(crx.subarray(0, 4).toString('latin1')).toBe('Cr24');
    expect(crx.readUInt32LE(4)).toBe(3); // CRX3

    // What the device's packages install: host files for that id, and the managed policy.
    // The agent asks its collector for the id (the enrolled one by default; named here).
    const { stdout } = await agentCli([
      'browser-files',
      '--data-dir',
      join(root, 'agent-data'),
      '--out',
      join(userDataDir, 'NativeMessagingHosts'),
      '--server',
      r.collector.url,
      '--run-dir',
      runDir,
      '--host-log',
      hostLog,
    ]);
    expect(JSON.parse(stdout)).toMatchObject({
      extensionId,
      updateUrl: `${r.collector.url}/ext/updates.xml`,
    });
    await mkdir(POLICY_DIR, { recursive: true });
    await writeFile(policyFile, forceInstallPolicy(extensionId, `${r.collector.url}/ext/updates.xml`));

    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      // Playwright's defaults would stop the policy install silently (platform-notes).
      ignoreDefaultArgs: ['--disable-background-networking', '--disable-extensions'],
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
      timeout: 30_000,
    });

    await waitFor(
      async () => {
        const caps = ((await r.agent.status())['capabilities'] ?? []) as {
          name: string;
          available: boolean;
        }[];
        return caps.find((c) => c.name === 'browser_extension' && c.available);
      },
      'the force-installed extension connected to the agent',
      90_000,
      500,
    );
    expect(await readLog(hostLog)).toContain(`"extensionId":"${extensionId}"`);

    // And it works: a page's text becomes an alert with its URL.
    site = await servePages({
      '/diary': '<!doctype html><title>My diary</title><p>some days I think about how to tie a noose</p>',
    });
    const page = await browser.newPage();
    await page.goto(`${site.url}/diary`);
    const alert = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'page'),
      'alert from the force-installed extension',
      60_000,
      200,
    );
    expect(alert).toMatchObject({
      term: 'how to tie a noose',
      windowUrl: `${site.url}/diary`,
      windowTitle: 'My diary',
    });
  });
});
