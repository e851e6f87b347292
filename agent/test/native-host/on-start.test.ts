// `run --browser-files ROOT` (the .deb passes "/"): once enrolled, the agent asks its real collector
// for the extension id and writes the host files under ROOT; the force-install policy only where
// IT left the marker. Here ROOT is a temp dir and the collector a real process.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../../../test/support/collector-process.ts';
import type { AgentLogger } from '../../src/core/contracts.ts';
import { saveCredentials } from '../../src/identity/credentials.ts';
import { LINUX_LAUNCHER, LINUX_POLICY_FILE } from '../../src/native-host/browser-files.ts';
import { POLICY_DIRS_LINUX } from '../../src/native-host/deploy.ts';
import { FORCE_INSTALL_MARKER, refreshBrowserFiles } from '../../src/native-host/on-start.ts';
import { WINDOWS_HOST_LAUNCHER, WINDOWS_HOST_MANIFEST } from '../../src/native-host/windows-layout.ts';
import type { BrowserPolicyStore } from '../../src/platform/browser-policy.ts';

let collector: CollectorProcess;
const dirs: string[] = [];
beforeAll(async () => {
  collector = await startCollector();
}, 120_000);
afterAll(async () => {
  await collector?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function logger(): AgentLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    info: () => undefined,
    debug: () => undefined,
    error: () => undefined,
    warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`),
  };
}

async function enrolledDevice(serverUrl: string): Promise<{ root: string; dataDir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'custodian-bf-start-'));
  dirs.push(root);
  const dataDir = join(root, 'data');
  await saveCredentials(dataDir, {
    deviceId: 'dev-1',
    deviceKey: 'not-used-here',
    serverUrl,
    enrolledAt: new Date().toISOString(),
    kind: 'secret',
  });
  return { root, dataDir };
}

const policyPaths = (root: string) =>
  Object.values(POLICY_DIRS_LINUX).map((d) => join(root, d, LINUX_POLICY_FILE));

describe('browser host files kept by the running agent', () => {
  it("writes the host files for its collector's extension id, and no policy without the marker", async () => {
    const { root, dataDir } = await enrolledDevice(collector.url);
    const r = await refreshBrowserFiles(root, dataDir, logger());
    const { extensionId } = (await (await fetch(`${collector.url}/ext/extension-id`)).json()) as {
      extensionId: string;
    };
    expect(r?.extensionId).toBe(extensionId);
    expect(r?.written).toContain(join(root, LINUX_LAUNCHER));
    for (const p of policyPaths(root)) await expect(readFile(p)).rejects.toThrow(/ENOENT/);
  }, 120_000);

  it('with the marker IT asked for, the force-install policy names the collector', async () => {
    const { root, dataDir } = await enrolledDevice(collector.url);
    await mkdir(join(root, FORCE_INSTALL_MARKER, '..'), { recursive: true });
    await writeFile(join(root, FORCE_INSTALL_MARKER), '');
    const r = await refreshBrowserFiles(root, dataDir, logger());
    for (const p of policyPaths(root))
      expect(JSON.parse(await readFile(p, 'utf8'))).toEqual({
        ExtensionInstallForcelist: [`${r!.extensionId};${collector.url}/ext/updates.xml`],
      });
  }, 120_000);

  it("Windows: ROOT is the agent's folder; the .cmd launcher and the manifest go there, no .reg, no policy", async () => {
    const { root, dataDir } = await enrolledDevice(collector.url);
    const r = await refreshBrowserFiles(root, dataDir, logger(), 'win32');
    expect(r?.written.sort()).toEqual(
      [join(root, WINDOWS_HOST_LAUNCHER), join(root, WINDOWS_HOST_MANIFEST)].sort(),
    );
    const manifest = JSON.parse(await readFile(join(root, WINDOWS_HOST_MANIFEST), 'utf8'));
    expect(manifest.allowed_origins).toEqual([`chrome-extension://${r!.extensionId}/`]);
    expect(manifest.path).toBe(win32.join(root, WINDOWS_HOST_LAUNCHER));
  }, 120_000);

  it("Windows: the force-install entry goes to the registry only when the MSI's BROWSER_POLICY asks for it", async () => {
    const { root, dataDir } = await enrolledDevice(collector.url);
    const applied: (string | undefined)[] = [];
    const store = (requested: string | undefined): BrowserPolicyStore => ({
      requested: async () => requested,
      apply: async (entry) => {
        applied.push(entry);
        return [{ browser: 'chrome', action: entry ? 'set' : 'none' }];
      },
    });
    const r = await refreshBrowserFiles(root, dataDir, logger(), 'win32', store('force-install'));
    expect(applied).toEqual([`${r!.extensionId};${collector.url}/ext/updates.xml`]);
    // Installed (or upgraded) without the property: the agent's own entry is taken out again.
    await refreshBrowserFiles(root, dataDir, logger(), 'win32', store(undefined));
    const log = logger();
    await refreshBrowserFiles(root, dataDir, log, 'win32', store('yes please'));
    expect(applied.slice(1)).toEqual([undefined, undefined]);
    expect(log.warnings.join('\n')).toContain('BROWSER_POLICY not understood');
  }, 120_000);

  it('a collector that cannot be reached: nothing written, a warning with the reason, no throw', async () => {
    const { root, dataDir } = await enrolledDevice('http://127.0.0.1:9');
    const log = logger();
    expect(await refreshBrowserFiles(root, dataDir, log)).toBeUndefined();
    expect(log.warnings.join('\n')).toContain('browser extension host files not written');
    await expect(readFile(join(root, LINUX_LAUNCHER))).rejects.toThrow(/ENOENT/);
  }, 120_000);

  it('not enrolled: nothing to ask, nothing written', async () => {
    const root = await mkdtemp(join(tmpdir(), 'custodian-bf-start-'));
    dirs.push(root);
    expect(await refreshBrowserFiles(root, join(root, 'data'), logger())).toBeUndefined();
  });
});
