// Store comparison (issue 20 item 2): the same ingest through a real collector process on each
// store, in the same run — level (the baseline) and PostgreSQL (a throwaway local cluster,
// test/support/postgres.ts, default settings: synchronous_commit on, fsync on). Events/s
// committed and acked over 1 connection and over 100, and bytes on disk per event.
// Statistics: rounds alternate the two stores; each figure is the median of ROUNDS rounds after
// one untimed warm-up round per store.
// Leaves out: PostgreSQL on another host (network round trips per commit), tuned PostgreSQL
// settings, concurrent console queries, screenshots.
import { execFileSync } from 'node:child_process';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { enrolMany } from '../support/enrol-many.ts';
import { type PgCluster, startPostgres } from '../support/postgres.ts';
import { EVENTS_PER_BATCH, stream } from './collector.bench.ts';
import { median } from './stats.ts';
import type { BenchResult } from './types.ts';

const ROUNDS = 3;
const ONE_BATCHES = 300;
const MANY = 100;
const MANY_BATCHES = 5;

interface Side {
  collector: CollectorProcess;
  devices: { deviceId: string; deviceKey: string }[];
  one: number[];
  many: number[];
  events: number;
}

async function open(env: Record<string, string>): Promise<Side> {
  const collector = await startCollector({
    env: { CUSTODIAN_LOG_LEVEL: 'warn', CUSTODIAN_IDLE_TIMEOUT_MS: '600000', ...env },
  });
  const devices = await enrolMany(collector.url, collector.enrolSecret, 1 + MANY * (ROUNDS + 1));
  return { collector, devices, one: [], many: [], events: 0 };
}

async function round(side: Side, r: number): Promise<void> {
  const one = await stream(side.collector.wsUrl, side.devices[0]!, ONE_BATCHES, 8);
  let t0 = performance.now();
  await one.go();
  const oneRate = (ONE_BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
  one.client.close();
  const group = side.devices.slice(1 + r * MANY, 1 + (r + 1) * MANY);
  const many = await Promise.all(group.map((d) => stream(side.collector.wsUrl, d, MANY_BATCHES, 2)));
  t0 = performance.now();
  await Promise.all(many.map((m) => m.go()));
  const manyRate = (MANY * MANY_BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
  for (const m of many) m.client.close();
  side.events += (ONE_BATCHES + MANY * MANY_BATCHES) * EVENTS_PER_BATCH;
  if (r > 0) {
    side.one.push(oneRate);
    side.many.push(manyRate);
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

export async function run(): Promise<BenchResult> {
  const pg: PgCluster = await startPostgres();
  let level: Side | undefined;
  let postgres: Side | undefined;
  try {
    const db = await pg.createDatabase();
    level = await open({});
    postgres = await open({ CUSTODIAN_STORE: 'postgres', CUSTODIAN_POSTGRES_URL: pg.url(db) });
    for (let r = 0; r <= ROUNDS; r++) {
      await round(level, r);
      await round(postgres, r);
    }
    // Bytes per event: the whole store (every record kind ingest writes) over the events sent.
    await pg.psql(db, 'VACUUM ANALYZE');
    const pgBytes = Number(
      await pg.psql(
        db,
        "SELECT pg_total_relation_size('custodian_kv') + pg_total_relation_size('custodian_timeline')",
      ),
    );
    const timelineBytes = Number(await pg.psql(db, "SELECT pg_total_relation_size('custodian_timeline')"));
    const stopped = await level.collector.stop();
    if (stopped !== 0) throw new Error(`level collector stopped with ${stopped}`);
    const levelBytes = duBytes(`${level.collector.dataDir}/db`);
    const rows = [
      {
        metric: `ingest on PostgreSQL, 1 connection (100-event batches, 8 in flight; median of ${ROUNDS})`,
        value: median(postgres.one),
        unit: 'events/s',
        baseline: median(level.one),
        baselineLabel: 'same ingest on level, same run',
        ratio: median(postgres.one) / median(level.one),
      },
      {
        metric: `ingest on PostgreSQL, ${MANY} concurrent connections (median of ${ROUNDS})`,
        value: median(postgres.many),
        unit: 'events/s',
        baseline: median(level.many),
        baselineLabel: 'same ingest on level, same run',
        ratio: median(postgres.many) / median(level.many),
      },
      {
        metric: `store size per event after ${postgres.events.toLocaleString('en-GB')} events (both tables with indexes and TOAST)`,
        value: pgBytes / postgres.events,
        unit: 'bytes',
        baseline: levelBytes / level.events,
        baselineLabel: 'level db dir (du), same events',
        ratio: pgBytes / postgres.events / (levelBytes / level.events),
      },
    ];
    return {
      title: 'Store: level vs PostgreSQL (issue 20 item 2)',
      rows,
      notes: [
        `All rounds (events/s): level 1 connection ${level.one.map(Math.round).join(', ')}; PostgreSQL 1 connection ${postgres.one.map(Math.round).join(', ')}; level ${MANY} connections ${level.many.map(Math.round).join(', ')}; PostgreSQL ${MANY} connections ${postgres.many.map(Math.round).join(', ')}.`,
        'PostgreSQL 15 from Debian on the same machine (loopback TCP, default settings: synchronous_commit on, fsync on); the KvEngine over custodian_kv + custodian_timeline (collector/src/store/README.md), a group commit = one transaction.',
        `Of the PostgreSQL bytes, the timeline table (rows, primary key, unique (device, stream, seq) index) holds ${((100 * timelineBytes) / pgBytes).toFixed(1)}%.`,
        'Collector, PostgreSQL and the load generator share the machine (2 cores).',
        'level size: its db dir after a graceful stop, no manual compaction (LevelDB compresses blocks with Snappy); PostgreSQL size: pg_total_relation_size after VACUUM ANALYZE (WAL not counted; rows of JSON and protobuf under 2 kB are not compressed).',
      ],
    };
  } finally {
    await level?.collector.cleanup();
    await postgres?.collector.cleanup();
    await pg.stop();
  }
}
