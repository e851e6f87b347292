// Every console query on PostgreSQL uses an index at a realistic size: a school-sized database
// (300 devices, 150,000 timeline events over three months, 20,000 alerts, 50,000 audit records,
// health alerts), ANALYZEd, then each console read (device timeline page, alert queue with its
// filters, audit log, health queue, device list) is run through the store while the engine's SQL
// is captured, and EXPLAIN of each statement must show no sequential scan of the big tables. A
// timeline page for a time range must read only the months it spans (partition pruning).
//
// Why there are no per-filter indexes: the stores are prefix scans of the primary key (`at!`
// newest-first for alerts, `au!` for audit, `kv!health-alerts!` …) with filters applied to the
// rows read, as on level; the key ranges are the index. What that costs (a rare filter reads many
// rows) is in collector/src/store/README.md.
import { randomBytes } from 'node:crypto';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { openPostgresStore } from '../../src/store/index.ts';
import { K, toJsonBytes } from '../../src/store/keys.ts';
import { ensureMonths, monthOf } from '../../src/store/postgres-partitions.ts';
import { alertIdFor, alertOps, encodeTimelineRecord } from '../../src/store/records.ts';
import type { Alert, KvOp, Store } from '../../src/store/types.ts';

let pg: PgCluster;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

const DAY = 86_400_000;
const DEVICES = 300;
const EVENTS_PER_DEVICE = 500;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function nodes(n: PlanNode): PlanNode[] {
  return [n, ...(n.Plans ?? []).flatMap(nodes)];
}

function alert(deviceId: string, seq: number, createdAt: number, status: Alert['status']): Alert {
  return {
    id: alertIdFor(deviceId, 's1', seq),
    deviceId,
    event: { streamId: 's1', seq },
    category: 'bullying',
    severity: 1 + (seq % 5),
    term: 't',
    context: 'c',
    windowTitle: 'w',
    windowUrl: '',
    windowApp: 'a',
    source: 'title',
    educationalContext: false,
    repeatCount: 0,
    screenshotBlobIds: [],
    screenshotUnavailableReason: '',
    status,
    notes: [],
    history: [],
    occurredAt: createdAt,
    createdAt,
    updatedAt: createdAt,
  };
}

async function seed(store: Store, now: number): Promise<void> {
  const start = now - 80 * DAY;
  const step = Math.floor((80 * DAY) / EVENTS_PER_DEVICE);
  let ops: KvOp[] = [];
  const flush = async (force = false) => {
    if (ops.length < 8000 && !force) return;
    await store.engine.batch(ops, { sync: false });
    ops = [];
  };
  for (let d = 0; d < DEVICES; d++) {
    const deviceId = `dev-${String(d).padStart(4, '0')}`;
    ops.push({
      type: 'put',
      key: K.device(deviceId),
      value: toJsonBytes({ id: deviceId, hostname: deviceId }),
    });
    for (let i = 1; i <= EVENTS_PER_DEVICE; i++) {
      const time = start + i * step + d;
      const key = K.timeline(deviceId, time, 's1', i);
      const rec = {
        deviceId,
        streamId: 's1',
        seq: i,
        time,
        agentTimeMs: time,
        receivedAt: time,
        kind: i % 10 === 0 ? 'activeWindow' : 'heartbeat',
        event: randomBytes(40),
        sensitive: [],
      };
      ops.push(
        { type: 'put', key, value: encodeTimelineRecord(store.cipher, key, rec) },
        { type: 'put', key: K.eventRef(deviceId, 's1', i), value: toJsonBytes(key) },
      );
      if (i % 25 === 0)
        ops.push(...alertOps(store.cipher, alert(deviceId, i, time, i % 50 === 0 ? 'new' : 'graded')));
    }
    for (let i = 0; i < 170; i++) {
      const at = start + i * 40 * 60_000 + d;
      const id = `a${d}x${i}`;
      ops.push({
        type: 'put',
        key: K.audit(at, id),
        value: toJsonBytes({
          id,
          at,
          actor: 'it.tech',
          action: i % 3 ? 'device.view' : 'policy.change',
          target: `device:${deviceId}`,
        }),
      });
    }
    for (let i = 0; i < 7; i++)
      ops.push({
        type: 'put',
        key: K.kv('health-alerts', `${deviceId}--k${i}`),
        value: toJsonBytes({
          id: `${deviceId}--k${i}`,
          deviceId,
          state: i ? 'resolved' : 'open',
          history: [],
        }),
      });
    await flush();
  }
  await flush(true);
}

describe('console queries on PostgreSQL at a realistic size', () => {
  it('use an index (no sequential scan of the timeline, pointer or kv tables) and prune timeline months', async () => {
    const db = await pg.createDatabase();
    const statements: [string, unknown[]][] = [];
    let capture = false;
    const store = await openPostgresStore(
      {
        url: pg.url(db),
        onQuery: (text, params) => {
          if (capture) statements.push([text, params]);
        },
      },
      randomBytes(32),
    );
    const client = new pgLib.Client({ connectionString: pg.url(db) });
    await client.connect();
    try {
      const now = Date.now();
      // A collector running for the last three months created each month ahead of it.
      const pool = new pgLib.Pool({ connectionString: pg.url(db), max: 1 });
      await ensureMonths(pool, now - 90 * DAY);
      await ensureMonths(pool, now - 30 * DAY);
      await pool.end();
      await seed(store, now);
      await client.query('VACUUM ANALYZE');
      expect(Number((await client.query('SELECT count(*) AS n FROM custodian_timeline')).rows[0].n)).toBe(
        DEVICES * EVENTS_PER_DEVICE,
      );
      const reads: [string, () => Promise<unknown>][] = [
        ['device timeline page', () => store.timeline.query({ deviceId: 'dev-0042', limit: 100 })],
        [
          'device timeline, one week a month ago',
          () =>
            store.timeline.query({
              deviceId: 'dev-0042',
              from: now - 37 * DAY,
              to: now - 30 * DAY,
              limit: 100,
            }),
        ],
        [
          'device timeline, kinds filter',
          () => store.timeline.query({ deviceId: 'dev-0042', kinds: ['activeWindow'], limit: 50 }),
        ],
        [
          'alert queue (new, severity 3+)',
          () => store.alerts.list({ status: ['new'], minSeverity: 3, limit: 50 }),
        ],
        ['alert queue since a week', () => store.alerts.list({ since: now - 7 * DAY, limit: 50 })],
        ['alerts of one device', () => store.alerts.list({ deviceId: 'dev-0007', limit: 20 })],
        ['audit log page', () => store.audit.list({ limit: 100 })],
        ['audit log by action', () => store.audit.list({ action: 'policy.change', limit: 100 })],
        ['health queue', () => store.kv('health-alerts').list({ limit: 500 })],
        ['health of one device', () => store.kv('health-alerts').list({ prefix: 'dev-0009--' })],
        ['device list', () => store.devices.list()],
        ['event by (device, stream, seq)', () => store.timeline.get('dev-0042', 's1', 250)],
      ];
      // A sequential scan of a table that held no row at ANALYZE (a month created ahead) reads
      // nothing: only tables with rows count.
      const filled = new Set(
        (
          await client.query<{ relname: string }>(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND reltuples > 0 AND relname LIKE 'custodian_%'",
          )
        ).rows.map((r) => r.relname),
      );
      const big = /^custodian_(kv|event_ref|timeline.*)$/;
      for (const [name, read] of reads) {
        statements.length = 0;
        capture = true;
        await read();
        capture = false;
        expect(statements.length, name).toBeGreaterThan(0);
        for (const [text, params] of statements.slice(0, 20)) {
          const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${text}`, params);
          const plan = nodes((rows[0]['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan);
          const seq = plan.filter(
            (n) =>
              n['Node Type'] === 'Seq Scan' &&
              big.test(n['Relation Name'] ?? '') &&
              filled.has(n['Relation Name'] ?? ''),
          );
          expect(
            seq.map((n) => n['Relation Name']),
            `${name}: ${text}`,
          ).toEqual([]);
          if (name === 'device timeline, one week a month ago' && text.includes('FROM custodian_timeline')) {
            const months = new Set(
              plan
                .map((n) => n['Relation Name'])
                .filter((r): r is string => !!r?.startsWith('custodian_timeline_')),
            );
            // The default partition (times outside the months created) is always a candidate;
            // besides it, only the months the week spans (one or two), not all of them.
            months.delete('custodian_timeline_default');
            expect(months.size, text).toBeGreaterThanOrEqual(1);
            expect(months.size, text).toBeLessThanOrEqual(2);
            for (const m of months)
              expect([monthOf(now - 37 * DAY).name, monthOf(now - 30 * DAY).name]).toContain(m);
          }
        }
      }
    } finally {
      await client.end();
      await store.close();
    }
  }, 300_000);
});
