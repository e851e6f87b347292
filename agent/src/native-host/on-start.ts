// The installed agent keeps the browser extension's host files in place itself (`run
// --browser-files ROOT`, the .deb passes "/"): the extension id belongs to the collector (its
// packing key), so a package built once for every school cannot carry it, and the device knows its
// collector only once enrolled. At each start, once enrolled, the agent asks its collector (pinned
// CA) for the id and writes the host launcher and manifests under ROOT. The managed force-install
// policy is written too only where IT asked for it (the marker file below; the .deb's postinst makes
// it from CUSTODIAN_BROWSER_POLICY=force-install): many schools push Chrome policy from Google Admin,
// Intune or GPO and must not get a second source. A collector with no extension: nothing written.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCustodianError } from '@custodian/protocol';
import type { AgentLogger } from '../core/contracts.ts';
import { loadCredentials } from '../identity/credentials.ts';
import { type BrowserFilesResult, writeBrowserFiles } from './browser-files.ts';

/** Under ROOT: its presence asks for the force-install policy as well as the host files. */
export const FORCE_INSTALL_MARKER = '/etc/custodian-agent/browser-force-install';

export async function refreshBrowserFiles(
  root: string,
  dataDir: string,
  log: AgentLogger,
  platform: NodeJS.Platform = process.platform,
): Promise<BrowserFilesResult | undefined> {
  // Windows: ROOT is the install folder (the service host passes its own); the MSI's registry
  // values name the manifest there. The force-install policy comes from GPO/Intune there.
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
    return r;
  } catch (err) {
    log.warn('browser extension host files not written', {
      code: isCustodianError(err) ? err.code : undefined,
      reason: (err as Error).message,
    });
    return undefined;
  }
}
