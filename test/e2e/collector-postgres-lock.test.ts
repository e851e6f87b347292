// One collector per PostgreSQL database in the default single-writer mode (sharedWriters off): its
// read-modify-writes rely on the store's in-process lock, so a second collector process on the same
// database would interleave them. Replayed from outside: start a second real collector process on
// the first one's database. It refuses to start (exit code 1, CUST_ERR_STORE_LOCKED, the URL shown
// without its password), and the first keeps serving. (Shared writers, which take cross-process
// locks instead: collector/test/store/postgres-writer-modes.test.ts, postgres-shared-writers.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { type PgCluster, startPostgres } from '../support/postgres.ts';

let pg: PgCluster;
let first: CollectorProcess | undefined;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await first?.cleanup();
  await pg?.stop();
});

describe('two collectors on one PostgreSQL database', () => {
  it('the second refuses to start with CUST_ERR_STORE_LOCKED; the first keeps serving', async () => {
    const url = pg.url(await pg.createDatabase());
    const env = { CUSTODIAN_STORE: 'postgres', CUSTODIAN_POSTGRES_URL: url };
    first = await startCollector({ env });
    const second = startCollector({ env, startTimeoutMs: 60_000 });
    const err = (await second.then(
      (c) => {
        void c.cleanup();
        throw new Error('the second collector started');
      },
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toContain('exited with 1 before listening');
    expect(err.message).toContain('"code":"CUST_ERR_STORE_LOCKED"');
    expect(err.message).toContain('another collector process is using the PostgreSQL store');
    expect(err.message).not.toContain(pg.password);
    // The URL's password is in no log line; the start-up line names the database without it.
    expect(first.logs().join('\n')).not.toContain(pg.password);
    expect(first.logs().some((l) => l.includes('"store opened"') && l.includes(':***@127.0.0.1'))).toBe(true);
    const health = await fetch(`${first.url}/api/v1/devices`, {
      headers: { authorization: `Bearer ${first.adminToken}` },
    });
    expect(health.status).toBe(200);
    // Once the first stops, the database is free for the next one.
    expect(await first.stop()).toBe(0);
    await first.restart();
  });
});
