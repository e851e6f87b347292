// What every service definition starts: the absolute Node 24 binary (process.execPath, not
// whatever `node` is on PATH — on Debian that is Node 20), the agent's entry script and args.
import { resolve } from 'node:path';
import { isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';

/**
 * Node flags for the installed (bundled) agent. V8's lite mode trades peak JS speed for memory
 * (-25 MiB RSS measured, see BENCHMARKS.md); the agent idles almost all the time. Lite mode
 * has no WebAssembly, so it cannot run the TypeScript sources (Node's type stripper is wasm)
 * nor `fetch` (enrolment): only `run` of the bundle gets it.
 */
export const BUNDLE_NODE_FLAGS: readonly string[] = ['--lite-mode'];

export interface ServiceSpec {
  name: string;
  description: string;
  nodePath: string;
  /** Flags for node itself, before the script. */
  nodeArgs: string[];
  /** '' for the single executable (packaging/): the program is inside nodePath. */
  scriptPath: string;
  args: string[];
  /** Where logs go on systems without a journal (launchd, WinSW). */
  logDir: string;
}

/**
 * The service runs the script that installed it: the bundle (agent/dist/lib/custodian-agent.mjs)
 * when installed from a build, else the TypeScript entry (works, costs more memory).
 */
export function defaultServiceSpec(
  dataDir: string,
  logDir: string,
  scriptPath = isSea() ? '' : currentScript(),
): ServiceSpec {
  const bundled = scriptPath.endsWith('.mjs');
  return {
    name: 'custodian-agent',
    description: 'Custodian endpoint agent',
    nodePath: process.execPath,
    nodeArgs: bundled ? [...BUNDLE_NODE_FLAGS] : [],
    scriptPath,
    args: ['run', '--data-dir', dataDir],
    logDir,
  };
}

function currentScript(): string {
  const argv1 = process.argv[1];
  if (argv1 && /custodian-agent\.(m?js)$/.test(argv1)) return resolve(argv1);
  return resolve(fileURLToPath(new URL('../../bin/custodian-agent.js', import.meta.url)));
}

/** What follows the binary on the service's command line. */
export function programArgs(spec: ServiceSpec): string[] {
  return [...spec.nodeArgs, ...(spec.scriptPath ? [spec.scriptPath] : []), ...spec.args];
}
