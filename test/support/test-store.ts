// The store an in-process test harness opens: level in its data dir, or — when
// CUSTODIAN_TEST_POSTGRES_URL names a PostgreSQL server (an admin URL; `with-postgres.ts` sets it
// for a throwaway cluster) — a fresh database on that server per store, dropped when the store
// closes. So every harness-based suite can be run on PostgreSQL as well:
//   pnpm exec node test/support/with-postgres.ts pnpm exec vitest run collector/test/ingest
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openLevelStore, openPostgresStore } from '../../collector/src/store/index.ts';
import type { Store } from '../../collector/src/store/types.ts';

export const TEST_POSTGRES_ENV = 'CUSTODIAN_TEST_POSTGRES_URL';

export async function openTestStore(dataDir: string, key: Uint8Array, now?: () => number): Promise<Store> {
  const admin = process.env[TEST_POSTGRES_ENV];
  if (!admin) return openLevelStore(dataDir, key, now);
  const name = `h_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name} TEMPLATE template0`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const store = await openPostgresStore({ url: url.toString(), poolMax: 4 }, key, now);
  const close = store.close.bind(store);
  return new Proxy(store, {
    get: (target, prop) =>
      prop === 'close'
        ? async () => {
            await close();
            await run(`DROP DATABASE ${name} WITH (FORCE)`);
          }
        : Reflect.get(target, prop),
  });
}
