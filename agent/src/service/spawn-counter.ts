// Diagnostic: counts every child process the agent starts (execFile, spawn and exec all go
// through ChildProcess.prototype.spawn), so the footprint benchmark can report spawns per
// minute. Enabled only by CUSTODIAN_COUNT_SPAWNS=1; the count is written to status.json.
import { ChildProcess } from 'node:child_process';

let count = 0;
let installed = false;

type SpawnFn = (this: ChildProcess, ...args: unknown[]) => unknown;

export function installSpawnCounter(): () => number {
  if (!installed) {
    installed = true;
    // Not in @types/node: the internal method every child_process API ends up calling.
    const proto = ChildProcess.prototype as unknown as { spawn: SpawnFn };
    const original = proto.spawn;
    proto.spawn = function countedSpawn(this: ChildProcess, ...args: unknown[]) {
      count++;
      return original.apply(this, args);
    };
  }
  return () => count;
}
