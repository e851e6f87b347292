// Reconnection storm (issue 21 §3, second part): `devices` agents are connected to a real
// collector, each with half of its backlog acked; the collector is killed (SIGKILL) and restarted,
// and every agent reconnects at the same moment (no jitter: worse than real agents, which spread
// their reconnects with backoff jitter) and resends what the Welcome says is not durable, paced by
// acks like the agent (at most `window` events in flight). The agents are protocol clients
// (`ws`, the .proto), not agent processes: 500 agent processes do not fit on the test machine.
// Reported: the time until every device's backlog is acked, per-device p50/p95, the collector's
// peak RSS and CPU; checked: every event of every device exactly once.
import { randomUUID } from 'node:crypto';
import type { IEvent } from '@custodian/protocol';
import { AgentClient, heartbeat } from '../../collector/test/helpers/agent-client.ts';
import { startCollector } from '../support/collector-process.ts';
import { storedTimelines } from '../support/collector-store.ts';
import { enrolMany } from '../support/enrol-many.ts';
import { cpuPercent, procSample } from '../support/proc-stat.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

export interface ReconnectOptions {
  seed: number;
  devices: number;
  eventsPerDevice: number;
  log?: (line: string) => void;
}

export interface ReconnectReport {
  seed: number;
  devices: number;
  events: number;
  settleMs: number;
  p50Ms: number;
  p95Ms: number;
  retries: number;
  peakRssMiB: number;
  collectorCpuPercent: number;
  durationMs: number;
  problems: string[];
}

const BATCH = 100;
const WINDOW = 2_000;

const events = (from: number, to: number): IEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => heartbeat(from + i));

/** Sends seqs from..to, at most WINDOW unacked, and resolves with the last ack. */
async function stream(c: AgentClient, streamId: string, from: number, to: number): Promise<void> {
  let next = from;
  let acked = from - 1;
  while (acked < to) {
    while (next <= to && next - 1 - acked < WINDOW) {
      const end = Math.min(to, next + BATCH - 1);
      c.send({ batch: { streamId, events: events(next, end) } });
      next = end + 1;
    }
    acked = Math.max(acked, Number((await c.next('ack', 120_000)).ack?.seq));
  }
}

export async function reconnectCampaign(o: ReconnectOptions): Promise<ReconnectReport> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const collector = await startCollector({ env: { CUSTODIAN_LOG_LEVEL: 'error' } });
  const report: ReconnectReport = {
    seed: o.seed,
    devices: o.devices,
    events: o.devices * o.eventsPerDevice,
    settleMs: 0,
    p50Ms: 0,
    p95Ms: 0,
    retries: 0,
    peakRssMiB: 0,
    collectorCpuPercent: 0,
    durationMs: 0,
    problems: [],
  };
  const sampler = setInterval(() => {
    report.peakRssMiB = Math.max(report.peakRssMiB, procSample(collector.pid).rssMiB);
  }, 100);
  try {
    const devices = (
      await enrolMany(collector.url, collector.enrolSecret, o.devices, { prefix: 'storm', tag: o.seed })
    ).map((d) => ({ ...d, streamId: randomUUID() }));
    const half = Math.floor(o.eventsPerDevice / 2);
    log(`reconnect: ${o.devices} devices enrolled; sending the first ${half} events of each`);
    /**
     * Hello with retries, as the agent does: past the collector's cap on connections waiting to
     * authenticate the upgrade is refused with 503, and a busy collector may miss a deadline.
     */
    const connect = async (d: (typeof devices)[number], onRetry: () => void) => {
      for (let attempt = 0; ; attempt++) {
        const c = new AgentClient(collector.wsUrl);
        try {
          const { welcome } = await c.hello(d.deviceId, d.deviceKey, d.streamId, {
            lastSeq: o.eventsPerDevice,
          });
          return { c, acked: Number(welcome.ackedSeq) };
        } catch (err) {
          c.close();
          onRetry();
          if (attempt >= 12) throw err;
          await new Promise((r) =>
            setTimeout(r, 1_000 * 2 ** Math.min(attempt, 4) * (0.5 + Math.random() / 2)),
          );
        }
      }
    };
    const first = await Promise.all(
      devices.map(async (d) => {
        const { c } = await connect(d, () => undefined);
        await stream(c, d.streamId, 1, half);
        return c;
      }),
    );
    // More in flight when the collector dies: every agent sends its next batch and does not wait.
    for (const [i, d] of devices.entries()) {
      const batch = events(half + 1, Math.min(o.eventsPerDevice, half + BATCH));
      first[i]!.send({ batch: { streamId: d.streamId, events: batch } });
    }
    await collector.kill9();
    await Promise.all(first.map((c) => c.closed));
    await collector.restart();
    const restartedAt = Date.now();
    const cpu0 = procSample(collector.pid);
    log('reconnect: collector restarted; every device reconnects now');
    const times = await Promise.all(
      devices.map(async (d) => {
        for (let attempt = 0; ; attempt++) {
          const c = new AgentClient(collector.wsUrl);
          try {
            const { welcome } = await c.hello(d.deviceId, d.deviceKey, d.streamId, {
              lastSeq: o.eventsPerDevice,
            });
            const acked = Number(welcome.ackedSeq);
            if (acked < half)
              report.problems.push(`${d.deviceId}: Welcome acked ${acked}, below the ${half} acked before`);
            await stream(c, d.streamId, acked + 1, o.eventsPerDevice);
            c.close();
            return Date.now() - restartedAt;
          } catch (err) {
            c.close();
            report.retries++;
            if (attempt >= 10) throw err;
            await new Promise((r) =>
              setTimeout(r, 1_000 * 2 ** Math.min(attempt, 4) * (0.5 + Math.random() / 2)),
            );
          }
        }
      }),
    );
    report.settleMs = Date.now() - restartedAt;
    report.collectorCpuPercent = cpuPercent(cpu0, procSample(collector.pid), report.settleMs);
    const sorted = [...times].sort((a, b) => a - b);
    report.p50Ms = sorted[Math.floor(sorted.length * 0.5)] ?? 0;
    report.p95Ms = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0;
    log(`reconnect: all ${o.devices} settled in ${report.settleMs} ms`);
    if ((await collector.stop()) !== 0) report.problems.push('collector did not exit 0 on SIGTERM');
    const stored = await storedTimelines(
      { dataDir: collector.dataDir, keyFile: collector.keyFile },
      devices.map((d) => d.deviceId),
    );
    for (const d of devices) {
      const seqs = (stored.get(d.deviceId) ?? []).filter((r) => r.streamId === d.streamId).map((r) => r.seq);
      const set = new Set(seqs);
      if (set.size !== seqs.length)
        report.problems.push(`${d.deviceId}: ${seqs.length - set.size} duplicates`);
      if (
        set.size !== o.eventsPerDevice ||
        !Array.from({ length: o.eventsPerDevice }, (_, i) => i + 1).every((s) => set.has(s))
      )
        report.problems.push(`${d.deviceId}: ${set.size} of ${o.eventsPerDevice} events stored`);
    }
  } finally {
    clearInterval(sampler);
    await collector.cleanup();
    report.durationMs = Date.now() - started;
  }
  return report;
}

/** `pnpm soak reconnect`: 500 agents reconnecting at once after a collector outage. */
export const reconnectSoak: SoakCampaign = {
  name: 'reconnect',
  defaults: { devices: 500, eventsPerDevice: 400 },
  async run(p, log) {
    const r = await reconnectCampaign({
      seed: p.seed,
      devices: p['devices']!,
      eventsPerDevice: p['eventsPerDevice']!,
      log,
    });
    return reconnectOutcome(r);
  },
};

export function reconnectOutcome(r: ReconnectReport): SoakOutcome {
  return {
    title: 'Soak: reconnection storm (issue 21 §3, agents reconnecting at once after a collector outage)',
    rows: [
      {
        metric: 'agents (protocol clients) reconnecting at the same moment',
        value: r.devices,
        unit: '',
        target: '500',
      },
      { metric: 'events (half acked before the kill -9, half after the restart)', value: r.events, unit: '' },
      { metric: 'restart → every backlog acked', value: r.settleMs / 1000, unit: 's', target: 'bounded' },
      { metric: 'per agent, p50', value: r.p50Ms / 1000, unit: 's' },
      { metric: 'per agent, p95', value: r.p95Ms / 1000, unit: 's' },
      {
        metric:
          'reconnect attempts refused or failed, retried with backoff (503 past the cap on unauthenticated connections)',
        value: r.retries,
        unit: '',
      },
      { metric: 'collector peak RSS (whole campaign)', value: Math.round(r.peakRssMiB), unit: 'MiB' },
      {
        metric: 'collector CPU from restart to settled',
        value: r.collectorCpuPercent,
        unit: '% of one core',
      },
      {
        metric: 'problems (lost, duplicated, Welcome below what was acked)',
        value: r.problems.length,
        unit: '',
        target: '0',
      },
    ],
    notes: [
      "Before the kill -9 every agent has half its events acked and sends one more batch without waiting. Every agent then reconnects at once (no jitter) and resends from its Welcome, at most 2,000 events unacked, 100-event batches; a failed attempt is retried with jittered exponential backoff like the agent's. Checked afterwards in the stopped collector's store: every seq of every stream exactly once.",
      'The agents are foreign protocol clients in one process (the harness shares the 2 cores with the collector), not 500 agent processes.',
      `Whole campaign ${(r.durationMs / 1000).toFixed(0)} s.`,
    ],
    problems: r.problems,
  };
}
