// One measured run of the scale simulator (issue 20 item 5) against one collector setup:
//   1. enrol N devices through the real enrolment API (the enrol secret, 50 requests at a time);
//   2. the morning storm: every agent boots at a random moment within the storm window (08:40–
//      08:50 compressed) and connects; measured: time until all are connected, boot → Welcome;
//   3. the steady school day for `steadyMs`: events/s committed (acked), batch → Ack latency,
//      live-update latency (a probe agent's heartbeat sent → seen on a console's SSE feed,
//      admin token), connections held (the collectors' own count), collector CPU and RSS,
//      PostgreSQL rows/s and bytes per event (or level's bytes per event);
//   4. every collector restarted at once: time until every agent is connected again with
//      its backlog acked (the reconnect storm, with the agent's own backoff);
//   5. optionally (`verify`): activity stopped, everything acked, then every stream read back
//      from the store: each acked event exactly once.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IEvent } from '@custodian/protocol';
import { percentile } from '../bench/stats.ts';
import { storedTimelines } from '../support/collector-store.ts';
import { type EnrolledDevice, enrolMany } from '../support/enrol-many.ts';
import { openLiveFeed } from '../support/live-feed.ts';
import type { PgCluster } from '../support/postgres.ts';
import { cpuPercent, type ProcSample, procSample } from '../support/proc-stat.ts';
import { rng } from '../support/rng.ts';
import { type Cluster, type ReusableStore, type StoreKind, startCluster } from './cluster.ts';
import { type Fleet, fleetSummary, startFleet } from './fleet.ts';
import { heartbeatEvent, SCHOOL_DAY, type SchoolDayProfile } from './profile.ts';
import { newCounters, SimAgent } from './sim-agent.ts';

export interface ScenarioOptions {
  seed: number;
  agents: number;
  collectors: number;
  store: StoreKind;
  pg?: PgCluster;
  /** Agents and the console through an HAProxy front even with one collector (K > 1: always). */
  front?: 'direct' | 'haproxy';
  /** Simulator processes (default: one per 4,000 agents). */
  workers?: number;
  stormWindowMs: number;
  steadyMs: number;
  profile?: SchoolDayProfile;
  /**
   * PostgreSQL: run over a database an earlier scenario filled (reportedStore of its report),
   * enrolling only the devices it lacks (PostgreSQL enrols at tens a second on this machine).
   */
  reuse?: ReusableFleet;
  /** Read every stream back from the store at the end (small runs: it reads every record). */
  verify?: boolean;
  /** How long the storm and the restart may take to settle (default 120 s each). */
  settleTimeoutMs?: number;
  /** Probe heartbeats per second for the live-update latency (default 4). */
  probeHz?: number;
  log?: (line: string) => void;
}

/** A database with its devices, handed from one scenario to the next. */
export interface ReusableFleet extends ReusableStore {
  devices: EnrolledDevice[];
}

export interface ScenarioReport {
  seed: number;
  agents: number;
  collectors: number;
  store: StoreKind;
  setup: string;
  workers: number;
  enrolPerSec: number;
  storm: {
    windowMs: number;
    allConnectedMs: number;
    connectP50: number;
    connectP99: number;
    retries: number;
    /** Collector CPU (all processes) from the window opening to everyone connected. */
    collectorCpuPercent: number;
  };
  steady: {
    seconds: number;
    connectionsHeld: number;
    eventsPerSec: number;
    ackP50: number;
    ackP99: number;
    ackSamples: number;
    liveP50: number;
    liveP99: number;
    liveSamples: number;
    collectorCpuPercent: number;
    collectorRssMiB: number;
    simulatorCpuPercent: number;
    /** PostgreSQL: timeline rows inserted per second; all row writes (ins+upd+del) per second. */
    pgTimelineRowsPerSec?: number;
    pgRowWritesPerSec?: number;
    /** Store growth (PostgreSQL relations with indexes and TOAST, or level's db dir) per event. */
    storeBytesPerEvent: number;
    pgWalBytesPerEvent?: number;
    blobsStored: number;
  };
  restart: { downMs: number; settleMs: number; reconnectP50: number; reconnectP99: number; retries: number };
  verified?: { streams: number; events: number };
  problems: string[];
  durationMs: number;
  /** PostgreSQL runs: the database and its devices, for a next scenario (`reuse`). */
  reusable?: ReusableFleet;
}

/** The at-rest key outside the cluster's temp dir (removed with it), for a next scenario. */
function keepKey(from: string, reused: string | undefined): string {
  if (reused) return reused;
  const dir = mkdtempSync(join(tmpdir(), 'custodian-sim-key-'));
  copyFileSync(from, join(dir, 'screenshot.key'));
  return join(dir, 'screenshot.key');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  where: () => Promise<string> = async () => '',
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms. ${await where()}`);
    await sleep(200);
  }
}

/** Bytes the store holds now (PostgreSQL: every table of the database with indexes and TOAST). */
async function storeBytes(c: Cluster, pg: PgCluster | undefined): Promise<number> {
  if (pg && c.database)
    return Number(
      await pg.psql(
        c.database,
        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'",
      ),
    );
  return Number(
    execFileSync('du', ['-sb', `${c.collectors[0]!.dataDir}/db`], { encoding: 'utf8' }).split('\t')[0],
  );
}

interface PgCounters {
  timelineRows: number;
  rowWrites: number;
  walBytes: number;
}

async function pgCounters(pg: PgCluster, db: string): Promise<PgCounters> {
  const [rows, writes, wal] = (
    await pg.psql(
      db,
      `SELECT (SELECT count(*) FROM custodian_timeline),
              (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables),
              pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')`,
    )
  ).split('|');
  return { timelineRows: Number(rows), rowWrites: Number(writes), walBytes: Number(wal) };
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const profile = o.profile ?? SCHOOL_DAY;
  const settleTimeout = o.settleTimeoutMs ?? 120_000;
  const workers = o.workers ?? Math.max(1, Math.ceil(o.agents / 4_000));
  const problems: string[] = [];
  const cluster = await startCluster({
    collectors: o.collectors,
    store: o.store,
    ...(o.pg ? { pg: o.pg } : {}),
    ...(o.reuse ? { reuse: o.reuse } : {}),
    ...(o.front ? { front: o.front } : {}),
    env: {
      // The simulation holds more sockets than a school's default cap of 5,000, and a storm has
      // more than 200 unauthenticated at once: both caps are raised to find the process's limits.
      CUSTODIAN_MAX_CONNECTIONS: String(o.agents + 1_000),
      CUSTODIAN_MAX_UNAUTHENTICATED_WS: String(Math.max(200, Math.ceil(o.agents / 4))),
    },
    log,
  });
  let fleet: Fleet | undefined;
  let probe: SimAgent | undefined;
  let feed: ReturnType<typeof openLiveFeed> | undefined;
  try {
    const pids = () => cluster.collectors.map((c) => c.pid);
    const sample = () => pids().map(procSample);
    let t0 = Date.now();
    const known = o.reuse?.devices ?? [];
    const enrolled = await enrolMany(
      cluster.url,
      cluster.enrolSecret,
      Math.max(0, o.agents + 1 - known.length),
      {
        prefix: 'sim',
        tag: o.seed,
        first: known.length,
      },
    );
    const enrolPerSec = enrolled.length / ((Date.now() - t0) / 1000);
    const everyDevice = [...known, ...enrolled];
    const devices = everyDevice.slice(0, o.agents);
    const probeDevice = everyDevice[o.agents]!;
    log(`scenario: ${o.agents} devices enrolled (${Math.round(enrolPerSec)}/s) on ${cluster.describe()}`);

    // The console's live feed, and the probe whose heartbeats it times.
    const sentAt = new Map<number, number>();
    const liveLags: number[] = [];
    feed = openLiveFeed(cluster.url, { authorization: `Bearer ${cluster.adminToken}` }, (e) => {
      if (e.deviceId !== probeDevice.deviceId) return;
      const t = sentAt.get(e.seq);
      if (t !== undefined) {
        liveLags.push(Date.now() - t);
        sentAt.delete(e.seq);
      }
    });
    await feed.ready;

    fleet = await startFleet({
      devices,
      wsUrls: [cluster.wsUrl],
      workers,
      seed: o.seed,
      profile,
    });
    // 2. The storm.
    await fleet.boot(o.stormWindowMs);
    t0 = Date.now();
    const stormCpu0 = sample();
    const f = fleet;
    const allConnectedMs = await until(
      'every agent connected after the storm',
      o.stormWindowMs + settleTimeout,
      async () => {
        const s = await f.stats();
        return s.connected === o.agents;
      },
      async () => `${fleetSummary(await f.stats())}\n${cluster.helperOutput()}`,
    );
    const stormCpu = sample().reduce(
      (n, x, i) => n + cpuPercent(stormCpu0[i] as ProcSample, x, allConnectedMs),
      0,
    );
    const afterStorm = await fleet.stats(true);
    const connectSorted = [...afterStorm.connectLatencies].sort((a, b) => a - b);
    const storm = {
      windowMs: o.stormWindowMs,
      allConnectedMs,
      connectP50: percentile(connectSorted, 50),
      connectP99: percentile(connectSorted, 99),
      retries: afterStorm.failedAttempts,
      collectorCpuPercent: stormCpu,
    };
    log(`scenario: storm settled, all ${o.agents} connected ${allConnectedMs} ms after the window opened`);

    probe = new SimAgent({
      wsUrl: cluster.wsUrl,
      deviceId: probeDevice.deviceId,
      deviceKey: probeDevice.deviceKey,
      hostname: 'sim-probe',
      profile: { ...profile, speed: 1 },
      random: rng(o.seed ^ 0x5eed),
      counters: newCounters(),
      quietActivity: true,
      onSent: (e: IEvent, at: number) => {
        if (e.heartbeat) sentAt.set(Number(e.seq), at);
      },
    });
    probe.boot();
    const p = probe;
    await until('the probe connected', 30_000, async () => p.isConnected);
    const probeTimer = setInterval(
      () => p.emitNow((seq) => heartbeatEvent(seq, 1, 0)),
      Math.round(1000 / (o.probeHz ?? 4)),
    );

    // 3. The steady school day.
    await sleep(2_000);
    await fleet.stats(true);
    liveLags.length = 0;
    const before = await fleet.stats();
    const cpu0 = sample();
    const bytes0 = await storeBytes(cluster, o.pg);
    const pg0 = o.pg && cluster.database ? await pgCounters(o.pg, cluster.database) : undefined;
    t0 = Date.now();
    let peakRss = 0;
    while (Date.now() - t0 < o.steadyMs) {
      await sleep(1_000);
      peakRss = Math.max(
        peakRss,
        sample().reduce((n, s) => n + s.rssMiB, 0),
      );
    }
    const steadyMsReal = Date.now() - t0;
    const cpu1 = sample();
    const after = await fleet.stats(true);
    const connectionsHeld = (await cluster.agentsConnected()) - (p.isConnected ? 1 : 0);
    const bytes1 = await storeBytes(cluster, o.pg);
    const pg1 = o.pg && cluster.database ? await pgCounters(o.pg, cluster.database) : undefined;
    clearInterval(probeTimer);
    const acked = after.acked - before.acked;
    const ackSorted = [...after.ackLatencies].sort((a, b) => a - b);
    const liveSorted = [...liveLags].sort((a, b) => a - b);
    const seconds = steadyMsReal / 1000;
    const collectorCpu = cpu0.reduce((n, s, i) => n + cpuPercent(s, cpu1[i] as ProcSample, steadyMsReal), 0);
    // Every event the store took in the window (the fleet's and the probe's) against its growth.
    const probeEvents = liveSorted.length;
    const steady: ScenarioReport['steady'] = {
      seconds,
      connectionsHeld,
      eventsPerSec: acked / seconds,
      ackP50: percentile(ackSorted, 50),
      ackP99: percentile(ackSorted, 99),
      ackSamples: ackSorted.length,
      liveP50: percentile(liveSorted, 50),
      liveP99: percentile(liveSorted, 99),
      liveSamples: liveSorted.length,
      collectorCpuPercent: collectorCpu,
      collectorRssMiB: Math.max(
        peakRss,
        cpu1.reduce((n, s) => n + s.rssMiB, 0),
      ),
      simulatorCpuPercent: ((after.cpuSeconds - before.cpuSeconds) / seconds) * 100,
      storeBytesPerEvent: (bytes1 - bytes0) / Math.max(1, acked + probeEvents),
      blobsStored: after.blobsStored - before.blobsStored,
    };
    if (pg0 && pg1) {
      steady.pgTimelineRowsPerSec = (pg1.timelineRows - pg0.timelineRows) / seconds;
      steady.pgRowWritesPerSec = (pg1.rowWrites - pg0.rowWrites) / seconds;
      steady.pgWalBytesPerEvent =
        (pg1.walBytes - pg0.walBytes) / Math.max(1, pg1.timelineRows - pg0.timelineRows);
    }
    log(`scenario: steady ${JSON.stringify(steady)}`);

    // 4. Every collector restarted at once.
    const r0 = Date.now();
    await cluster.restartAll();
    const downMs = Date.now() - r0;
    t0 = Date.now();
    const settleMs = await until(
      'every agent reconnected with its backlog acked',
      settleTimeout,
      async () => {
        const s = await f.stats();
        return s.settled === o.agents;
      },
      async () => `${fleetSummary(await f.stats())}\n${cluster.helperOutput()}`,
    );
    const afterRestart = await fleet.stats(true);
    const reconnectSorted = [...afterRestart.connectLatencies].sort((a, b) => a - b);
    const restart = {
      downMs,
      settleMs,
      reconnectP50: percentile(reconnectSorted, 50),
      reconnectP99: percentile(reconnectSorted, 99),
      retries: afterRestart.failedAttempts - after.failedAttempts,
    };
    log(`scenario: restart (down ${downMs} ms) settled in ${settleMs} ms`);

    // 5. Read back.
    let verified: ScenarioReport['verified'];
    if (o.verify) {
      await fleet.quiesce();
      await until(
        'every event acked after the activity stopped',
        settleTimeout,
        async () => (await f.stats()).settled === o.agents,
        async () => `${fleetSummary(await f.stats())}\n${cluster.helperOutput()}`,
      );
      const streams = await fleet.streams();
      const where =
        o.pg && cluster.database
          ? { postgresUrl: o.pg.url(cluster.database), keyFile: cluster.collectors[0]!.keyFile }
          : { dataDir: cluster.collectors[0]!.dataDir, keyFile: cluster.collectors[0]!.keyFile };
      await fleet.stop();
      fleet = undefined;
      probe.stop();
      feed.close();
      if (!o.pg) for (const c of cluster.collectors) await c.stop();
      const stored = await storedTimelines(
        where,
        streams.map((s) => s.deviceId),
      );
      let events = 0;
      for (const s of streams) {
        const seqs = (stored.get(s.deviceId) ?? [])
          .filter((r) => r.streamId === s.streamId)
          .map((r) => r.seq);
        const set = new Set(seqs);
        events += set.size;
        if (set.size !== seqs.length)
          problems.push(`${s.deviceId}: ${seqs.length - set.size} events stored twice`);
        for (let q = 1; q <= s.ackedSeq; q++)
          if (!set.has(q)) {
            problems.push(`${s.deviceId}: acked seq ${q} is not in the store`);
            break;
          }
        if (s.ackedSeq !== s.lastSeq)
          problems.push(`${s.deviceId}: ${s.lastSeq - s.ackedSeq} events never acked`);
        if (seqs.some((q) => q > s.lastSeq))
          problems.push(`${s.deviceId}: stored seqs past the last one sent`);
      }
      verified = { streams: streams.length, events };
    }
    const final = fleet ? await fleet.stats() : afterRestart;
    problems.push(...final.problems);
    if (connectionsHeld !== o.agents)
      problems.push(`the collectors held ${connectionsHeld} agent connections, ${o.agents} expected`);
    return {
      seed: o.seed,
      agents: o.agents,
      collectors: o.collectors,
      store: o.store,
      setup: cluster.describe(),
      workers,
      enrolPerSec,
      storm,
      steady,
      restart,
      ...(verified ? { verified } : {}),
      problems,
      durationMs: Date.now() - started,
      ...(cluster.database && o.pg
        ? {
            reusable: {
              database: cluster.database,
              keyFile: keepKey(cluster.collectors[0]!.keyFile, o.reuse?.keyFile),
              adminToken: cluster.adminToken,
              enrolSecret: cluster.enrolSecret,
              devices: everyDevice,
            },
          }
        : {}),
    };
  } finally {
    probe?.stop();
    feed?.close();
    await fleet?.stop();
    await cluster.stop();
  }
}
