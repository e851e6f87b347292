// The simulated fleet (issue 20 item 5): N agents spread over W simulator processes
// (worker.ts, forked), driven and read from the harness. One process holds thousands of agents;
// more processes spread the client side's CPU.
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import type { EnrolledDevice } from '../support/enrol-many.ts';
import type { SchoolDayProfile } from './profile.ts';
import { newCounters } from './sim-agent.ts';
import type { ToWorker, WorkerStats, WorkerStream } from './worker.ts';

type Request = ToWorker extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

export interface FleetStats extends Omit<WorkerStats, 'cpuSeconds' | 'rssMiB'> {
  /** CPU seconds of every simulator process so far. */
  cpuSeconds: number;
  /** RSS of the simulator processes together. */
  rssMiB: number;
}

export interface Fleet {
  readonly size: number;
  readonly workerPids: number[];
  /** Every agent boots at a random moment within `windowMs` (the morning storm). */
  boot(windowMs: number): Promise<void>;
  /** Counters summed over the workers; `reset` starts a new latency sample afterwards. */
  stats(reset?: boolean): Promise<FleetStats>;
  quiesce(): Promise<void>;
  streams(): Promise<WorkerStream[]>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  devices: readonly EnrolledDevice[];
  /** Agent i connects to wsUrls[i % length] (one load-balancer front, or several collectors). */
  wsUrls: readonly string[];
  workers: number;
  seed: number;
  profile: SchoolDayProfile;
}

class Worker {
  private next = 1;
  private readonly waiting = new Map<number, (body: unknown) => void>();
  readonly child: ChildProcess;

  constructor() {
    this.child = fork(join(import.meta.dirname, 'worker.ts'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Sockets and timers of thousands of agents: give the heap room.
      execArgv: ['--max-old-space-size=2048'],
    });
    this.child.on('message', (m: { id: number; body: unknown }) => {
      this.waiting.get(m.id)?.(m.body);
      this.waiting.delete(m.id);
    });
    this.child.on('exit', (code) => {
      for (const w of this.waiting.values()) w({ exited: code });
      this.waiting.clear();
    });
  }

  ask<T>(req: Request): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (body) => {
        if (body && typeof body === 'object' && 'exited' in body)
          reject(new Error(`simulator process exited (${String((body as { exited: unknown }).exited)})`));
        else resolve(body as T);
      });
      this.child.send({ ...req, id });
    });
  }
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const count = Math.max(1, Math.min(o.workers, o.devices.length));
  const workers = Array.from({ length: count }, () => new Worker());
  await Promise.all(
    workers.map((w, k) =>
      w.ask({
        type: 'init',
        devices: o.devices
          .filter((_, i) => i % count === k)
          .map((d, i) => ({ ...d, hostname: `sim-${k}-${i}` })),
        wsUrls: [...o.wsUrls],
        seed: o.seed + k,
        profile: o.profile,
      }),
    ),
  );
  const all = <T>(req: Request) => Promise.all(workers.map((w) => w.ask<T>(req)));
  return {
    size: o.devices.length,
    workerPids: workers.map((w) => w.child.pid ?? -1),
    boot: async (windowMs) => {
      await all({ type: 'boot', windowMs });
    },
    stats: async (reset = false) => sumStats(await all<WorkerStats>({ type: 'stats', reset })),
    quiesce: async () => {
      await all({ type: 'quiesce' });
    },
    streams: async () => (await all<WorkerStream[]>({ type: 'streams' })).flat(),
    stop: async () => {
      await Promise.allSettled(workers.map((w) => (w.child.connected ? w.ask({ type: 'stop' }) : undefined)));
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    },
  };
}

/** One line on where a fleet stands (for a wait that timed out). */
export function fleetSummary(s: FleetStats): string {
  return (
    `${s.connected} of ${s.agents} connected, ${s.settled} settled, ${s.waitingEvents} events and ` +
    `${s.waitingBlobs} screenshots waiting, ${s.failedAttempts} failed attempts, close codes ` +
    `${JSON.stringify(s.closeCodes)}${s.problems.length ? `, problems: ${s.problems.slice(0, 3).join(' | ')}` : ''}`
  );
}

function sumStats(parts: WorkerStats[]): FleetStats {
  const out: FleetStats = {
    ...newCounters(),
    agents: 0,
    settled: 0,
    waitingEvents: 0,
    waitingBlobs: 0,
    cpuSeconds: 0,
    rssMiB: 0,
  };
  for (const p of parts) {
    for (const k of [
      'agents',
      'connected',
      'settled',
      'waitingEvents',
      'waitingBlobs',
      'welcomes',
      'attempts',
      'failedAttempts',
      'generated',
      'acked',
      'batches',
      'blobsStored',
      'cpuSeconds',
      'rssMiB',
    ] as const)
      out[k] += p[k];
    for (const x of p.ackLatencies) out.ackLatencies.push(x);
    for (const x of p.connectLatencies) out.connectLatencies.push(x);
    out.problems.push(...p.problems);
    for (const [code, n] of Object.entries(p.closeCodes))
      out.closeCodes[code] = (out.closeCodes[code] ?? 0) + n;
  }
  return out;
}
