// The PostgreSQL KvEngine against a real throwaway cluster: the same answers as the memory engine
// for random batches and range scans (pages longer than one round trip), one writer per database
// (CUST_ERR_STORE_LOCKED), the lock re-taken after its connection is cut, migrations recorded once.
import { ErrorCode } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { rng } from '../../../test/support/rng.ts';
import { createMemoryEngine } from '../../src/store/memory-engine.ts';
import { describeUrl, openPostgresEngine, WRITER_LOCK } from '../../src/store/postgres-engine.ts';
import { MIGRATIONS } from '../../src/store/postgres-migrations.ts';
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
    try {
      for (let b = 0; b < 12; b++) {
        const ops: KvOp[] = [];
        for (let i = 0; i < 300; i++) {
          const k = key();
          // Puts and deletes of the same keys in one batch: applied in order, last one wins.
          if (rnd() < 0.25) ops.push({ type: 'del', key: k });
          else ops.push({ type: 'put', key: k, value: Uint8Array.of(b, i & 0xff, i >> 8) });
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
      ];
      for (const range of ranges) expect(await all(engine, range)).toEqual(await all(memory, range));
      expect((await all(engine, {})).length).toBeGreaterThan(500);
      const probe = ['k!00001', 'k!00002', 'nope', 'k!00001'];
      const got = (await engine.getMany(probe)).map((v) => v && Buffer.from(v).toString('hex'));
      const want = (await memory.getMany(probe)).map((v) => v && Buffer.from(v).toString('hex'));
      expect(got).toEqual(want);
      const hex = (v: Uint8Array | undefined) => v && Buffer.from(v).toString('hex');
      for (const k of ['k!00003', 'k!00004', 'k!01499']) {
        expect(hex(await engine.get(k))).toEqual(hex(await memory.get(k)));
      }
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
