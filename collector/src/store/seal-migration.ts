// One-time migration at start: records written before safeguarding text was sealed at rest
// (alerts, flagged/matching timeline events, status snapshots' current window, incidents) are rewritten
// sealed, then the ranges are compacted so the old plaintext values leave the LevelDB files. The
// same pass over the timeline fills the index of who was reported signed in on which device
// (`us!`), which ingest keeps from then on (subject access reads only those devices).
//
// Why at start and not on read: a record nobody reads again would stay plain on disk for ever.
// It runs before ingest and the HTTP server start, so nothing writes these keys meanwhile; the
// `cfg!at-rest` marker makes later starts skip the scan. Cost: one pass over the timeline of the
// whole store on the first start after the upgrade (JSON parse per event; ~1-2 s per million
// events on the build machine), then nothing.
import { decodeEvent } from '@custodian/protocol';
import type { BlobCipher } from './blob-crypto.ts';
import { fromJsonBytes, HIGH, K, toJsonBytes } from './keys.ts';
import {
  alertNeedsSealing,
  decodeAlert,
  decodeKvValue,
  decodeStatus,
  decodeTimelineRecord,
  encodeAlert,
  encodeKvValue,
  encodeTimelineRecord,
  kvNeedsSealing,
  SEALED_NAMESPACES,
  statusNeedsSealing,
  statusOp,
  timelineNeedsSealing,
  userHash,
  userSeenOp,
} from './records.ts';
import type { KvOp, Store } from './types.ts';

/** Bumped when another kind of record becomes sealed: the scan then runs once more. */
/** 2: staff accounts and the sign-in and notification settings joined the sealed namespaces. */
export const AT_REST_VERSION = 2;
const MARKER = 'cfg!at-rest';
const BATCH = 500;

export interface SealMigrationResult {
  alerts: number;
  timelineEvents: number;
  statuses: number;
  /** Values of sealed kv namespaces (incidents). */
  kvValues: number;
  /** (user, device) pairs written to the signed-in index from heartbeats and inventories. */
  usersIndexed: number;
  /** True when the marker said it was done already (nothing scanned). */
  skipped: boolean;
}

export async function sealPlainRecords(store: Store): Promise<SealMigrationResult> {
  const result: SealMigrationResult = {
    alerts: 0,
    timelineEvents: 0,
    statuses: 0,
    kvValues: 0,
    usersIndexed: 0,
    skipped: false,
  };
  const done = async () => {
    const marker = await store.engine.get(MARKER);
    return marker !== undefined && fromJsonBytes<{ version: number }>(marker).version >= AT_REST_VERSION;
  };
  if (await done()) return { ...result, skipped: true };
  // Several collectors starting on one database (PostgreSQL sharedWriters): one seals, under the
  // store's write lock across processes; the others wait, then find the marker and skip.
  return store.withLock(async () => ((await done()) ? { ...result, skipped: true } : sealAll(store, result)));
}

async function sealAll(store: Store, result: SealMigrationResult): Promise<SealMigrationResult> {
  const { engine, cipher } = store;
  let ops: KvOp[] = [];
  const flush = async (force = false) => {
    if (ops.length === 0 || (!force && ops.length < BATCH)) return;
    await engine.batch(ops, { sync: true });
    ops = [];
  };
  for await (const [k, v] of engine.entries({ gte: 'al!', lt: `al!${HIGH}` })) {
    if (!alertNeedsSealing(v)) continue;
    ops.push({ type: 'put', key: k, value: encodeAlert(cipher, decodeAlert(cipher, v)) });
    result.alerts++;
    await flush();
  }
  const seen = new Set<string>();
  for await (const [k, v] of engine.entries({ gte: 'tl!', lt: `tl!${HIGH}` })) {
    // The same pass fills the index of who was signed in where (records.ts userSeenOp).
    const user = reportedUser(cipher, k, v);
    if (user) {
      const rec = decodeTimelineRecord(cipher, k, v);
      const id = `${userHash(user)}/${rec.deviceId}`;
      if (!seen.has(id)) {
        seen.add(id);
        ops.push(userSeenOp(rec.deviceId, user, rec.time));
        result.usersIndexed++;
      }
    }
    if (!timelineNeedsSealing(v)) continue;
    ops.push({
      type: 'put',
      key: k,
      value: encodeTimelineRecord(cipher, k, decodeTimelineRecord(cipher, k, v)),
    });
    result.timelineEvents++;
    await flush();
  }
  const statusPrefix = K.statusPrefix();
  for await (const [, v] of engine.entries({ gte: statusPrefix, lt: statusPrefix + HIGH })) {
    if (!statusNeedsSealing(v)) continue;
    ops.push(statusOp(cipher, decodeStatus(cipher, v)));
    result.statuses++;
    await flush();
  }
  for (const ns of SEALED_NAMESPACES) {
    const prefix = K.kvPrefix(ns);
    for await (const [k, v] of engine.entries({ gte: prefix, lt: prefix + HIGH })) {
      if (!kvNeedsSealing(ns, v)) continue;
      ops.push({ type: 'put', key: k, value: encodeKvValue(cipher, ns, k, decodeKvValue(cipher, ns, k, v)) });
      result.kvValues++;
      await flush();
    }
  }
  ops.push({ type: 'put', key: MARKER, value: toJsonBytes({ version: AT_REST_VERSION }) });
  await flush(true);
  if (result.alerts + result.timelineEvents + result.statuses + result.kvValues > 0) {
    // The plain values are still in older table files until compacted away.
    await engine.compact?.('', HIGH);
  }
  return result;
}

/** The signed-in user a heartbeat or inventory record reports, if any. */
function reportedUser(cipher: BlobCipher, key: string, bytes: Uint8Array): string | undefined {
  const kind = fromJsonBytes<{ kind?: string }>(bytes).kind;
  if (kind !== 'heartbeat' && kind !== 'inventory') return undefined;
  try {
    const e = decodeEvent(decodeTimelineRecord(cipher, key, bytes).event);
    return (e.heartbeat?.loggedInUser || e.inventory?.loggedInUser) ?? undefined;
  } catch {
    return undefined;
  }
}
