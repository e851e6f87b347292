// A real collector process is killed with SIGKILL while batches stream in. Afterwards every
// batch is either fully present or absent (never half), everything acked is present, and
// after restart the agent's resend is stored exactly once. On each store: level in the data dir,
// and PostgreSQL (a throwaway cluster, test/support/postgres.ts) with `store: postgres`.
import { randomUUID } from 'node:crypto';
import { encodeAgentMessage, type IEvent } from '@custodian/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../collector/test/helpers/agent-client.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { type StoreLocation, storedTimeline } from '../support/collector-store.ts';
import { type PgCluster, startPostgres } from '../support/postgres.ts';

const BATCH = 50;
/** Like a real agent, keep at most this many events sent but not yet acked. */
const WINDOW = 100 * BATCH;

function batchEvents(b: number): IEvent[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const seq = b * BATCH + i + 1;
    return { seq, timeMs: Date.now(), activeWindow: { app: 'app', title: `window ${seq}`, url: '', pid: 1 } };
  });
}

async function allSeqs(where: StoreLocation, deviceId: string): Promise<number[]> {
  return (await storedTimeline(where, deviceId)).map((r) => r.seq).sort((x, y) => x - y);
}

let collector: CollectorProcess | undefined;
let pg: PgCluster | undefined;
afterEach(async () => {
  await collector?.cleanup();
  collector = undefined;
});
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});

/** Each store: the collector's env for it and where to read it while the collector is down. */
const STORES: Record<
  string,
  () => Promise<{ env: Record<string, string>; where: (c: CollectorProcess) => StoreLocation }>
> = {
  level: async () => ({ env: {}, where: (c) => ({ dataDir: c.dataDir, keyFile: c.keyFile }) }),
  postgres: async () => {
    const url = (pg as PgCluster).url(await (pg as PgCluster).createDatabase());
    return {
      env: { CUSTODIAN_STORE: 'postgres', CUSTODIAN_POSTGRES_URL: url },
      where: (c) => ({ postgresUrl: url, keyFile: c.keyFile }),
    };
  },
};

describe.each(Object.keys(STORES))('collector on %s killed with SIGKILL mid-stream', (storeName) => {
  it('keeps whole batches only, loses nothing acked, stores the resend once', async () => {
    const store = await (STORES[storeName] as (typeof STORES)[string])();
    // A 1 s commit tick: after the first group commit (the first ack, which triggers the kill),
    // the next commit is a second away while batches keep arriving, so the kill lands with
    // received-but-uncommitted batches in the collector even when this process is slow.
    collector = await startCollector({ env: { CUSTODIAN_COMMIT_TICK_MS: '1000', ...store.env } });
    const enrol = await fetch(`${collector.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: collector.enrolSecret,
        machineId: 'kill9-machine',
        hostname: 'k9',
        os: 'linux',
        serial: 'K9',
      }),
    });
    expect(enrol.status).toBe(200);
    const { deviceId, deviceKey } = (await enrol.json()) as { deviceId: string; deviceKey: string };
    const stream = randomUUID();

    const client = new AgentClient(collector.wsUrl);
    await client.hello(deviceId, deviceKey, stream);
    let maxAcked = 0;
    let killed = false;
    const killedAt = new Promise<void>((resolve) => {
      client.ws.on('message', () => {
        for (const m of client.messages)
          if (m.body === 'ack') maxAcked = Math.max(maxAcked, Number(m.ack?.seq));
        client.messages.length = 0;
        if (!killed && maxAcked > 0) {
          killed = true;
          void collector!.kill9().then(resolve);
        }
      });
    });
    // Keep streaming, ack-paced like an agent, until the kill closes the socket: the kill always
    // lands mid-stream however slowly this process sees the first ack.
    let sent = 0;
    const deadline = Date.now() + 60_000;
    while (client.ws.readyState === client.ws.OPEN && Date.now() < deadline) {
      if (sent * BATCH - maxAcked >= WINDOW) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      client.ws.send(encodeAgentMessage({ batch: { streamId: stream, events: batchEvents(sent) } }));
      sent++;
      if (sent % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await killedAt;
    await client.closed;
    expect(maxAcked).toBeGreaterThan(0);

    // On disk after the crash: everything acked, and only whole batches.
    const afterCrash = await allSeqs(store.where(collector), deviceId);
    const present = new Set(afterCrash);
    for (let s = 1; s <= maxAcked; s++) expect(present.has(s)).toBe(true);
    for (let b = 0; b < sent; b++) {
      const count = batchEvents(b).filter((e) => present.has(e.seq as number)).length;
      expect([0, BATCH]).toContain(count);
    }
    expect(new Set(afterCrash).size).toBe(afterCrash.length);
    console.log(
      `kill9: acked up to ${maxAcked}, ${afterCrash.length} of ${sent * BATCH} sent events on disk after SIGKILL`,
    );
    // The kill really interrupted the stream (otherwise this test proves nothing).
    expect(afterCrash.length).toBeLessThan(sent * BATCH);

    // Restart; the agent resends everything it was not told is durable (here: all of it).
    await collector.restart();
    const again = new AgentClient(collector.wsUrl);
    const { welcome } = await again.hello(deviceId, deviceKey, stream);
    expect(Number(welcome.ackedSeq)).toBe(afterCrash.length === 0 ? 0 : Math.max(...afterCrash));
    expect(Number(welcome.ackedSeq)).toBeGreaterThanOrEqual(maxAcked);
    let last: number | undefined;
    for (let b = 0; b < sent; b++) {
      again.send({ batch: { streamId: stream, events: batchEvents(b) } });
    }
    for (let b = 0; b < sent; b++) last = Number((await again.next('ack', 30_000)).ack?.seq);
    expect(last).toBe(sent * BATCH);
    again.close();
    await again.closed;
    expect(await collector.stop()).toBe(0);

    const final = await allSeqs(store.where(collector), deviceId);
    expect(final.length).toBe(sent * BATCH);
    expect(final).toEqual(Array.from({ length: sent * BATCH }, (_, i) => i + 1));
  });
});
