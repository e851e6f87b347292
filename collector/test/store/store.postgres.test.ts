// The shared store suite on PostgreSQL: a real throwaway cluster (test/support/postgres.ts), one
// fresh database per store the suite opens.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { openPostgresStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { storeSuite } from './store-suite.ts';

let pg: PgCluster;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

const databases = new Map<Store, string>();
storeSuite('postgres', {
  open: async () => {
    const db = await pg.createDatabase();
    const store = await openPostgresStore({ url: pg.url(db), poolMax: 4 }, randomBytes(32));
    databases.set(store, db);
    return store;
  },
  dispose: async (s) => {
    await s.close();
    await pg.dropDatabase(databases.get(s) as string);
  },
});
