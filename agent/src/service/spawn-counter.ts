// Diagnostic: counts every child process the agent starts (execFile, spawn and exec all go
// through ChildProcess.prototype.spawn), by command, so the footprint benchmark can report
// spawns per minute and who causes them. Enabled only by CUSTODIAN_COUNT_SPAWNS=1; the counts
// are written to status.json.
import { ChildProcess } from 'node:child_process';
import { basename } from 'node:path';

const counts = new Map<string, number>();
let installed = false;

type SpawnFn = (this: ChildProcess, options: { file?: string; args?: string[] }) => unknown;

export interface SpawnCounts {
  total: number;
  byCommand: Record<string, number>;
}

export function installSpawnCounter(): () => SpawnCounts {
  if (!installed) {
    installed = true;
    // Not in @types/node: the internal method every child_process API ends up calling.
    const proto = ChildProcess.prototype as unknown as { spawn: SpawnFn };
    const original = proto.spawn;
    proto.spawn = function countedSpawn(this: ChildProcess, options) {
      // `sh -c "cmd ..."` (systeminformation, node-machine-id) is named by its first word.
      const file = basename(options?.file ?? '?');
      const name =
        file === 'sh' && options.args?.[1] === '-c' ? `sh -c ${options.args[2]?.split(/[\s;]/)[0]}` : file;
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return original.call(this, options);
    };
  }
  return () => {
    let total = 0;
    for (const n of counts.values()) total += n;
    return { total, byCommand: Object.fromEntries(counts) };
  };
}
