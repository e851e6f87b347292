// Store comparison (issue 20 item 2): the same ingest through a real collector process on each
// store, in the same run — level (the baseline) and PostgreSQL (a throwaway local cluster,
// test/support/postgres.ts, default settings: synchronous_commit on, fsync on). Events/s
// committed and acked over 1 connection and over 100, and bytes on disk per event.
// Statistics: rounds alternate the two stores; each figure is the median of ROUNDS rounds after
// one untimed warm-up round per store.
// Then the timeline partitioned by month (schema 3) against the same engine on the unpartitioned
// schema 2 (`schemaVersion: 2`), in the same run: ingest-shaped batches (100 events with their
// dedup pointers and stream state, one transaction each) written straight through the engine by
// 8 concurrent writers, events/s and bytes per event. Engine-level on purpose: the collector
// process always opens the newest schema.
// Leaves out: PostgreSQL on another host (network round trips per commit), tuned PostgreSQL
// settings, concurrent console queries, screenshots.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createBlobCipher } from '../../collector/src/store/blob-crypto.ts';
import { K, toJsonBytes } from '../../collector/src/store/keys.ts';
import { openPostgresEngine } from '../../collector/src/store/postgres-engine.ts';
import { encodeTimelineRecord } from '../../collector/src/store/records.ts';
import type { KvEngine, KvOp } from '../../collector/src/store/types.ts';
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

const SCHEMA_WRITERS = 8;
const SCHEMA_BATCHES = 40;
const cipher = createBlobCipher(randomBytes(32));

/** One round on an engine: SCHEMA_WRITERS devices × SCHEMA_BATCHES batches of 100 events. */
async function schemaRound(engine: KvEngine, round: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SCHEMA_WRITERS }, async (_, w) => {
      const deviceId = `bench-${round}-${w}`;
      for (let b = 0; b < SCHEMA_BATCHES; b++) {
        const ops: KvOp[] = [];
        for (let i = 0; i < EVENTS_PER_BATCH; i++) {
          const seq = b * EVENTS_PER_BATCH + i + 1;
          const time = Date.now() - 3_600_000 + seq;
          const key = K.timeline(deviceId, time, 's1', seq);
          const rec = {
            deviceId,
            streamId: 's1',
            seq,
            time,
            agentTimeMs: time,
            receivedAt: time,
            kind: 'heartbeat',
            event: randomBytes(60),
            sensitive: [],
          };
          ops.push(
            { type: 'put', key, value: encodeTimelineRecord(cipher, key, rec) },
            { type: 'put', key: K.eventRef(deviceId, 's1', seq), value: toJsonBytes(key) },
          );
        }
        ops.push({
          type: 'put',
          key: K.stream(deviceId, 's1'),
          value: toJsonBytes({ deviceId, streamId: 's1', maxSeq: (b + 1) * EVENTS_PER_BATCH }),
        });
        await engine.batch(ops, { sync: true });
      }
    }),
  );
  return (SCHEMA_WRITERS * SCHEMA_BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
}

/** Bytes of every custodian table (partitions included) with indexes and TOAST. */
async function databaseBytes(pg: PgCluster, db: string): Promise<number> {
  await pg.psql(db, 'VACUUM ANALYZE');
  return Number(
    await pg.psql(
      db,
      `SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
       WHERE c.relkind = 'r' AND c.relname LIKE 'custodian_%' AND c.relname <> 'custodian_schema_version'`,
    ),
  );
}

async function compareSchemas(
  pg: PgCluster,
): Promise<{ v2: number[]; v3: number[]; v2Bytes: number; v3Bytes: number; events: number }> {
  const db2 = await pg.createDatabase();
  const db3 = await pg.createDatabase();
  const v2 = await openPostgresEngine({ url: pg.url(db2), schemaVersion: 2 });
  const v3 = await openPostgresEngine({ url: pg.url(db3) });
  const rates = { v2: [] as number[], v3: [] as number[] };
  try {
    for (let r = 0; r <= ROUNDS; r++) {
      const a = await schemaRound(v2, r);
      const b = await schemaRound(v3, r);
      if (r > 0) {
        rates.v2.push(a);
        rates.v3.push(b);
      }
    }
  } finally {
    await v2.close();
    await v3.close();
  }
  const events = (ROUNDS + 1) * SCHEMA_WRITERS * SCHEMA_BATCHES * EVENTS_PER_BATCH;
  return { ...rates, v2Bytes: await databaseBytes(pg, db2), v3Bytes: await databaseBytes(pg, db3), events };
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
    const pgBytes = await databaseBytes(pg, db);
    const timelineBytes = Number(
      await pg
        .psql(
          db,
          "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('custodian_timeline') UNION ALL SELECT pg_total_relation_size('custodian_event_ref')",
        )
        .then((t) => t.split('\n').reduce((a, x) => a + Number(x), 0)),
    );
    const schemas = await compareSchemas(pg);
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
      {
        metric: `engine ingest, timeline partitioned by month (schema 3), ${SCHEMA_WRITERS} writers of 100-event transactions (median of ${ROUNDS})`,
        value: median(schemas.v3),
        unit: 'events/s',
        baseline: median(schemas.v2),
        baselineLabel: 'unpartitioned timeline (schema 2), same run',
        ratio: median(schemas.v3) / median(schemas.v2),
      },
      {
        metric: `engine store size per event, partitioned (schema 3), after ${schemas.events.toLocaleString('en-GB')} events`,
        value: schemas.v3Bytes / schemas.events,
        unit: 'bytes',
        baseline: schemas.v2Bytes / schemas.events,
        baselineLabel: 'unpartitioned (schema 2), same events',
        ratio: schemas.v3Bytes / schemas.v2Bytes,
      },
    ];
    return {
      title: 'Store: level vs PostgreSQL (issue 20 item 2)',
      rows,
      notes: [
        `All rounds (events/s): level 1 connection ${level.one.map(Math.round).join(', ')}; PostgreSQL 1 connection ${postgres.one.map(Math.round).join(', ')}; level ${MANY} connections ${level.many.map(Math.round).join(', ')}; PostgreSQL ${MANY} connections ${postgres.many.map(Math.round).join(', ')}.`,
        'PostgreSQL 15 from Debian on the same machine (loopback TCP, default settings: synchronous_commit on, fsync on); the KvEngine over custodian_kv + custodian_timeline (monthly partitions) + custodian_event_ref (collector/src/store/README.md), a group commit = one transaction.',
        `Of the PostgreSQL bytes, the timeline (month partitions with their primary keys, and the (device, stream, seq) pointer table) holds ${((100 * timelineBytes) / pgBytes).toFixed(1)}%.`,
        `Partitioned vs unpartitioned rounds (events/s): schema 3 ${schemas.v3.map(Math.round).join(', ')}; schema 2 ${schemas.v2.map(Math.round).join(', ')}. Schema 3 writes each event's dedup pointer to custodian_event_ref (ev_key primary key, time) beside the month partition's (key, time) primary key; schema 2 keeps a generated ev_key column with a unique index in the one timeline table.`,
        'The collector rows above run the newest schema (partitioned, with the shared-writer code in; single writer).',
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
