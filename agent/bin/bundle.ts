// `pnpm --filter @custodian/agent build`: bundles the agent into plain JavaScript under
// agent/dist/lib/ for installed devices. Running the TypeScript sources directly costs ~40 MiB
// of RSS (Node's type stripper plus every module's source); the bundle is what a service runs.
// Native and binary-shipping packages stay external and resolve from agent/node_modules.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';
import { rewriteBuiltinImports } from './builtin-imports.ts';

const agentDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(agentDir, 'dist');
rmSync(dist, { recursive: true, force: true });

await build({
  input: {
    'custodian-agent': join(agentDir, 'bin', 'custodian-agent.js'),
    // Run as its own process (as the session's user) by platform/keyboard.linux.ts.
    'keyboard-child': join(agentDir, 'src', 'platform', 'keyboard-child.ts'),
    // Run as its own process by platform/screenshot-process.ts.
    'screenshot-child': join(agentDir, 'src', 'platform', 'screenshot-child.ts'),
    // The keyword matcher's worker thread (capture/keyword-worker.ts finds it beside the agent).
    'keyword-worker': join(agentDir, '..', 'packages', 'keywords', 'src', 'bulk-worker.ts'),
  },
  platform: 'node',
  // level → classic-level (native addon); uiohook-napi is a native addon; get-windows and screenshot-desktop load binaries
  // relative to their own files; ws' optional accelerators are optional.
  external: [
    /^node:/,
    'level',
    'get-windows',
    'screenshot-desktop',
    'uiohook-napi',
    'bufferutil',
    'utf-8-validate',
  ],
  plugins: [
    {
      name: 'builtin-modules-without-namespaces',
      // See builtin-imports.ts: an ESM import of node:http alone costs ~8 MiB of RSS.
      renderChunk: (code) => rewriteBuiltinImports(code),
    },
  ],
  output: {
    dir: join(dist, 'lib'),
    format: 'esm',
    entryFileNames: '[name].mjs',
    // V8 keeps every loaded script's source in the heap for the process's life (lazy compilation
    // re-reads it): without comments it is about half the size, and ASCII-only it is stored one
    // byte per character instead of two (one non-ASCII character makes the whole file two-byte).
    comments: false,
    charset: 'ascii',
  },
  logLevel: 'silent',
});

// The keyword library reads its data files relative to its own module (../data).
const keywordsData = join(agentDir, '..', 'packages', 'keywords', 'data');
if (existsSync(keywordsData)) cpSync(keywordsData, join(dist, 'data'), { recursive: true });

// Smoke check: the bundle starts and prints its usage.
execFileSync(process.execPath, [join(dist, 'lib', 'custodian-agent.mjs'), '--help'], { stdio: 'ignore' });
console.log(`bundled the agent into ${join(dist, 'lib', 'custodian-agent.mjs')}`);
