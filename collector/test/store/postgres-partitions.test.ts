// The PostgreSQL timeline partitioned by month (schema 3) on a real throwaway cluster: a schema-2
// database keeps every record through the migration, the (device, stream, seq) constraint still
// refuses a replay carrying another time, the coming months exist ahead and a month created late
// takes its rows out of the default partition, and retention's reclaim drops only months wholly
// past the cutoff that it emptied.
import { ErrorCode } from '@custodian/protocol';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { K, toJsonBytes } from '../../src/store/keys.ts';
import { openPostgresEngine } from '../../src/store/postgres-engine.ts';
import { ensureMonths, listMonths, monthOf } from '../../src/store/postgres-partitions.ts';
import type { KvEngine, KvOp } from '../../src/store/types.ts';

let pg: PgCluster;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

const DAY = 86_400_000;

function event(device: string, time: number, seq: number, stream = 's1'): KvOp[] {
  const tl = K.timeline(device, time, stream, seq);
  return [
    { type: 'put', key: tl, value: Uint8Array.of(seq & 0xff, 7) },
    { type: 'put', key: K.eventRef(device, stream, seq), value: toJsonBytes(tl) },
  ];
}

async function dump(engine: KvEngine): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [k, v] of engine.entries({})) out.push([k, Buffer.from(v).toString('hex')]);
  return out;
}

describe('PostgreSQL timeline partitioned by month', () => {
  it('migrates a schema-2 database keeping every record; months get their partitions, far-off times the default', async () => {
    const db = await pg.createDatabase();
    const now = Date.now();
    const old = await openPostgresEngine({ url: pg.url(db), schemaVersion: 2 });
    const times = [now, now - 40 * DAY, now - 70 * DAY, Date.UTC(2000, 0, 1)];
    const ops = times.flatMap((t, i) => event('dev-1', t, i + 1));
    ops.push({ type: 'put', key: 'dv!dev-1', value: toJsonBytes({ id: 'dev-1' }) });
    await old.batch(ops, { sync: true });
    const before = await dump(old);
    await old.close();
    expect(await pg.psql(db, 'SELECT max(version) FROM custodian_schema_version')).toBe('2');

    const engine = await openPostgresEngine({ url: pg.url(db) });
    try {
      expect(await dump(engine)).toEqual(before);
      expect(await pg.psql(db, 'SELECT max(version) FROM custodian_schema_version')).toBe('3');
      const where = await pg.psql(db, 'SELECT seq, tableoid::regclass FROM custodian_timeline ORDER BY seq');
      expect(where.split('\n')).toEqual([
        `1|${monthOf(now).name}`,
        `2|${monthOf(now - 40 * DAY).name}`,
        `3|${monthOf(now - 70 * DAY).name}`,
        '4|custodian_timeline_default',
      ]);
      // The constraint on (device, stream, seq) still holds across months and partitions.
      await expect(engine.batch(event('dev-1', now - 200 * DAY, 2), { sync: true })).rejects.toMatchObject({
        code: ErrorCode.CONFLICT,
        message: expect.stringContaining('custodian_timeline_device_stream_seq'),
      });
      await expect(engine.batch(event('dev-1', now, 4), { sync: true })).rejects.toMatchObject({
        message: expect.stringContaining('custodian_timeline_device_stream_seq'),
      });
      // Rewriting the same record (sealing, erasure) is not a replay.
      await engine.batch([{ type: 'put', key: K.timeline('dev-1', now, 's1', 1), value: Uint8Array.of(9) }], {
        sync: true,
      });
      expect([...((await engine.get(K.timeline('dev-1', now, 's1', 1))) ?? [])]).toEqual([9]);
      // Deleting through either key removes the event and its pointer.
      await engine.batch([{ type: 'del', key: K.eventRef('dev-1', 's1', 3) }], { sync: true });
      await engine.batch([{ type: 'del', key: K.timeline('dev-1', times[1] as number, 's1', 2) }], {
        sync: true,
      });
      expect(await pg.psql(db, 'SELECT count(*) FROM custodian_timeline')).toBe('2');
      expect(await pg.psql(db, 'SELECT count(*) FROM custodian_event_ref')).toBe('2');
    } finally {
      await engine.close();
    }
  });

  it('creates the current month and the next two ahead; a month created late takes its rows from the default', async () => {
    const db = await pg.createDatabase();
    const now = Date.now();
    const engine = await openPostgresEngine({ url: pg.url(db) });
    const pool = new pgLib.Pool({ connectionString: pg.url(db) });
    try {
      const months = await listMonths(pool);
      for (let i = 0; i <= 2; i++) expect(months).toContain(monthOf(now, i).name);
      expect(months).not.toContain(monthOf(now, 3).name);
      const later = monthOf(now, 4).from + DAY;
      await engine.batch(event('dev-2', later, 1), { sync: true });
      expect(await pg.psql(db, 'SELECT tableoid::regclass FROM custodian_timeline')).toBe(
        'custodian_timeline_default',
      );
      const created = await ensureMonths(pool, monthOf(now, 3).from);
      expect(created).toEqual([monthOf(now, 3).name, monthOf(now, 4).name, monthOf(now, 5).name]);
      expect(await pg.psql(db, 'SELECT tableoid::regclass FROM custodian_timeline')).toBe(
        monthOf(now, 4).name,
      );
      expect(await engine.get(K.timeline('dev-2', later, 's1', 1))).toBeDefined();
      // Idempotent, and a second process creating at once does not fail.
      expect(await Promise.all([ensureMonths(pool, now), ensureMonths(pool, now)])).toEqual([[], []]);
    } finally {
      await pool.end();
      await engine.close();
    }
  });

  it('reclaim drops months wholly before the cutoff that are empty, and keeps one with a row left', async () => {
    const db = await pg.createDatabase();
    const now = Date.now();
    const engine = await openPostgresEngine({ url: pg.url(db) });
    const pool = new pgLib.Pool({ connectionString: pg.url(db) });
    try {
      const m5 = monthOf(now, -5);
      const m4 = monthOf(now, -4);
      await ensureMonths(pool, m5.from);
      await engine.batch([...event('dev-3', m5.from + DAY, 1), ...event('dev-3', m4.from + DAY, 2)], {
        sync: true,
      });
      // Retention deleted month -5's events; month -4 still holds one (a safeguarding hold).
      await engine.batch(
        [
          { type: 'del', key: K.timeline('dev-3', m5.from + DAY, 's1', 1) },
          { type: 'del', key: K.eventRef('dev-3', 's1', 1) },
        ],
        { sync: true },
      );
      const dropped = await (engine.reclaim as (b: number) => Promise<string[]>)(monthOf(now, -1).from);
      // Month -3 was created ahead (with -5) and never held a row: empty too.
      expect(dropped).toEqual([m5.name, monthOf(now, -3).name]);
      const left = await listMonths(pool);
      expect(left).not.toContain(m5.name);
      expect(left).toContain(m4.name);
      expect(left).toContain(monthOf(now).name);
      expect(await engine.get(K.timeline('dev-3', m4.from + DAY, 's1', 2))).toBeDefined();
    } finally {
      await pool.end();
      await engine.close();
    }
  });
});
