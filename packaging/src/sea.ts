// Node single executable applications: one blob per program (made by the exact Node version of
// the targets, platform-independent without snapshot and code cache), injected with postject into
// a copy of each target's official Node binary from npm.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NODE_PACKAGES, NODE_VERSION, nodeBinary, type Target } from './versions.ts';

const require = createRequire(import.meta.url);
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * V8 flags baked into the agent's executable (SEA `execArgv`; nothing can be passed at run time:
 * Node refuses V8 flags in NODE_OPTIONS). Not `--lite-mode`, which the bundle's service uses: it
 * implies jitless, which removes WebAssembly, and the executable also enrols (fetch needs wasm).
 * These are the memory-saving parts of lite mode that keep wasm: interpreter only, lazy
 * compilation and feedback, V8's size-over-speed heuristics. The agent idles almost all the time.
 */
export const AGENT_EXEC_ARGV: readonly string[] = [
  '--max-lazy',
  '--no-opt',
  '--no-maglev',
  '--no-sparkplug',
  '--lazy-feedback-allocation',
  '--optimize-for-size',
];

/**
 * node --experimental-sea-config with the pinned Node (or, for the Wine test's Node 22 variant,
 * the Linux package of that version); checks the version first.
 */
export function makeBlob(
  mainFile: string,
  blobFile: string,
  nodePackage = NODE_PACKAGES['linux-x64'],
  expectVersion = NODE_VERSION,
  execArgv: readonly string[] = [],
): void {
  const node = nodeBinary(nodePackage);
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (version !== `v${expectVersion}`) throw new Error(`blob node is ${version}, expected v${expectVersion}`);
  const config = join(dirname(blobFile), `${blobFile.replace(/.*\//, '')}.sea-config.json`);
  writeFileSync(
    config,
    JSON.stringify({
      main: mainFile,
      output: blobFile,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
      ...(execArgv.length ? { execArgv } : {}),
    }),
  );
  execFileSync(node, ['--experimental-sea-config', config], { stdio: 'pipe' });
}

export interface InjectOptions {
  target: Target;
  /** npm package of the Node binary; default the pinned one of the target. */
  nodePackage?: string;
  blobFile: string;
  outFile: string;
}

/** Copy of the target's Node binary (stripped / unsigned first), with the blob injected. */
export function injectBlob(o: InjectOptions): void {
  copyFileSync(nodeBinary(o.nodePackage ?? NODE_PACKAGES[o.target]), o.outFile);
  chmodSync(o.outFile, 0o755);
  if (o.target === 'linux-x64') execFileSync('strip', [o.outFile]);
  if (o.target === 'win-x64') {
    // postject into a signed PE leaves a corrupt signature (and takes 15 s): drop it first.
    const unsigned = `${o.outFile}.unsigned`;
    execFileSync('osslsigncode', ['remove-signature', '-in', o.outFile, '-out', unsigned], { stdio: 'pipe' });
    copyFileSync(unsigned, o.outFile);
    execFileSync('rm', ['-f', unsigned]);
  }
  const postject = require.resolve('postject/dist/cli.js');
  const args = [postject, o.outFile, 'NODE_SEA_BLOB', o.blobFile, '--sentinel-fuse', SENTINEL];
  if (o.target === 'darwin-x64') args.push('--macho-segment-name', 'NODE_SEA');
  execFileSync(process.execPath, args, { stdio: 'pipe' });
}
