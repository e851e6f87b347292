// Issue 19 measurements (run by hand: `node test/bench/data-protection-measure.ts`; figures are
// copied into collector/src/data-protection/README.md). Not part of `pnpm bench` yet.
// 1. Subject access archive of one device with EVENTS timeline events and SHOTS 1 MiB screenshots,
//    streamed into a counting sink: time, archive size, peak RSS growth while streaming; next to a
//    plain scan-and-decode of the same timeline (the floor for reading it at all).
// 2. The start migration sealing EVENTS plain events (1 % sensitive) and ALERTS plain alerts.
// 3. Listing ALERTS alerts (the DSL queue reads them all) sealed vs plain.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { v1 } from '@custodian/protocol';
import { subjectParts, writeArchive } from '../../collector/src/data-protection/archive.ts';
import { resolveSubject } from '../../collector/src/data-protection/subject.ts';
import { buildRecord } from '../../collector/src/ingest/events.ts';
import { openLevelStore } from '../../collector/src/store/index.ts';
import { K, toJsonBytes } from '../../collector/src/store/keys.ts';
import { alertOps, decodeTimelineRecord, timelineOps } from '../../collector/src/store/records.ts';
import { sealPlainRecords } from '../../collector/src/store/seal-migration.ts';
import type { Alert, KvOp, Store } from '../../collector/src/store/types.ts';

const EVENTS = Number(process.env['EVENTS'] ?? 200_000);
const SHOTS = 20;
const ALERTS = 10_000;

function event(seq: number, t: number, sensitive: boolean) {
  if (seq % 10 === 0)
    return v1.Event.fromObject({
      seq,
      timeMs: t,
      heartbeat: { uptimeSeconds: seq, loggedInUser: 'ava', outboxDepth: 0 },
    });
  if (sensitive)
    return v1.Event.fromObject({
      seq,
      timeMs: t,
      flaggedActivity: {
        category: 'self-harm',
        severity: 3,
        matchedTerm: 'kms',
        context: 'kms',
        window: { app: 'firefox', title: 'kms', url: '', pid: 1 },
        screenshotBlobIds: [],
        source: 'title',
      },
    });
  return v1.Event.fromObject({
    seq,
    timeMs: t,
    activeWindow: {
      app: 'firefox',
      title: `Year 9 Geography – rivers (${seq})`,
      url: 'https://www.bbc.co.uk/bitesize',
      pid: 42,
    },
  });
}

async function fill(store: Store, deviceId: string, plain: boolean): Promise<void> {
  const stream = randomUUID();
  const t0 = Date.now() - EVENTS * 1000;
  let ops: KvOp[] = [];
  for (let i = 1; i <= EVENTS; i++) {
    const built = buildRecord(deviceId, stream, event(i, t0 + i * 1000, i % 100 === 1), t0 + i * 1000);
    if (plain) {
      const r = built.record;
      const key = K.timeline(deviceId, r.time, stream, r.seq);
      ops.push({
        type: 'put',
        key,
        value: toJsonBytes({ ...r, event: Buffer.from(r.event).toString('base64') }),
      });
      if (built.alert)
        ops.push({ type: 'put', key: K.alert(built.alert.id), value: toJsonBytes(built.alert) });
    } else {
      ops.push(...timelineOps(store.cipher, built.record));
      if (built.alert) ops.push(...alertOps(store.cipher, built.alert));
    }
    if (ops.length >= 2000) {
      await store.engine.batch(ops, { sync: false });
      ops = [];
    }
  }
  await store.engine.batch(ops, { sync: true });
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

async function measureArchive(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dp-measure-'));
  const store = await openLevelStore(dir, randomBytes(32));
  const deviceId = 'dev_measure';
  await store.devices.put({
    id: deviceId,
    kind: 'school',
    machineId: 'm',
    hostname: 'H',
    os: 'linux',
    serial: 'S',
    keyHash: '0',
    enrolledAt: 0,
  });
  await fill(store, deviceId, false);
  const shots: string[] = [];
  for (let i = 0; i < SHOTS; i++) {
    const id = randomUUID();
    await store.blobs.put(deviceId, id, 'image/png', randomBytes(1024 * 1024));
    shots.push(id);
  }
  const first = (await store.alerts.list({ limit: 1 }))[0] as Alert;
  await store.alerts.update(first.id, (a) => ({ ...a, screenshotBlobIds: shots }));

  let t = performance.now();
  let n = 0;
  const prefix = K.timelinePrefix(deviceId);
  for await (const [k, v] of store.engine.entries({ gte: prefix, lt: `${prefix}\xff` })) {
    decodeTimelineRecord(store.cipher, k, v);
    n++;
  }
  const scanMs = performance.now() - t;

  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  t = performance.now();
  const subject = await resolveSubject(store, { device: deviceId });
  const parts = await subjectParts(store, subject, {});
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      bytes += chunk.byteLength;
      cb();
    },
  });
  await writeArchive(parts, { subject: 'x', generatedAt: '', generatedBy: '', reference: '' }, sink);
  const archiveMs = performance.now() - t;
  clearInterval(sampler);
  console.log(
    `archive: ${n} events + ${SHOTS} × 1 MiB screenshots → ${mib(bytes)} in ${(archiveMs / 1000).toFixed(1)} s; ` +
      `scan+decode alone ${(scanMs / 1000).toFixed(1)} s; RSS ${mib(rss0)} → peak ${mib(peak)} (+${mib(peak - rss0)})`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

async function measureMigrationAndList(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dp-measure-'));
  const store = await openLevelStore(dir, randomBytes(32));
  await fill(store, 'dev_plain', true);
  let t = performance.now();
  const r = await sealPlainRecords(store);
  console.log(
    `migration: sealed ${r.timelineEvents} events, ${r.alerts} alerts out of ${EVENTS} events in ${((performance.now() - t) / 1000).toFixed(1)} s (compaction included)`,
  );
  // Alerts: ALERTS sealed vs ALERTS plain, read through the same view.
  const plain: KvOp[] = [];
  const sealed: KvOp[] = [];
  for (let i = 0; i < ALERTS; i++) {
    const base = (await store.alerts.list({ limit: 1 }))[0] as Alert;
    const a: Alert = { ...base, id: `al_p${i}`, createdAt: 1_000 + i };
    plain.push(
      { type: 'put', key: K.alert(a.id), value: toJsonBytes(a) },
      { type: 'put', key: K.alertTime(a.createdAt, a.id), value: new Uint8Array() },
    );
    sealed.push(...alertOps(store.cipher, { ...a, id: `al_s${i}`, createdAt: 5_000_000 + i }));
    if (i === 0) continue;
  }
  await store.engine.batch(plain, { sync: true });
  await store.engine.batch(sealed, { sync: true });
  // Interleaved, so load and cache warmth fall on both sides alike.
  const once = async (since: number) => {
    t = performance.now();
    await store.alerts.list({ since, until: since + ALERTS, limit: 100_000 });
    return performance.now() - t;
  };
  const ps: number[] = [];
  const ss: number[] = [];
  for (let i = 0; i < 7; i++) {
    ps.push(await once(1_000));
    ss.push(await once(5_000_000));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[3] as number;
  const p = median(ps);
  const s = median(ss);
  console.log(
    `alert list of ${ALERTS}: sealed ${s.toFixed(0)} ms vs plain ${p.toFixed(0)} ms (median of 7, interleaved) = ${(s / p).toFixed(2)}×`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await measureArchive();
await measureMigrationAndList();
