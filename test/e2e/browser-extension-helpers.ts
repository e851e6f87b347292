// Helpers for the browser-extension end-to-end tests: a throwaway packing key (the real one is a
// per-deployment secret, never committed), the extension and host files the agent generates,
// Debian Chromium with the extension loaded (host manifest in <userDataDir>/NativeMessagingHosts,
// nothing written to /etc), a local web server on 127.0.0.1, and a native host driven by hand.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { AGENT_BIN, agentCli } from '../support/agent-process.ts';
import { CHROMIUM_PATH } from '../support/browser.ts';

export interface ExtensionFiles {
  root: string;
  keyFile: string;
  extensionId: string;
  extensionDir: string;
  userDataDir: string;
  runDir: string;
  hostLog: string;
  cleanup(): Promise<void>;
}

/** A throwaway key, the extension built with it and the host files, via `custodian-agent browser-files`. */
export async function makeExtensionFiles(): Promise<ExtensionFiles> {
  const root = await mkdtemp(join(tmpdir(), 'custodian-ext-'));
  const keyFile = join(root, 'key.pem');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const userDataDir = join(root, 'profile');
  const runDir = join(root, 'run');
  const hostLog = join(root, 'native-host.log');
  const extensionDir = join(root, 'extension');
  const { stdout } = await agentCli([
    'browser-files',
    '--data-dir',
    join(root, 'agent-data'),
    '--out',
    join(userDataDir, 'NativeMessagingHosts'),
    '--key',
    keyFile,
    '--run-dir',
    runDir,
    '--host-log',
    hostLog,
    '--extension-out',
    extensionDir,
  ]);
  const { extensionId } = JSON.parse(stdout) as { extensionId: string };
  return {
    root,
    keyFile,
    extensionId,
    extensionDir,
    userDataDir,
    runDir,
    hostLog,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Chromium with the extension loaded, headed on the test's X display (the agent screenshots it). */
export async function launchWithExtension(
  files: ExtensionFiles,
  env: NodeJS.ProcessEnv,
): Promise<BrowserContext> {
  return chromium.launchPersistentContext(files.userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: false,
    env: env as Record<string, string>,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-sync',
      `--disable-extensions-except=${files.extensionDir}`,
      `--load-extension=${files.extensionDir}`,
    ],
    viewport: { width: 900, height: 600 },
    timeout: 30_000,
  });
}

/** A tiny web server on 127.0.0.1: path → HTML. */
export async function servePages(
  pages: Record<string, string>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const body = pages[(req.url ?? '/').split('?')[0]!];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** One native-messaging frame: 4-byte little-endian length + the bytes. */
export function frame(body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = Buffer.alloc(4);
  head.writeUInt32LE(b.length, 0);
  return Buffer.concat([head, b]);
}

/** The native host started by hand, as a browser would, with `origin` as the caller. */
export function spawnHost(files: ExtensionFiles, origin: string, logFile: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      AGENT_BIN,
      'native-host',
      '--extension-id',
      files.extensionId,
      '--run-dir',
      files.runDir,
      '--host-log',
      logFile,
      origin,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
}

export async function readLog(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}
