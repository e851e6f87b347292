// Retention for the records that are not timeline or screenshots: alerts by outcome, closed
// incidents, the audit log, notifications to staff, and the purge records themselves. Anything
// under the safeguarding hold (hold.ts) is skipped and counted.
import type { CollectorConfig } from '../config.ts';
import type { Incident } from '../safeguarding/incidents.ts';
import { HIGH, K, padTime } from '../store/keys.ts';
import { blobDeleteOps } from '../store/store.ts';
import type { Alert, AlertStatus, KvOp, PurgeRun, Store } from '../store/types.ts';
import { INCIDENTS_NS, type SafeguardingHold } from './hold.ts';

const DAY = 86_400_000;
const BATCH = 1000;

/** When the DSL last decided on the alert (its clock for retention); creation while unreviewed. */
export function decidedAt(a: Alert): number {
  let at = a.createdAt;
  for (const h of a.history) if (h.actor !== 'system' && h.at > at) at = h.at;
  return at;
}

/** How many days an alert in this state is kept (retention settings). */
export function alertDays(r: CollectorConfig['retention'], status: AlertStatus): number {
  switch (status) {
    case 'false-positive':
      return r.alertFalsePositiveDays;
    case 'graded':
      return r.alertGradedDays;
    case 'escalated':
      return r.alertEscalatedDays;
    default:
      return r.alertUnreviewedDays;
  }
}

/** Deletes alerts past their outcome's period (and screenshots no kept alert refers to). */
export async function purgeAlerts(
  store: Store,
  r: CollectorConfig['retention'],
  now: number,
  run: PurgeRun,
  hold: SafeguardingHold,
): Promise<void> {
  const due: Alert[] = [];
  const keptBlobs = new Set<string>();
  for await (const [k] of store.engine.entries({
    gte: K.alertTimePrefix(),
    lt: K.alertTimePrefix() + HIGH,
  })) {
    const a = await store.alerts.get(k.slice(k.lastIndexOf('!') + 1));
    if (!a) continue;
    const expired = decidedAt(a) < now - alertDays(r, a.status) * DAY;
    if (expired && hold.alerts.has(a.id)) run.held.alerts++;
    if (expired && !hold.alerts.has(a.id)) due.push(a);
    else for (const b of a.screenshotBlobIds) keptBlobs.add(`${a.deviceId}/${b}`);
  }
  for (const a of due) {
    const ops: KvOp[] = [
      { type: 'del', key: K.alert(a.id) },
      { type: 'del', key: K.alertTime(a.createdAt, a.id) },
    ];
    for (const b of new Set(a.screenshotBlobIds)) {
      if (keptBlobs.has(`${a.deviceId}/${b}`)) continue;
      const meta = await store.blobs.meta(a.deviceId, b);
      const del = await store.withLock(() => blobDeleteOps(store.engine, a.deviceId, b));
      if (del.length === 0) continue;
      ops.push(...del);
      run.blobsDeleted++;
      run.blobBytesDeleted += meta?.size ?? 0;
    }
    await store.engine.batch(ops, { sync: true });
    run.alertsDeleted[a.status] = (run.alertsDeleted[a.status] ?? 0) + 1;
  }
}

/** Deletes closed incidents created before retention.incidentDays; open ones are held. */
export async function purgeIncidents(
  store: Store,
  r: CollectorConfig['retention'],
  now: number,
  run: PurgeRun,
  hold: SafeguardingHold,
): Promise<void> {
  const cutoff = now - r.incidentDays * DAY;
  const kv = store.kv<Incident>(INCIDENTS_NS);
  for (const { key, value } of await kv.list()) {
    if (value.createdAt >= cutoff) continue;
    if (hold.incidents.has(value.id)) {
      run.held.incidents++;
      continue;
    }
    await kv.del(key);
    run.incidentsDeleted++;
  }
}

/** Audit records, notifications and purge records older than their periods. */
export async function purgeLogs(
  store: Store,
  r: CollectorConfig['retention'],
  now: number,
  run: PurgeRun,
): Promise<void> {
  run.auditRecordsDeleted = await deleteTimeKeyed(store, K.auditPrefix(), now - r.auditDays * DAY);
  run.purgeRecordsDeleted = await deleteTimeKeyed(store, K.purgePrefix(), now - r.purgeRecordDays * DAY);
  const cutoff = now - r.notificationDays * DAY;
  const kv = store.kv<{ at: number }>('notifications');
  for (const { key, value } of await kv.list()) {
    if (typeof value.at !== 'number' || value.at >= cutoff) continue;
    await kv.del(key);
    run.notificationsDeleted++;
  }
}

/** Deletes every `<prefix><time 15>!...` key older than `cutoff` (audit, purge records). */
async function deleteTimeKeyed(store: Store, prefix: string, cutoff: number): Promise<number> {
  let n = 0;
  let ops: KvOp[] = [];
  for await (const [k] of store.engine.entries({ gte: prefix, lt: prefix + padTime(Math.max(0, cutoff)) })) {
    ops.push({ type: 'del', key: k });
    n++;
    if (ops.length >= BATCH) {
      await store.engine.batch(ops, { sync: true });
      ops = [];
    }
  }
  await store.engine.batch(ops, { sync: true });
  return n;
}
