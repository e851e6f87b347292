// The PostgreSQL KvEngine against a real throwaway cluster: the same answers as the memory engine
// for random batches and range scans (pages longer than one round trip), one writer per database
// (CUST_ERR_STORE_LOCKED), the lock re-taken after its connection is cut, migrations recorded once.
import { ErrorCode } from '@custodian/protocol';
import pgLib from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { rng } from '../../../test/support/rng.ts';
import { K, toJsonBytes } from '../../src/store/keys.ts';
import { createMemoryEngine } from '../../src/store/memory-engine.ts';
import { describeUrl, openPostgresEngine, WRITER_LOCK } from '../../src/store/postgres-engine.ts';
import { MIGRATIONS, migrate } from '../../src/store/postgres-migrations.ts';
import type { KvEngine, KvOp, KvRange } from '../../src/store/types.ts';

let pg: PgCluster;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

async function all(engine: KvEngine, range: KvRange): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const [k, v] of engine.entries(range)) out.push([k, Buffer.from(v).toString('hex')]);
  return out;
}

describe('PostgreSQL engine', () => {
  it('answers like the memory engine for random batches and ranges (pages of 500 rows and more)', async () => {
    const db = await pg.createDatabase();
    const engine = await openPostgresEngine({ url: pg.url(db) });
    const memory = createMemoryEngine();
    const rnd = rng(20);
    const key = () => `k!${String(Math.floor(rnd() * 1500)).padStart(5, '0')}`;
    // Timeline keys go to their own table (`ev` derived from `tl`): written in pairs as
    // records.ts does, one time per (device, stream, seq) as ingest does.
    const event = () => {
      const device = rnd() < 0.5 ? 'dev-a' : 'dev-b';
      const stream = rnd() < 0.5 ? 's1' : 's2';
      const seq = 1 + Math.floor(rnd() * 400);
      return {
        tl: K.timeline(device, 1_000_000 + seq * 7, stream, seq),
        ev: K.eventRef(device, stream, seq),
      };
    };
    try {
      for (let b = 0; b < 12; b++) {
        const ops: KvOp[] = [];
        for (let i = 0; i < 300; i++) {
          const k = key();
          // Puts and deletes of the same keys in one batch: applied in order, last one wins.
          if (rnd() < 0.25) ops.push({ type: 'del', key: k });
          else ops.push({ type: 'put', key: k, value: Uint8Array.of(b, i & 0xff, i >> 8) });
          const e = event();
          if (rnd() < 0.3) ops.push({ type: 'del', key: e.tl }, { type: 'del', key: e.ev });
          else
            ops.push(
              { type: 'put', key: e.tl, value: Uint8Array.of(b, i & 0xff) },
              { type: 'put', key: e.ev, value: toJsonBytes(e.tl) },
            );
        }
        await engine.batch(ops, { sync: b % 2 === 0 });
        await memory.batch(ops, { sync: true });
      }
      const ranges: KvRange[] = [
        {},
        { reverse: true },
        { gte: 'k!00100', lt: 'k!01200' },
        { gt: 'k!00100', lte: 'k!01200', reverse: true },
        { gte: 'k!', lt: 'k!\xff', limit: 700 },
        { gte: 'k!', lt: 'k!\xff', limit: 700, reverse: true },
        { gt: 'k!01499' },
        { lt: 'k!' },
        // one space, and spans that merge two or three tables
        { gte: K.timelinePrefix('dev-a'), lt: `${K.timelinePrefix('dev-a')}\xff`, reverse: true },
        { gte: K.timelineAt('dev-b', 1_000_700), lt: K.timelineAt('dev-b', 1_001_500) },
        { gte: K.eventRefPrefix('dev-b'), lt: `${K.eventRefPrefix('dev-b')}\xff` },
        { gte: 'ev!', lt: 'tl!\xff', limit: 900 },
        { gt: 'k!01000', lte: 'tl!dev-a', reverse: true },
        { gte: 'a', lt: 'z', reverse: true, limit: 1200 },
      ];
      for (const range of ranges) expect(await all(engine, range)).toEqual(await all(memory, range));
      expect((await all(engine, {})).length).toBeGreaterThan(500);
      const e = event();
      const probe = ['k!00001', 'k!00002', 'nope', 'k!00001', e.tl, e.ev, K.eventRef('dev-a', 's1', 7)];
      const got = (await engine.getMany(probe)).map((v) => v && Buffer.from(v).toString('hex'));
      const want = (await memory.getMany(probe)).map((v) => v && Buffer.from(v).toString('hex'));
      expect(got).toEqual(want);
      const hex = (v: Uint8Array | undefined) => v && Buffer.from(v).toString('hex');
      for (const k of ['k!00003', 'k!00004', 'k!01499', e.tl, e.ev, K.eventRef('dev-b', 's2', 9)]) {
        expect(hex(await engine.get(k))).toEqual(hex(await memory.get(k)));
      }
    } finally {
      await engine.close();
    }
  });

  it('stores an event once per (device, stream, seq): a second time for the same triple fails the whole batch as a conflict', async () => {
    const db = await pg.createDatabase();
    const engine = await openPostgresEngine({ url: pg.url(db) });
    try {
      const pair = (time: number): KvOp[] => {
        const tl = K.timeline('dev-1', time, 's1', 5);
        return [
          { type: 'put', key: tl, value: Uint8Array.of(time & 0xff) },
          { type: 'put', key: K.eventRef('dev-1', 's1', 5), value: toJsonBytes(tl) },
        ];
      };
      await engine.batch(pair(1000), { sync: true });
      await expect(
        engine.batch([{ type: 'put', key: 'kv!x!y', value: Uint8Array.of(1) }, ...pair(2000)], {
          sync: true,
        }),
      ).rejects.toMatchObject({
        code: ErrorCode.CONFLICT,
        message: expect.stringContaining('custodian_timeline_device_stream_seq'),
      });
      expect(await engine.get('kv!x!y')).toBeUndefined();
      expect(await engine.get(K.timeline('dev-1', 2000, 's1', 5))).toBeUndefined();
      const ref = await engine.get(K.eventRef('dev-1', 's1', 5));
      expect(ref && Buffer.from(ref).toString()).toBe(JSON.stringify(K.timeline('dev-1', 1000, 's1', 5)));
      expect(await pg.psql(db, 'SELECT device_id, time, stream_id, seq FROM custodian_timeline')).toBe(
        'dev-1|1000|s1|5',
      );
      expect(
        await pg.psql(db, "SELECT count(*) FROM custodian_kv WHERE key LIKE 'tl!%' OR key LIKE 'ev!%'"),
      ).toBe('0');
    } finally {
      await engine.close();
    }
  });

  it("moves a version-1 database's timeline into the timeline table (migration 2)", async () => {
    const db = await pg.createDatabase();
    const pool = new pgLib.Pool({ connectionString: pg.url(db) });
    const tl = K.timeline('dev-1', 1234, 's1', 9);
    try {
      const client = await pool.connect();
      try {
        await migrate(client, MIGRATIONS.slice(0, 1));
        await client.query('INSERT INTO custodian_kv (key, value) VALUES ($1, $2), ($3, $4), ($5, $6)', [
          tl,
          Buffer.from('record'),
          K.eventRef('dev-1', 's1', 9),
          Buffer.from(JSON.stringify(tl)),
          'dv!dev-1',
          Buffer.from('{}'),
        ]);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
    const engine = await openPostgresEngine({ url: pg.url(db) });
    try {
      expect(await all(engine, {})).toEqual([
        ['dv!dev-1', Buffer.from('{}').toString('hex')],
        [K.eventRef('dev-1', 's1', 9), Buffer.from(JSON.stringify(tl)).toString('hex')],
        [tl, Buffer.from('record').toString('hex')],
      ]);
      expect(await pg.psql(db, 'SELECT count(*) FROM custodian_kv')).toBe('1');
    } finally {
      await engine.close();
    }
  });

  it('gives each value as a Uint8Array of its own (not a Buffer sharing memory)', async () => {
    const db = await pg.createDatabase();
    const engine = await openPostgresEngine({ url: pg.url(db) });
    try {
      await engine.batch([{ type: 'put', key: 'a', value: Uint8Array.of(1, 2, 3) }], { sync: true });
      const v = (await engine.get('a')) as Uint8Array;
      expect(Buffer.isBuffer(v)).toBe(false);
      expect([...v.slice(1)]).toEqual([2, 3]);
    } finally {
      await engine.close();
    }
  });

  it('lets one process write a database: a second engine fails with CUST_ERR_STORE_LOCKED, then opens once the first closes', async () => {
    const db = await pg.createDatabase();
    const first = await openPostgresEngine({ url: pg.url(db) });
    const second = openPostgresEngine({ url: pg.url(db), lockWaitMs: 300 });
    await expect(second).rejects.toMatchObject({ code: ErrorCode.STORE_LOCKED });
    await expect(second).rejects.toThrow(describeUrl(pg.url(db)));
    await expect(second).rejects.not.toThrow(pg.password);
    await first.close();
    const third = await openPostgresEngine({ url: pg.url(db), lockWaitMs: 300 });
    await third.close();
  });

  it('re-takes the writer lock when its connection is cut, and refuses writes while another process holds it', async () => {
    const db = await pg.createDatabase();
    const engine = await openPostgresEngine({ url: pg.url(db) });
    try {
      const lockPid = () => pg.psql(db, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted");
      const before = await lockPid();
      expect(before).toMatch(/^\d+$/);
      await pg.psql(db, `SELECT pg_terminate_backend(${before})`);
      await expect.poll(lockPid).toBe('');
      await engine.batch([{ type: 'put', key: 'x', value: Uint8Array.of(1) }], { sync: true });
      const after = await lockPid();
      expect(after).toMatch(/^\d+$/);
      expect(after).not.toBe(before);
      // Cut again, and let someone else take the lock first: the write is refused.
      const { Client } = (await import('pg')).default;
      const other = new Client({ connectionString: pg.url(db) });
      await other.connect();
      try {
        await pg.psql(db, `SELECT pg_terminate_backend(${after})`);
        await expect.poll(lockPid).toBe('');
        await other.query('SELECT pg_advisory_lock($1)', [WRITER_LOCK.toString()]);
        await expect(
          engine.batch([{ type: 'put', key: 'y', value: Uint8Array.of(2) }], { sync: true }),
        ).rejects.toMatchObject({ code: ErrorCode.STORE_LOCKED });
        expect(await engine.get('y')).toBeUndefined();
      } finally {
        await other.end();
      }
    } finally {
      await engine.close();
    }
  });

  it('shows a database URL without its password, wherever libpq lets it be given', () => {
    expect(describeUrl('postgresql://custodian:s3cret@db:5432/custodian')).toBe(
      'postgresql://custodian:***@db:5432/custodian',
    );
    expect(describeUrl('postgresql://custodian@db/custodian?password=s3cret&sslmode=require')).toBe(
      'postgresql://custodian@db/custodian?password=***&sslmode=require',
    );
    expect(describeUrl('not a url s3cret')).not.toContain('s3cret');
  });

  it('applies each migration once and records it', async () => {
    const db = await pg.createDatabase();
    await (await openPostgresEngine({ url: pg.url(db) })).close();
    await (await openPostgresEngine({ url: pg.url(db) })).close();
    const versions = await pg.psql(db, 'SELECT version, name FROM custodian_schema_version ORDER BY version');
    expect(versions.split('\n')).toEqual(MIGRATIONS.map((m) => `${m.version}|${m.name}`));
  });

  it('refuses a database whose schema is newer than this collector', async () => {
    const db = await pg.createDatabase();
    await (await openPostgresEngine({ url: pg.url(db) })).close();
    await pg.psql(db, "INSERT INTO custodian_schema_version (version, name) VALUES (9999, 'future')");
    await expect(openPostgresEngine({ url: pg.url(db) })).rejects.toMatchObject({
      code: ErrorCode.STORAGE,
      message: expect.stringContaining('newer than this collector'),
    });
  });
});
