// The PostgreSQL writer lock with several collectors (collector/src/store/postgres-engine.ts,
// sharedWriters): collectors with `bus: nats` take it shared and run side by side on one
// database; a `bus: none` collector (exclusive: it assumes it is alone) cannot start beside them,
// nor they beside it. Replayed from outside with real collector processes on a real database.
// NATS need not be running: a collector starts and serves without it (it connects in the
// background), so the URL here points at a closed port.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { freePort, type PgCluster, startPostgres } from '../support/postgres.ts';

let pg: PgCluster;
const running: CollectorProcess[] = [];
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  for (const c of running) await c.cleanup();
  await pg?.stop();
});

async function refused(env: Record<string, string>): Promise<string> {
  const err = (await startCollector({ env, startTimeoutMs: 60_000 }).then(
    (c) => {
      running.push(c);
      throw new Error('it started');
    },
    (e: unknown) => e,
  )) as Error;
  return err.message;
}

describe('the writer lock with several collectors on one database', () => {
  it('bus: nats collectors share it; a bus: none collector is refused beside them, and they beside it', async () => {
    const url = pg.url(await pg.createDatabase());
    // One at-rest key for the deployment, as every collector of a trust shares it.
    const store = {
      CUSTODIAN_STORE: 'postgres',
      CUSTODIAN_POSTGRES_URL: url,
      CUSTODIAN_SCREENSHOT_KEY: randomBytes(32).toString('base64'),
    };
    const nats = {
      ...store,
      CUSTODIAN_BUS: 'nats',
      CUSTODIAN_NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    };
    const first = await startCollector({ env: nats });
    running.push(first);
    const second = await startCollector({ env: nats, startTimeoutMs: 60_000 });
    running.push(second);
    for (const c of [first, second]) {
      const h = (await (await fetch(`${c.url}/api/v1/health`)).json()) as { bus: unknown };
      expect(h.bus).toEqual({ kind: 'nats', connected: false });
    }
    const alone = await refused(store);
    expect(alone).toContain('"code":"CUST_ERR_STORE_LOCKED"');
    expect(alone).not.toContain(pg.password);

    // The other way round: a one-collector deployment holds it; a bus: nats one is refused.
    for (const c of running.splice(0)) expect(await c.stop()).toBe(0);
    const single = await startCollector({ env: store });
    running.push(single);
    const joiner = await refused(nats);
    expect(joiner).toContain('"code":"CUST_ERR_STORE_LOCKED"');
    expect(joiner).toContain(
      'a one-collector deployment (bus: none, sharedWriters off) holds it exclusively',
    );
    expect(joiner).toContain('give every collector of this database bus: nats');
  });
});
