// What every service definition starts: the absolute Node 24 binary (process.execPath, not
// whatever `node` is on PATH — on Debian that is Node 20), the agent's entry script and args.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ServiceSpec {
  name: string;
  description: string;
  nodePath: string;
  scriptPath: string;
  args: string[];
  /** Where logs go on systems without a journal (launchd, WinSW). */
  logDir: string;
}

export function defaultServiceSpec(dataDir: string, logDir: string): ServiceSpec {
  return {
    name: 'custodian-agent',
    description: 'Custodian endpoint agent',
    nodePath: process.execPath,
    scriptPath: resolve(fileURLToPath(new URL('../../bin/custodian-agent.js', import.meta.url))),
    args: ['run', '--data-dir', dataDir],
    logDir,
  };
}
