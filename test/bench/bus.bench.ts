// Would buffering ingest through JetStream help? (issue 20 item 3: "if measured to help".)
// A JetStream ingest buffer would put one durable write in front of the agent's ack (publish the
// batch to a stream, ack once JetStream has it; a consumer commits to PostgreSQL later). It can
// only help if that write acks faster than the collector's own path to PostgreSQL does today.
// Measured in the same run on the same machine:
// - baseline: a real collector process (`store: postgres`) acking 100-event batches after its
//   group commit, 1 connection, 8 batches in flight (the store section's workload);
// - candidate: the same encoded batches published to a JetStream file stream on a real
//   `nats-server -js` (Debian 2.9), 8 in flight, each awaited to its PubAck — the most a buffered
//   collector could ack at, before its own decoding, validation and the consumer's commit.
// - a ceiling for a buffered collector: the same collector ingest on level (a local fsync per
//   commit, no network round trip: about what the collector's ack path costs when the durable
//   write in front of the ack is cheap).
// Rounds alternate; each figure is the median of ROUNDS after one untimed warm-up round.
import { randomUUID } from 'node:crypto';
import { encodeAgentMessage } from '@custodian/protocol';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startCollector } from '../support/collector-process.ts';
import { enrolMany } from '../support/enrol-many.ts';
import { startNatsServer } from '../support/nats-server.ts';
import { startPostgres } from '../support/postgres.ts';
import { EVENTS_PER_BATCH, events, stream } from './collector.bench.ts';
import { median } from './stats.ts';
import type { BenchResult } from './types.ts';

const ROUNDS = 3;
const BATCHES = 300;
const IN_FLIGHT = 8;

export async function run(): Promise<BenchResult> {
  const pg = await startPostgres();
  const nats = await startNatsServer();
  const collector = await startCollector({
    env: {
      CUSTODIAN_LOG_LEVEL: 'warn',
      CUSTODIAN_IDLE_TIMEOUT_MS: '600000',
      CUSTODIAN_STORE: 'postgres',
      CUSTODIAN_POSTGRES_URL: pg.url(await pg.createDatabase()),
    },
  });
  const level = await startCollector({
    env: { CUSTODIAN_LOG_LEVEL: 'warn', CUSTODIAN_IDLE_TIMEOUT_MS: '600000' },
  });
  const u = new URL(nats.url);
  const nc = await connect({ servers: `${u.hostname}:${u.port}`, user: u.username, pass: nats.password });
  try {
    const devices = await enrolMany(collector.url, collector.enrolSecret, ROUNDS + 1);
    const levelDevices = await enrolMany(level.url, level.enrolSecret, ROUNDS + 1);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'INGEST', subjects: ['ingest.>'], storage: StorageType.File });
    const js = jetstream(nc);
    const streamId = randomUUID();
    const frames = Array.from({ length: BATCHES }, (_, b) =>
      encodeAgentMessage({ batch: { streamId, events: events(b * EVENTS_PER_BATCH + 1, EVENTS_PER_BATCH) } }),
    );
    const pgRates: number[] = [];
    const jsRates: number[] = [];
    const levelRates: number[] = [];
    const ingest = async (wsUrl: string, dev: { deviceId: string; deviceKey: string } | undefined) => {
      const s = await stream(wsUrl, dev as { deviceId: string; deviceKey: string }, BATCHES, IN_FLIGHT);
      const t0 = performance.now();
      await s.go();
      const rate = (BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
      s.client.close();
      return rate;
    };
    for (let r = 0; r <= ROUNDS; r++) {
      const levelRate = await ingest(level.wsUrl, levelDevices[r]);
      const s = await stream(
        collector.wsUrl,
        devices[r] as { deviceId: string; deviceKey: string },
        BATCHES,
        IN_FLIGHT,
      );
      let t0 = performance.now();
      await s.go();
      const pgRate = (BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
      s.client.close();
      let next = 0;
      const worker = async () => {
        while (next < BATCHES) {
          const i = next++;
          await js.publish(`ingest.round${r}`, frames[i] as Uint8Array);
        }
      };
      t0 = performance.now();
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      const jsRate = (BATCHES * EVENTS_PER_BATCH) / ((performance.now() - t0) / 1000);
      if (r > 0) {
        levelRates.push(levelRate);
        pgRates.push(pgRate);
        jsRates.push(jsRate);
      }
    }
    const js50 = median(jsRates);
    const pg50 = median(pgRates);
    const level50 = median(levelRates);
    return {
      title: 'Ingest buffering through JetStream (issue 20 item 3)',
      rows: [
        {
          metric: `JetStream acked publish of the same 100-event batches (file stream, ${IN_FLIGHT} in flight; median of ${ROUNDS})`,
          value: js50,
          unit: 'events/s',
          baseline: pg50,
          baselineLabel: 'collector acking after its PostgreSQL group commit, 1 connection, same run',
          ratio: js50 / pg50,
        },
        {
          metric: `ceiling of a buffered collector: the same collector ingest with a cheap local durable write (level; median of ${ROUNDS})`,
          value: level50,
          unit: 'events/s',
          baseline: pg50,
          baselineLabel: 'collector acking after its PostgreSQL group commit, 1 connection, same run',
          ratio: level50 / pg50,
        },
      ],
      notes: [
        `All rounds (events/s): collector on PostgreSQL ${pgRates.map(Math.round).join(', ')}; JetStream publish ${jsRates.map(Math.round).join(', ')}; collector on level ${levelRates.map(Math.round).join(', ')}.`,
        `Frame size: ${frames[0]?.byteLength} bytes per 100-event batch.`,
        'The JetStream figure is an upper bound for a buffered collector: it leaves out the collector (WebSocket, decoding, validation, dedup checks) and the consumer that would still commit every event to PostgreSQL, so PostgreSQL does the same work either way; a buffer only moves it off the ack path.',
        'Durability differs: nats-server 2.9 by default acks a publish once written to its file store, without an fsync of each (it syncs on an interval), where the collector acks after a PostgreSQL COMMIT with synchronous_commit on. A buffer would weaken "acked = durable" on one NATS node; it needs an R3 stream on a three-node cluster to match.',
        'Collector, PostgreSQL, nats-server and the load generator share the machine (2 cores).',
      ],
    };
  } finally {
    await nc.close();
    await collector.cleanup();
    await level.cleanup();
    await nats.cleanup();
    await pg.stop();
  }
}
