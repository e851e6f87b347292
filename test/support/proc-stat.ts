// RSS and CPU time of one process from /proc (Linux), for harnesses that watch a collector while
// they load it. A process that is gone reads as zeros (it was killed on purpose mid-run).
// For a process tree (the agent and its helpers) use test/bench/proc-tree.ts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export interface ProcSample {
  rssMiB: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
}

export function procSample(pid: number): ProcSample {
  try {
    const rssMiB =
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { rssMiB, cpuSeconds: (Number(f[11] ?? 0) + Number(f[12] ?? 0)) / CLK_TCK };
  } catch {
    return { rssMiB: 0, cpuSeconds: 0 };
  }
}

/** CPU used between two samples over `ms` of wall time, as % of one core. */
export function cpuPercent(a: ProcSample, b: ProcSample, ms: number): number {
  return ms > 0 ? ((b.cpuSeconds - a.cpuSeconds) / (ms / 1000)) * 100 : 0;
}
