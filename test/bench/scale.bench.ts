// Scale (issue 20 item 5): N simulated agents (test/sim: protocol-level, school-day event mix,
// morning storm, the agent's reconnect backoff) against the collector, every figure next to the
// single-process level baseline of the SAME run:
//   - level, 1 process (the baseline);
//   - PostgreSQL, 1 process (a throwaway local cluster, test/support/postgres.ts);
//   - with --collectors K (K > 1): K processes over one PostgreSQL database, NATS JetStream bus,
//     behind HAProxy (test/sim/cluster.ts) — needs the bus and multi-writer PostgreSQL merged;
//     a collector that refuses says so and the bench fails with that message;
//   - the per-process ceiling: N doubled on one PostgreSQL process until the ack p99 or the
//     restart settle time degrades (past CEILING_P99_FACTOR / CEILING_SETTLE_FACTOR of the figure
//     at N), agents fail to connect, or --max-agents is reached.
// Options (`pnpm bench scale --agents 1000 --collectors 1 --seed 7 --steady 30 --storm 10
// --max-agents 8000 --speed 1`): seed replays the event mix, storm window and backoff jitter.
// Leaves out: TLS, real agent processes, WAN latency, PostgreSQL on its own machine (see
// docs/sizing.md, "What the simulation does not simulate").
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { BusRequiredError } from '../sim/cluster.ts';
import { eventsPerSecond, SCHOOL_DAY } from '../sim/profile.ts';
import { runScenario, type ScenarioOptions, type ScenarioReport } from '../sim/scenario.ts';
import { startPostgres } from '../support/postgres.ts';
import type { BenchResult, BenchRow } from './types.ts';

const CEILING_P99_FACTOR = 3;
const CEILING_SETTLE_FACTOR = 2;
const SETTLE_SLACK_MS = 10_000;
const STORM_TAIL_SLACK_MS = 5_000;

const DEFAULTS = {
  agents: 1_000,
  collectors: 1,
  steady: 30,
  storm: 10,
  'max-agents': 8_000,
  speed: 1,
  workers: 0,
  haproxy: 1,
};
type Options = typeof DEFAULTS & { seed: number };

export function scaleOptions(argv: readonly string[]): Options {
  const o: Record<string, number> = { ...DEFAULTS, seed: Math.floor(Math.random() * 2 ** 31) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const v = Number(argv[++i]);
    if (!(key in o)) throw new Error(`bench scale: unknown option ${a} (${Object.keys(o).join(', ')})`);
    if (!Number.isFinite(v)) throw new Error(`bench scale: ${a} needs a number`);
    o[key] = v;
  }
  return o as Options;
}

const s = (ms: number) => ms / 1000;

export async function run(): Promise<BenchResult> {
  const o = scaleOptions(process.argv.slice(2));
  const started = Date.now();
  const pg = await startPostgres();
  /** At-rest key files kept between the ceiling's runs over one database. */
  const keys = new Set<string>();
  const log = (l: string) => console.log(`  ${l}`);
  const base: Omit<ScenarioOptions, 'store' | 'collectors' | 'agents'> = {
    seed: o.seed,
    stormWindowMs: o.storm * 1000,
    steadyMs: o.steady * 1000,
    profile: { ...SCHOOL_DAY, speed: o.speed },
    ...(o.workers > 0 ? { workers: o.workers } : {}),
    log,
  };
  try {
    const level = await runScenario({ ...base, agents: o.agents, collectors: 1, store: 'level' });
    const postgres = await runScenario({ ...base, agents: o.agents, collectors: 1, store: 'postgres', pg });
    // The same single process behind the HAProxy front K processes use: what the balancer costs.
    let behind: ScenarioReport | undefined;
    /** A run that failed outright (not a degraded figure): said in the notes and as a problem. */
    const failed: string[] = [];
    if (o.haproxy > 0)
      try {
        behind = await runScenario({
          ...base,
          agents: o.agents,
          collectors: 1,
          store: 'postgres',
          pg,
          front: 'haproxy',
        });
      } catch (err) {
        failed.push(`PostgreSQL, 1 process behind HAProxy, ${o.agents} agents: ${(err as Error).message}`);
      }
    let several: ScenarioReport | undefined;
    if (o.collectors > 1) {
      try {
        several = await runScenario({
          ...base,
          agents: o.agents,
          collectors: o.collectors,
          store: 'postgres',
          pg,
        });
      } catch (err) {
        if (err instanceof BusRequiredError) console.error(`bench scale: ${err.message}`);
        throw err;
      }
    }
    // The per-process ceiling, on PostgreSQL (what a trust runs): N doubled until it degrades.
    const steps: ScenarioReport[] = [];
    const reuse = postgres.reusable;
    if (reuse) keys.add(reuse.keyFile);
    for (const r of [level, behind, several]) if (r?.reusable) keys.add(r.reusable.keyFile);
    let ceiling = `not reached up to ${o['max-agents'].toLocaleString('en-GB')} agents (--max-agents)`;
    for (let n = o.agents * 2; n <= o['max-agents']; n *= 2) {
      let r: ScenarioReport;
      try {
        r = await runScenario({
          ...base,
          agents: n,
          collectors: 1,
          store: 'postgres',
          pg,
          steadyMs: Math.min(base.steadyMs, 20_000),
        });
      } catch (err) {
        ceiling = `below ${n.toLocaleString('en-GB')} agents: the run at ${n.toLocaleString('en-GB')} failed (${(err as Error).message.split('\n')[0]})`;
        break;
      }
      steps.push(r);
      const why: string[] = [];
      if (r.steady.ackP99 > CEILING_P99_FACTOR * Math.max(postgres.steady.ackP99, 20))
        why.push(
          `ack p99 ${Math.round(r.steady.ackP99)} ms > ${CEILING_P99_FACTOR}× the ${Math.round(postgres.steady.ackP99)} ms at ${o.agents}`,
        );
      // Settling is paced by the agents' backoff (seconds): only a rise past that counts.
      if (
        r.restart.settleMs > CEILING_SETTLE_FACTOR * postgres.restart.settleMs &&
        r.restart.settleMs > postgres.restart.settleMs + SETTLE_SLACK_MS
      )
        why.push(
          `restart settle ${s(r.restart.settleMs).toFixed(1)} s > ${CEILING_SETTLE_FACTOR}× the ${s(postgres.restart.settleMs).toFixed(1)} s at ${o.agents}`,
        );
      // The storm is paced by its window: only the tail past it counts.
      if (
        r.storm.allConnectedMs - r.storm.windowMs >
        Math.max(
          STORM_TAIL_SLACK_MS,
          CEILING_SETTLE_FACTOR * (postgres.storm.allConnectedMs - postgres.storm.windowMs),
        )
      )
        why.push(
          `the storm took ${s(r.storm.allConnectedMs).toFixed(1)} s to connect everyone, ${s(r.storm.allConnectedMs - r.storm.windowMs).toFixed(1)} s past its ${s(r.storm.windowMs)} s window (${s(postgres.storm.allConnectedMs - postgres.storm.windowMs).toFixed(1)} s at ${o.agents})`,
        );
      if (r.problems.length > 0) why.push(`${r.problems.length} problems (${r.problems[0]})`);
      if (why.length > 0) {
        ceiling = `between ${(n / 2).toLocaleString('en-GB')} and ${n.toLocaleString('en-GB')} agents per process: at ${n.toLocaleString('en-GB')}, ${why.join('; ')}`;
        break;
      }
    }
    return result(o, level, postgres, behind, several, steps, ceiling, failed, Date.now() - started);
  } finally {
    await pg.stop();
    for (const k of keys) rmSync(dirname(k), { recursive: true, force: true });
  }
}

function rowsFor(label: string, r: ScenarioReport, b: ScenarioReport): BenchRow[] {
  const row = (metric: string, value: number, baseline: number, unit: string): BenchRow => ({
    metric: `${label}: ${metric}`,
    value,
    unit,
    baseline,
    baselineLabel: `level, 1 process, same ${b.agents.toLocaleString('en-GB')} agents`,
    ...(baseline > 0 ? { ratio: value / baseline } : {}),
  });
  const rows = [
    row(
      'connections held (the collectors’ own count)',
      r.steady.connectionsHeld,
      b.steady.connectionsHeld,
      '',
    ),
    row('events/s committed (acked)', r.steady.eventsPerSec, b.steady.eventsPerSec, 'events/s'),
    row('ack latency p50 (batch sent → Ack)', r.steady.ackP50, b.steady.ackP50, 'ms'),
    row('ack latency p99', r.steady.ackP99, b.steady.ackP99, 'ms'),
    row('live update p50 (event sent → on a console’s SSE feed)', r.steady.liveP50, b.steady.liveP50, 'ms'),
    row('live update p99', r.steady.liveP99, b.steady.liveP99, 'ms'),
    row(
      `morning storm: window opened → all connected (window ${s(r.storm.windowMs)} s)`,
      s(r.storm.allConnectedMs),
      s(b.storm.allConnectedMs),
      's',
    ),
    row(
      'collector CPU during the storm (window opened → all connected)',
      r.storm.collectorCpuPercent,
      b.storm.collectorCpuPercent,
      '% of one core',
    ),
    row(
      'restart: collector stop + start (SIGTERM, graceful, then listening)',
      s(r.restart.downMs),
      s(b.restart.downMs),
      's',
    ),
    row(
      'restart → every agent reconnected, backlog acked',
      s(r.restart.settleMs),
      s(b.restart.settleMs),
      's',
    ),
    row(
      'collector CPU (all processes), steady',
      r.steady.collectorCpuPercent,
      b.steady.collectorCpuPercent,
      '% of one core',
    ),
    row(
      'collector RSS (all processes), steady peak',
      r.steady.collectorRssMiB,
      b.steady.collectorRssMiB,
      'MiB',
    ),
    row('store growth per event (steady)', r.steady.storeBytesPerEvent, b.steady.storeBytesPerEvent, 'bytes'),
  ];
  if (r.steady.pgTimelineRowsPerSec !== undefined)
    rows.push(
      {
        metric: `${label}: PostgreSQL timeline rows inserted/s`,
        value: r.steady.pgTimelineRowsPerSec,
        unit: 'rows/s',
      },
      {
        metric: `${label}: PostgreSQL row writes/s, all tables (pg_stat_user_tables ins+upd+del)`,
        value: r.steady.pgRowWritesPerSec ?? 0,
        unit: 'rows/s',
      },
      {
        metric: `${label}: PostgreSQL WAL per event`,
        value: r.steady.pgWalBytesPerEvent ?? 0,
        unit: 'bytes',
      },
    );
  return rows;
}

function result(
  o: Options,
  level: ScenarioReport,
  postgres: ScenarioReport,
  behind: ScenarioReport | undefined,
  several: ScenarioReport | undefined,
  steps: ScenarioReport[],
  ceiling: string,
  failed: string[],
  ms: number,
): BenchResult {
  const rows = [...rowsFor('PostgreSQL, 1 process', postgres, level)];
  if (behind) rows.push(...rowsFor('PostgreSQL, 1 process behind HAProxy', behind, level));
  if (several)
    rows.push(...rowsFor(`PostgreSQL, ${several.collectors} processes + NATS + HAProxy`, several, level));
  for (const r of steps)
    rows.push(
      {
        metric: `ceiling: ${r.agents.toLocaleString('en-GB')} agents on 1 PostgreSQL process, ack p99`,
        value: r.steady.ackP99,
        unit: 'ms',
        baseline: postgres.steady.ackP99,
        baselineLabel: `same process at ${o.agents.toLocaleString('en-GB')} agents`,
        ratio: r.steady.ackP99 / Math.max(1, postgres.steady.ackP99),
      },
      {
        metric: `ceiling: ${r.agents.toLocaleString('en-GB')} agents, restart settle`,
        value: s(r.restart.settleMs),
        unit: 's',
        baseline: s(postgres.restart.settleMs),
        baselineLabel: `same process at ${o.agents.toLocaleString('en-GB')} agents`,
        ratio: r.restart.settleMs / Math.max(1, postgres.restart.settleMs),
      },
      {
        metric: `ceiling: ${r.agents.toLocaleString('en-GB')} agents, morning storm: all connected`,
        value: s(r.storm.allConnectedMs),
        unit: 's',
        baseline: s(postgres.storm.allConnectedMs),
        baselineLabel: `same process at ${o.agents.toLocaleString('en-GB')} agents, same ${s(r.storm.windowMs)} s window`,
        ratio: r.storm.allConnectedMs / Math.max(1, postgres.storm.allConnectedMs),
      },
      {
        metric: `ceiling: ${r.agents.toLocaleString('en-GB')} agents, collector stop + start for the restart`,
        value: s(r.restart.downMs),
        unit: 's',
        baseline: s(postgres.restart.downMs),
        baselineLabel: `same process at ${o.agents.toLocaleString('en-GB')} agents`,
        ratio: r.restart.downMs / Math.max(1, postgres.restart.downMs),
      },
      {
        metric: `ceiling: ${r.agents.toLocaleString('en-GB')} agents, collector CPU during the storm`,
        value: r.storm.collectorCpuPercent,
        unit: '% of one core',
        baseline: postgres.storm.collectorCpuPercent,
        baselineLabel: `same process at ${o.agents.toLocaleString('en-GB')} agents`,
        ratio: r.storm.collectorCpuPercent / Math.max(0.1, postgres.storm.collectorCpuPercent),
      },
      {
        metric: `ceiling: ${r.agents.toLocaleString('en-GB')} agents, collector CPU / RSS`,
        value: r.steady.collectorCpuPercent,
        unit: `% of one core / ${Math.round(r.steady.collectorRssMiB)} MiB`,
      },
    );
  const all = [level, postgres, ...(behind ? [behind] : []), ...(several ? [several] : []), ...steps];
  const problems = [
    ...failed.map((f) => `run failed: ${f}`),
    ...all.flatMap((r) => r.problems.map((p) => `${r.setup}, ${r.agents} agents: ${p}`)),
  ];
  const perDevice = eventsPerSecond({ ...SCHOOL_DAY, speed: o.speed }, 60);
  const replay = `pnpm bench scale --agents ${o.agents} --collectors ${o.collectors} --seed ${o.seed} --steady ${o.steady} --storm ${o.storm} --max-agents ${o['max-agents']} --speed ${o.speed} --haproxy ${o.haproxy}`;
  return {
    title: 'Scale: simulated agents against the collector (issue 20 item 5)',
    rows,
    notes: [
      `Seed ${o.seed}; N = ${o.agents.toLocaleString('en-GB')} agents; steady phase ${o.steady} s; morning storm window ${o.storm} s (08:40–08:50 compressed ${Math.round(600 / o.storm)}×); whole bench ${Math.round(ms / 1000)} s on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), shared with the simulator, PostgreSQL and other engineers' work. Replay: \`${replay}\`.`,
      `Per-process ceiling (PostgreSQL, 1 process, N doubled from ${(o.agents * 2).toLocaleString('en-GB')}; degraded = ack p99 > ${CEILING_P99_FACTOR}× or restart settle > ${CEILING_SETTLE_FACTOR}× and > ${SETTLE_SLACK_MS / 1000} s more than the figure at N, or the storm's tail past its window > ${CEILING_SETTLE_FACTOR}× the tail at N and > ${STORM_TAIL_SLACK_MS / 1000} s, or a problem; each step adds devices to the same database): ${ceiling}.`,
      `Event mix per agent at speed ${o.speed} (test/sim/profile.ts): a window change every 30 s on average (exponential), a heartbeat every 60 s (the Welcome's interval, ±10 % jitter) with the outbox depth, 3 flags a school day each with a 24 KiB screenshot blob, 2 USB sticks a day (attached, removed minutes later), AgentStarted + Inventory at boot: ${perDevice.toFixed(4)} events/s per device (${Math.round(perDevice * 6.67 * 3600).toLocaleString('en-GB')} in a 6 h 40 min school day).`,
      'Agents: protocol-level clients (test/sim/sim-agent.ts) speaking custodian.v1 over ws as agent/src/link/link.ts does: Hello, resend after the Welcome, at most 2,000 events unacked, blobs until STORED, PolicyApplied answered; reconnects with the agent’s own backoffDelay (1 s doubling to 60 s, equal jitter). Simulator processes: ' +
        all.map((r) => `${r.agents}: ${r.workers}`).join(', ') +
        ` (agents: processes). Simulator CPU in the steady phase at N: ${Math.round(level.steady.simulatorCpuPercent)} % (level run), ${Math.round(postgres.steady.simulatorCpuPercent)} % (PostgreSQL run) of one core.`,
      `Storm: boot → Welcome p50/p99 ${Math.round(level.storm.connectP50)}/${Math.round(level.storm.connectP99)} ms on level, ${Math.round(postgres.storm.connectP50)}/${Math.round(postgres.storm.connectP99)} ms on PostgreSQL; refused or failed attempts retried: ${level.storm.retries} and ${postgres.storm.retries}. Restart = SIGTERM of every collector (agents get GOING_AWAY), start again on the same data; settle is counted from the new process listening; disconnect → Welcome p50/p99 ${Math.round(level.restart.reconnectP50)}/${Math.round(level.restart.reconnectP99)} ms (level), ${Math.round(postgres.restart.reconnectP50)}/${Math.round(postgres.restart.reconnectP99)} ms (PostgreSQL); attempts retried ${level.restart.retries} and ${postgres.restart.retries}.`,
      `Live update = a probe agent's heartbeat 4 times a second, sent → seen on one console feed (GET /api/v1/live, admin token) that also carries every other event of the fleet; samples: ${level.steady.liveSamples} (level), ${postgres.steady.liveSamples} (PostgreSQL). Ack samples: ${level.steady.ackSamples} and ${postgres.steady.ackSamples} batches.`,
      'Store growth: PostgreSQL = every table of the database with its indexes and TOAST (pg_total_relation_size, no VACUUM: live bloat of the status and stream rows included) before and after the steady phase over the events acked in it; level = its db dir (du) likewise (LevelDB compacts in the background: a rough figure). WAL per event = pg_current_wal_lsn delta over timeline rows inserted.',
      `Connection caps raised for the run (CUSTODIAN_MAX_CONNECTIONS = N + 1,000, CUSTODIAN_MAX_UNAUTHENTICATED_WS = max(200, N/4)); a school's default cap is 5,000 connections. No TLS (plain ws on loopback).${problems.length ? ` PROBLEMS: ${problems.slice(0, 10).join(' | ')}` : ' Problems found: none.'}`,
    ],
  };
}
