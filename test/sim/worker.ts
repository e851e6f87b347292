// A simulator process (issue 20 item 5): runs its share of the simulated agents and answers the
// harness (fleet.ts) over the fork IPC channel. Several of these spread the agents' CPU over
// processes (and cores, where there are some to spare).
import { rng } from '../support/rng.ts';
import type { SchoolDayProfile } from './profile.ts';
import { newCounters, SimAgent, type SimCounters } from './sim-agent.ts';

export interface WorkerDevice {
  deviceId: string;
  deviceKey: string;
  hostname: string;
}

export type ToWorker =
  | {
      id: number;
      type: 'init';
      devices: WorkerDevice[];
      wsUrls: string[];
      seed: number;
      profile: SchoolDayProfile;
    }
  | { id: number; type: 'boot'; windowMs: number }
  | { id: number; type: 'stats'; reset: boolean }
  | { id: number; type: 'quiesce' }
  | { id: number; type: 'streams' }
  | { id: number; type: 'stop' };

/** One simulator process's figures: its agents' shared counters plus what the process itself sees. */
export interface WorkerStats extends SimCounters {
  agents: number;
  settled: number;
  /** Events and screenshots waiting for an ack, over every agent. */
  waitingEvents: number;
  waitingBlobs: number;
  cpuSeconds: number;
  rssMiB: number;
}

export interface WorkerStream {
  deviceId: string;
  streamId: string;
  lastSeq: number;
  ackedSeq: number;
}

let agents: SimAgent[] = [];
let counters = newCounters();
let seed = 1;

function reply(id: number, body: unknown): void {
  process.send?.({ id, body });
}

function stats(reset: boolean): WorkerStats {
  const usage = process.cpuUsage();
  const s: WorkerStats = {
    agents: agents.length,
    connected: counters.connected,
    settled: agents.filter((a) => a.settled).length,
    waitingEvents: agents.reduce((n, a) => n + a.waiting.events, 0),
    waitingBlobs: agents.reduce((n, a) => n + a.waiting.blobs, 0),
    welcomes: counters.welcomes,
    attempts: counters.attempts,
    failedAttempts: counters.failedAttempts,
    generated: counters.generated,
    acked: counters.acked,
    batches: counters.batches,
    blobsStored: counters.blobsStored,
    ackLatencies: counters.ackLatencies,
    connectLatencies: counters.connectLatencies,
    problems: counters.problems,
    closeCodes: counters.closeCodes,
    cpuSeconds: (usage.user + usage.system) / 1e6,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
  };
  if (reset) {
    counters.ackLatencies = [];
    counters.connectLatencies = [];
  }
  return s;
}

process.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'init': {
      counters = newCounters();
      seed = m.seed;
      const random = rng(m.seed);
      agents = m.devices.map(
        (d, i) =>
          new SimAgent({
            wsUrl: m.wsUrls[i % m.wsUrls.length]!,
            deviceId: d.deviceId,
            deviceKey: d.deviceKey,
            hostname: d.hostname,
            profile: m.profile,
            random,
            counters,
          }),
      );
      return reply(m.id, { ok: true });
    }
    case 'boot': {
      // The morning storm: each laptop boots at its own moment within the window.
      const random = rng(seed * 31 + 7);
      for (const a of agents) setTimeout(() => a.boot(), Math.floor(random() * m.windowMs));
      return reply(m.id, { ok: true });
    }
    case 'stats':
      return reply(m.id, stats(m.reset));
    case 'quiesce':
      for (const a of agents) a.quiesce();
      return reply(m.id, { ok: true });
    case 'streams':
      return reply(
        m.id,
        agents.map(
          (a): WorkerStream => ({
            deviceId: a.deviceId,
            streamId: a.streamId,
            lastSeq: a.lastSeq,
            ackedSeq: a.ackedSeq,
          }),
        ),
      );
    case 'stop':
      for (const a of agents) a.stop();
      reply(m.id, { ok: true });
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
