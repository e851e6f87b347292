// The writer lock's two modes on a real throwaway cluster: collectors with `sharedWriters` take
// the one advisory key shared and coexist; a single-writer collector (the default) takes it
// exclusive and cannot start beside them, nor they beside it — CUST_ERR_STORE_LOCKED either way,
// the message saying which mode holds the database.
import { ErrorCode } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { openPostgresEngine } from '../../src/store/postgres-engine.ts';

let pg: PgCluster;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

describe('PostgreSQL writer lock modes', () => {
  it('lets shared writers coexist and write', async () => {
    const url = pg.url(await pg.createDatabase());
    const a = await openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
    const b = await openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
    const c = await openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
    try {
      await a.batch([{ type: 'put', key: 'x!a', value: Uint8Array.of(1) }], { sync: true });
      await b.batch([{ type: 'put', key: 'x!b', value: Uint8Array.of(2) }], { sync: true });
      expect([...((await c.get('x!a')) ?? [])]).toEqual([1]);
      expect([...((await a.get('x!b')) ?? [])]).toEqual([2]);
      expect(a.shared).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('refuses a single writer beside shared writers, saying shared writers hold it', async () => {
    const url = pg.url(await pg.createDatabase());
    const a = await openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
    const b = await openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
    try {
      const single = openPostgresEngine({ url, lockWaitMs: 300 });
      await expect(single).rejects.toMatchObject({ code: ErrorCode.STORE_LOCKED });
      await expect(single).rejects.toThrow('2 shared-writer collector process(es)');
      await expect(single).rejects.toThrow('this collector runs with sharedWriters off');
      await expect(single).rejects.not.toThrow(pg.password);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    // Once the shared writers are gone the single writer starts.
    await (await openPostgresEngine({ url, lockWaitMs: 300 })).close();
  });

  it('refuses shared writers beside a single writer, saying a single writer holds it', async () => {
    const url = pg.url(await pg.createDatabase());
    const single = await openPostgresEngine({ url, lockWaitMs: 300 });
    try {
      const shared = openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
      await expect(shared).rejects.toMatchObject({ code: ErrorCode.STORE_LOCKED });
      await expect(shared).rejects.toThrow(
        'a one-collector deployment (bus: none, sharedWriters off) holds it exclusively',
      );
      await expect(shared).rejects.toThrow('this collector runs with sharedWriters on');
    } finally {
      await single.close();
    }
    const shared = await openPostgresEngine({ url, sharedWriters: true, lockWaitMs: 300 });
    expect(shared.shared).toBe(true);
    await shared.close();
  });

  it('single-writer mode is the default and stays exclusive (a second single writer is refused)', async () => {
    const url = pg.url(await pg.createDatabase());
    const first = await openPostgresEngine({ url });
    try {
      expect(first.shared).toBe(false);
      await expect(openPostgresEngine({ url, lockWaitMs: 300 })).rejects.toThrow(
        'a one-collector deployment (bus: none, sharedWriters off) holds it exclusively',
      );
    } finally {
      await first.close();
    }
  });
});
