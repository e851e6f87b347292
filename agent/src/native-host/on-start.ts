// The installed agent keeps the browser extension's host files in place itself (`run
// --browser-files ROOT`, the .deb passes "/"): the extension id belongs to the collector (its
// packing key), so a package built once for every school cannot carry it, and the device knows its
// collector only once enrolled. At each start, once enrolled, the agent asks its collector (pinned
// CA) for the id and writes the host launcher and manifests under ROOT. The managed force-install
// policy is written too only where IT asked for it (the marker file below; the .deb's postinst makes
// it from CUSTODIAN_BROWSER_POLICY=force-install): many schools push Chrome policy from Google Admin,
// Intune or GPO and must not get a second source. A collector with no extension: nothing written.
// Windows (the MSI's service passes its folder as ROOT): the same opt-in is the MSI's
// BROWSER_POLICY=force-install, which the MSI keeps in HKLM\SOFTWARE\Custodian\Agent; the entry goes
// into Chrome's and Edge's HKLM forcelist keys under one value name of its own (forcelist.ts), and
// without the opt-in (an install or upgrade without the property) that entry is removed again.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCustodianError } from '@custodian/protocol';
import type { AgentLogger } from '../core/contracts.ts';
import { loadCredentials } from '../identity/credentials.ts';
import { type BrowserPolicyStore, createBrowserPolicyStore } from '../platform/browser-policy.ts';
import { type BrowserFilesResult, writeBrowserFiles } from './browser-files.ts';
import { forcelistEntry } from './forcelist.ts';
import { BROWSER_POLICY_FORCE_INSTALL } from './windows-layout.ts';

/** Under ROOT: its presence asks for the force-install policy as well as the host files. */
export const FORCE_INSTALL_MARKER = '/etc/custodian-agent/browser-force-install';

export async function refreshBrowserFiles(
  root: string,
  dataDir: string,
  log: AgentLogger,
  platform: NodeJS.Platform = process.platform,
  policyStore?: BrowserPolicyStore,
): Promise<BrowserFilesResult | undefined> {
  // Windows: ROOT is the install folder (the service host passes its own); the MSI's registry
  // values name the manifest there. The force-install policy goes to the registry (below).
  const windows = platform === 'win32';
  const writePolicy = !windows && existsSync(join(root, FORCE_INSTALL_MARKER));
  try {
    const creds = await loadCredentials(dataDir);
    if (!creds) return undefined;
    const r = await writeBrowserFiles({
      dataDir,
      ...(windows ? { target: 'win32' as const, installDir: root } : { root }),
      server: creds.serverUrl,
      ...(creds.tls ? { trust: creds.tls } : {}),
      writePolicy,
    });
    log.info('browser extension host files written', {
      extensionId: r.extensionId,
      files: r.written.length,
      forceInstallPolicy: writePolicy,
    });
    if (windows)
      await windowsForcelist(r, log, policyStore ?? (await createBrowserPolicyStore({}, platform)));
    return r;
  } catch (err) {
    log.warn('browser extension host files not written', {
      code: isCustodianError(err) ? err.code : undefined,
      reason: (err as Error).message,
    });
    return undefined;
  }
}

/** Windows: the forcelist entry in the registry as the MSI's BROWSER_POLICY asks (logged, never thrown). */
async function windowsForcelist(
  r: BrowserFilesResult,
  log: AgentLogger,
  store: BrowserPolicyStore,
): Promise<void> {
  try {
    const requested = await store.requested();
    if (requested !== undefined && requested !== BROWSER_POLICY_FORCE_INSTALL)
      log.warn('BROWSER_POLICY not understood: no force-install policy', {
        value: requested.slice(0, 40),
        expected: BROWSER_POLICY_FORCE_INSTALL,
      });
    const wanted = requested === BROWSER_POLICY_FORCE_INSTALL && r.updateUrl !== undefined;
    const outcomes = await store.apply(wanted ? forcelistEntry(r.extensionId, r.updateUrl!) : undefined);
    for (const o of outcomes)
      if (o.action === 'conflict') log.warn('browser force-install policy not written', { ...o });
    log.info('browser force-install policy', {
      requested: wanted,
      outcomes: outcomes.map((o) => `${o.browser}:${o.action}`).join(','),
    });
  } catch (err) {
    log.warn('browser force-install policy not applied', {
      code: isCustodianError(err) ? err.code : undefined,
      reason: (err as Error).message,
    });
  }
}
