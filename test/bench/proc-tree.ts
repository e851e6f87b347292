// A process and all its live descendants, read from /proc (Linux): RSS summed over the tree, and
// CPU time over an interval that counts every member — the long-running helpers (xprop -spy,
// udevadm monitor, findmnt --poll) as well as the short-lived ones.
//
// CPU over [t0, t1] = Δ(utime+stime) of the root
//                   + Δ(cutime+cstime) of the root (children it reaped: their whole life)
//                   + for each descendant alive at t1: its utime+stime minus what it had at t0
//                     (0 when born after t0)
//                   − for each descendant alive at t0 and gone at t1: what it had at t0 (the
//                     root's cutime counts its whole life, the part before t0 is not ours).
// What it leaves out: grandchildren that start and end between two samples are counted only
// through their parent's cutime, which reaches the root when that parent is reaped (the agent's
// helpers are direct children: setpriv execs the command in place). RSS sums resident pages per
// process, so pages shared between members (libc, ld.so) are counted once per process: the sum
// is an upper bound of the tree's real memory. treeDistinctBytes counts each physical page once
// (the page frame numbers in /proc/PID/pagemap; they read as 0 without CAP_SYS_ADMIN).

import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

interface ProcStat {
  /** utime+stime in seconds. */
  self: number;
  /** cutime+cstime in seconds (reaped children). */
  reaped: number;
  /** Start time in clock ticks since boot: with the pid, identifies the process. */
  start: number;
  ppid: number;
  rssBytes: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
  // Fields after "(comm)": [0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17,
  // starttime=22, rss=24 (pages).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const f = (n: number) => Number(fields[n - 3]);
  return {
    self: (f(14) + f(15)) / CLK_TCK,
    reaped: (f(16) + f(17)) / CLK_TCK,
    start: f(22),
    ppid: f(4),
    rssBytes: f(24) * PAGE,
  };
}

/** Live descendants of `pid` (children of every thread, recursively). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(' ')) {
        const c = Number(k);
        if (Number.isInteger(c) && c > 0 && !out.includes(c)) {
          out.push(c);
          queue.push(c);
        }
      }
    }
  }
  return out;
}

export interface TreeSample {
  at: number;
  pid: number;
  root: ProcStat;
  /** key `pid:start` → stat of each live descendant. */
  members: Map<string, ProcStat & { pid: number; comm: string }>;
}

export function sampleTree(pid: number): TreeSample {
  const root = readStat(pid);
  if (!root) throw new Error(`process ${pid} is gone`);
  const members = new Map<string, ProcStat & { pid: number; comm: string }>();
  for (const d of descendants(pid)) {
    const s = readStat(d);
    if (!s) continue;
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
    } catch {}
    members.set(`${d}:${s.start}`, { ...s, pid: d, comm });
  }
  return { at: Date.now(), pid, root, members };
}

/** RSS of the root plus every live descendant. */
export function treeRss(s: TreeSample): number {
  let sum = s.root.rssBytes;
  for (const m of s.members.values()) sum += m.rssBytes;
  return sum;
}

/** CPU seconds used by the whole tree between two samples (see the header). */
export function treeCpuSeconds(a: TreeSample, b: TreeSample): number {
  let cpu = b.root.self - a.root.self + (b.root.reaped - a.root.reaped);
  for (const [key, m] of b.members) cpu += m.self - (a.members.get(key)?.self ?? 0);
  // Gone since a: if the root reaped it, its whole life is in the root's cutime; take off the
  // part before a. (One reaped by another member reaches the root only with that member.)
  for (const [key, m] of a.members) if (!b.members.has(key) && m.ppid === a.pid) cpu -= m.self;
  return Math.max(0, cpu);
}

/** CPU seconds of the root process alone between two samples. */
export function ownCpuSeconds(a: TreeSample, b: TreeSample): number {
  return b.root.self - a.root.self;
}

/** Long-running members at both samples, by command name (e.g. "xprop ×2, udevadm ×2"). */
export function persistentMembers(a: TreeSample, b: TreeSample): string {
  const counts = new Map<string, number>();
  for (const [key, m] of b.members) if (a.members.has(key)) counts.set(m.comm, (counts.get(m.comm) ?? 0) + 1);
  return [...counts]
    .sort()
    .map(([c, n]) => `${c} ×${n}`)
    .join(', ');
}

/** Resident page frame numbers of one process (/proc/PID/pagemap), into `into`. False if unreadable. */
function addResidentFrames(pid: number, into: Set<number>): boolean {
  let maps: string;
  let fd: number;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return false; // gone
  }
  let sawFrame = false;
  try {
    for (const line of maps.split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4})/.exec(line);
      // Reservations without access (V8's cage, guard pages) hold no pages.
      if (!m || m[3]!.startsWith('---')) continue;
      const first = Number.parseInt(m[1]!, 16) / PAGE;
      const pages = (Number.parseInt(m[2]!, 16) - Number.parseInt(m[1]!, 16)) / PAGE;
      const buf = Buffer.alloc(pages * 8);
      let got: number;
      try {
        got = readSync(fd, buf, 0, buf.length, first * 8);
      } catch {
        continue; // [vsyscall] and the like
      }
      for (let i = 0; i + 8 <= got; i += 8) {
        const entry = buf.readBigUInt64LE(i);
        if (!(entry >> 63n)) continue; // not present (swapped or never touched)
        const pfn = Number(entry & 0x7f_ffff_ffff_ffffn);
        if (pfn !== 0) sawFrame = true;
        into.add(pfn);
      }
    }
  } finally {
    closeSync(fd);
  }
  return sawFrame;
}

/**
 * Resident memory of the root and its live descendants with every physical page counted once
 * (pages shared between members — the node binary of a Node helper, libc — and with nothing else
 * alike). Undefined when the frame numbers cannot be read (not root).
 */
export function treeDistinctBytes(s: TreeSample): number | undefined {
  return distinctBytes([s.pid, ...[...s.members.values()].map((m) => m.pid)]);
}

/** Resident memory of these processes, each physical page once; undefined if the first is unreadable. */
export function distinctBytes(pids: readonly number[]): number | undefined {
  const frames = new Set<number>();
  if (!addResidentFrames(pids[0]!, frames)) return undefined;
  for (const pid of pids.slice(1)) addResidentFrames(pid, frames);
  return frames.size * PAGE;
}
