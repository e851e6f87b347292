// `custodian-agent browser-files`: writes what a device needs for the browser extension — the
// host launcher, the host manifest (allowed_origins = this deployment's extension id) and the
// managed policy that force-installs the extension from the collector. The id comes from the
// collector (`/ext/extension-id`, default: the collector this agent is enrolled with), or from
// --extension-id / --key (tests, air-gapped builds).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, win32 } from 'node:path';
import {
  buildExtension,
  extensionId,
  forceInstallPolicy,
  HOST_NAME,
  manifestKey,
} from '@custodian/browser-extension';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { collectorRequest } from '../identity/collector-http.ts';
import type { CollectorTrust } from '../link/transport.ts';
import { defaultServiceSpec } from '../service/service-spec.ts';
import { defaultRunDir } from './channel.ts';
import {
  HOST_MANIFEST_LOCATIONS,
  hostLauncher,
  hostManifest,
  POLICY_DIRS_LINUX,
  windowsRegistry,
} from './deploy.ts';
import {
  WINDOWS_AGENT_EXE,
  WINDOWS_DEFAULT_DATA_DIR,
  WINDOWS_HOST_LAUNCHER,
  WINDOWS_HOST_MANIFEST,
  WINDOWS_INSTALL_DIR,
  windowsHostLauncher,
} from './windows-layout.ts';

export interface BrowserFilesOptions {
  dataDir: string;
  /** Collector base URL to ask for the extension id and to name as the update URL. */
  server?: string;
  /** https: the CA pinned at enrolment, for asking `server` (the enrolled collector). */
  trust?: CollectorTrust;
  /** Write the managed force-install policy too (default true); false: host files only. */
  writePolicy?: boolean;
  extensionId?: string;
  /** PEM of the packing key (tests): the id and, with extensionOut, the unpacked extension. */
  keyPem?: string;
  runDir?: string;
  hostLog?: string;
  /** Per-profile layout: launcher + manifest + policy side by side in this dir. */
  out?: string;
  /** System layout under this root ("/" on a device, a package build dir for .deb): /etc/… paths. */
  root?: string;
  /**
   * win32: the .cmd launcher and the host manifest, naming paths under `installDir`; written to
   * `out` with a .reg (for MDM/GPO, generated here, imported there), or into `installDir` itself
   * (the agent on Windows, `run --browser-files`: the MSI's registry values name that manifest).
   */
  target?: NodeJS.Platform;
  /** win32: the agent's folder (default the MSI's, C:\Program Files\Custodian Agent). */
  installDir?: string;
  extensionOut?: string;
  /** Launcher location in the system layout. */
  launcherPath?: string;
}

export interface BrowserFilesResult {
  extensionId: string;
  updateUrl: string | undefined;
  written: string[];
}

/** The managed policy's file name in each browser's policy directory (system layout). */
export const LINUX_POLICY_FILE = 'custodian-extension.json';
/** Where the system layout (--root) puts the host launcher. */
export const LINUX_LAUNCHER = '/usr/lib/custodian-agent/custodian-native-host';

async function put(path: string, text: string, mode: number, written: string[]): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o755 });
  await writeFile(path, text, { mode });
  written.push(path);
}

async function idFromServer(server: string, trust: CollectorTrust | undefined): Promise<string> {
  const res = await collectorRequest(
    new URL('/ext/extension-id', server).toString(),
    { method: 'GET', timeoutMs: 60_000 },
    trust,
  );
  if (res.status !== 200)
    throw new CustodianError(
      ErrorCode.UNAVAILABLE,
      `collector has no browser extension (HTTP ${res.status})`,
    );
  let body: { extensionId?: unknown };
  try {
    body = JSON.parse(res.text) as { extensionId?: unknown };
  } catch {
    body = {};
  }
  if (typeof body.extensionId !== 'string' || !/^[a-p]{32}$/.test(body.extensionId))
    throw new CustodianError(ErrorCode.UNAVAILABLE, 'collector sent no valid extension id');
  return body.extensionId;
}

export async function writeBrowserFiles(o: BrowserFilesOptions): Promise<BrowserFilesResult> {
  const key = o.keyPem ? manifestKey(o.keyPem) : undefined;
  const id = key
    ? extensionId(key)
    : (o.extensionId ?? (o.server ? await idFromServer(o.server, o.trust) : undefined));
  if (!id || !/^[a-p]{32}$/.test(id))
    throw new CustodianError(
      ErrorCode.INVALID_CONFIG,
      'no extension id: give --server, --extension-id or --key',
    );
  const updateUrl = o.server ? new URL('/ext/updates.xml', o.server).toString() : undefined;
  const spec = defaultServiceSpec(o.dataDir, '');
  const written: string[] = [];
  const launcherText = (runDir: string) =>
    hostLauncher({
      nodePath: spec.nodePath,
      nodeArgs: spec.nodeArgs,
      scriptPath: spec.scriptPath,
      runDir,
      extensionId: id,
      ...(o.hostLog ? { logFile: o.hostLog } : {}),
    });

  if (o.target === 'win32') {
    const installDir = o.installDir ?? WINDOWS_INSTALL_DIR;
    const dir = o.out ?? o.installDir;
    if (!dir) throw new CustodianError(ErrorCode.INVALID_CONFIG, 'win32 layout needs --out DIR');
    const onWindows = process.platform === 'win32';
    // On Windows the launcher runs this very agent (the MSI's custodian-agent.exe, or node + script
    // in development); generated elsewhere it names the MSI's executable in installDir.
    const exe = onWindows
      ? { exePath: spec.nodePath, exeArgs: [...spec.nodeArgs, ...(spec.scriptPath ? [spec.scriptPath] : [])] }
      : { exePath: win32.join(installDir, WINDOWS_AGENT_EXE) };
    const runDir =
      o.runDir ?? (onWindows ? defaultRunDir(o.dataDir) : win32.join(WINDOWS_DEFAULT_DATA_DIR, 'run'));
    const launcher = win32.join(installDir, WINDOWS_HOST_LAUNCHER);
    const launcherCmd = windowsHostLauncher({
      ...exe,
      runDir,
      extensionId: id,
      ...(o.hostLog ? { logFile: o.hostLog } : {}),
    });
    await put(join(dir, WINDOWS_HOST_LAUNCHER), launcherCmd, 0o644, written);
    await put(join(dir, WINDOWS_HOST_MANIFEST), hostManifest(launcher, id), 0o644, written);
    if (o.out) {
      const manifest = win32.join(installDir, WINDOWS_HOST_MANIFEST);
      await put(
        join(o.out, 'custodian-browser.reg'),
        windowsRegistry(manifest, id, updateUrl),
        0o644,
        written,
      );
    }
  } else if (o.root !== undefined) {
    const launcher = o.launcherPath ?? LINUX_LAUNCHER;
    await put(join(o.root, launcher), launcherText(o.runDir ?? defaultRunDir(o.dataDir)), 0o755, written);
    for (const dir of Object.values(HOST_MANIFEST_LOCATIONS.linux))
      await put(join(o.root, dir, `${HOST_NAME}.json`), hostManifest(launcher, id), 0o644, written);
    if (updateUrl && o.writePolicy !== false)
      for (const dir of Object.values(POLICY_DIRS_LINUX))
        await put(join(o.root, dir, LINUX_POLICY_FILE), forceInstallPolicy(id, updateUrl), 0o644, written);
  } else {
    if (!o.out)
      throw new CustodianError(ErrorCode.INVALID_CONFIG, 'browser-files needs --out DIR or --root DIR');
    const launcher = join(o.out, 'custodian-native-host');
    await put(launcher, launcherText(o.runDir ?? defaultRunDir(o.dataDir)), 0o755, written);
    await put(join(o.out, `${HOST_NAME}.json`), hostManifest(launcher, id), 0o644, written);
    if (updateUrl)
      await put(
        join(o.out, 'custodian-extension-policy.json'),
        forceInstallPolicy(id, updateUrl),
        0o644,
        written,
      );
  }
  if (o.extensionOut) {
    if (!key) throw new CustodianError(ErrorCode.INVALID_CONFIG, '--extension-out needs --key PEM');
    await buildExtension(o.extensionOut, key);
  }
  return { extensionId: id, updateUrl, written };
}
