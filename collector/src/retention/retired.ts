// Retired devices (revoked and marked gone for good from the console) lose their data once they
// have been retired for retention.retiredDays, whatever its age: every timeline event and its
// dedup pointer, the stream states, the live-status snapshot, the per-device policy override, and
// every screenshot no alert refers to. Kept: the device record (marked `purgedAt`; the audit log
// names it), its alerts, and the screenshots those alerts refer to, which expire on the normal
// screenshot schedule — safeguarding evidence is the DSL's, never removed early by IT's decision.
// A retired device is revoked, so nothing can arrive for it after the purge.
// What was removed, and what was kept, is recorded per device on the run (`retiredPurges`) and in
// one `device.purge` audit record per device (job.ts).
import { fromJsonBytes, HIGH, K } from '../store/keys.ts';
import { blobDeleteOps } from '../store/store.ts';
import type { BlobMeta, KvOp, PurgeRun, RetiredPurge, Store } from '../store/types.ts';
import type { SafeguardingHold } from './hold.ts';

const BATCH = 1000;

/** Purges every device retired before `cutoff` and not purged yet; adds what it did to `run`. */
export async function purgeRetiredDevices(
  store: Store,
  cutoff: number,
  now: number,
  run: PurgeRun,
  hold: SafeguardingHold,
): Promise<void> {
  const due = (await store.devices.list()).filter(
    (d) => d.retiredAt !== undefined && d.retiredAt < cutoff && d.purgedAt === undefined,
  );
  for (const device of due) {
    const id = device.id;
    const alerts = await store.alerts.list({ deviceId: id });
    const kept = new Set(alerts.flatMap((a) => a.screenshotBlobIds));
    const record: RetiredPurge = {
      deviceId: id,
      retiredAt: device.retiredAt as number,
      ...(device.retiredBy ? { retiredBy: device.retiredBy } : {}),
      timelineEvents: 0,
      eventRefs: 0,
      streams: 0,
      screenshots: 0,
      screenshotBytes: 0,
      statusSnapshot: (await store.engine.get(K.status(id))) !== undefined,
      policyOverride: (await store.engine.get(K.policyOverride(id))) !== undefined,
      alertsKept: alerts.length,
      screenshotsKept: kept.size,
    };
    let ops: KvOp[] = [];
    let keepStreams = false;
    const flush = async (force = false) => {
      if (ops.length === 0 || (!force && ops.length < BATCH)) return;
      await store.engine.batch(ops, { sync: true });
      ops = [];
    };
    for (const prefix of [K.timelinePrefix(id), K.eventRefPrefix(id), K.streamPrefix(id)]) {
      for await (const [k, v] of store.engine.entries({ gte: prefix, lt: prefix + HIGH })) {
        // A held event keeps its record, its dedup pointer and its stream's state.
        const tlKey = prefix === K.eventRefPrefix(id) ? fromJsonBytes<string>(v) : k;
        const held =
          prefix !== K.streamPrefix(id) &&
          hold.eventReason(id, tlKey, Number(tlKey.split('!')[2])) !== undefined;
        if (held || (prefix === K.streamPrefix(id) && keepStreams)) {
          if (prefix === K.timelinePrefix(id)) {
            run.held.timelineEvents++;
            keepStreams = true;
          }
          continue;
        }
        ops.push({ type: 'del', key: k });
        if (prefix === K.timelinePrefix(id)) {
          run.timelineEventsDeleted++;
          run.perDevice[id] = (run.perDevice[id] ?? 0) + 1;
          record.timelineEvents++;
        } else if (prefix === K.eventRefPrefix(id)) record.eventRefs++;
        else record.streams++;
        await flush();
      }
    }
    ops.push({ type: 'del', key: K.status(id) }, { type: 'del', key: K.policyOverride(id) });
    await flush(true);
    const metaPrefix = K.blobMetaPrefix(id);
    for await (const [, v] of store.engine.entries({ gte: metaPrefix, lt: metaPrefix + HIGH })) {
      const meta = fromJsonBytes<BlobMeta>(v);
      if (kept.has(meta.blobId)) continue;
      const del = await store.withLock(() => blobDeleteOps(store.engine, id, meta.blobId));
      await store.engine.batch(del, { sync: true });
      run.blobsDeleted++;
      run.blobBytesDeleted += meta.size;
      record.screenshots++;
      record.screenshotBytes += meta.size;
    }
    await store.devices.update(id, (d) => ({ ...d, purgedAt: now }));
    run.retiredDevicesPurged = [...(run.retiredDevicesPurged ?? []), id];
    run.retiredPurges = [...(run.retiredPurges ?? []), record];
  }
}
