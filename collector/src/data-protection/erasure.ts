// Erasure on request: deletes what is held about the subject (subject.ts) except what the
// safeguarding hold keeps (retention/hold.ts), and records the request and its result — what was
// erased (counts), what was kept and why — in the `erasures` namespace, with an audit record.
//
// Kept by design, and said so in every record: the audit log (accountability: who did what,
// including this erasure; it ages out under retention.auditDays), the stream counters (sequence
// numbers only, so a replay of an erased event is not stored again), and a device record's id,
// key hash and machine id hash (so the device stays enrolled: erasure does not stop monitoring —
// revoke or retire the device for that). Deleted values are compacted out of the level files.
import { randomBytes } from 'node:crypto';
import type { CollectorConfig } from '../config.ts';
import { loadHold, type SafeguardingHold } from '../retention/hold.ts';
import type { Incident } from '../safeguarding/incidents.ts';
import { fromJsonBytes, HIGH, K } from '../store/keys.ts';
import { streamFloorOp, userHash } from '../store/records.ts';
import { blobDeleteOps } from '../store/store.ts';
import type { BlobMeta, DeviceLiveStatus, KvOp, Store } from '../store/types.ts';
import { type DeviceScope, inScope, type Subject, selectorLabel } from './subject.ts';

export const ERASURES_NS = 'erasures';
const BATCH = 1000;
export const REDACTED = '[erased]';

export interface ErasureRecord {
  id: string;
  at: number;
  by: string;
  reason: string;
  subject: string;
  erased: {
    timelineEvents: number;
    alerts: number;
    screenshots: number;
    incidents: number;
    /** Incidents also about others: the subject's name and alert links removed, the rest kept. */
    incidentsRedacted: number;
    statusSnapshots: number;
    devicesRedacted: string[];
  };
  /**
   * What was kept, one line each: a record (`alert:<id>`) or a kind, and why; `held` when the
   * safeguarding hold kept it (the request was refused for it), false for what erasure always
   * keeps (the audit log, stream counters) or only redacts.
   */
  kept: { what: string; why: string; held: boolean }[];
  /** Tenancy: the schools the request was limited to (the requester's); absent: trust-wide. */
  schools?: readonly string[];
}

/** A device's live status with nothing about its user left (window, user, names, inventory). */
export function erasedStatus(s: DeviceLiveStatus): DeviceLiveStatus {
  const keep = [
    'deviceId',
    'connected',
    'connectedAt',
    'lastSeenAt',
    'remoteAddress',
    'agentVersion',
    'os',
    'streamId',
    'policyVersionApplied',
    'policyVersionSent',
    'capabilities',
  ] as const;
  const out: Record<string, unknown> = { usbVolumes: [] };
  for (const k of keep) if (s[k] !== undefined) out[k] = s[k];
  return out as unknown as DeviceLiveStatus;
}

export async function eraseSubject(
  store: Store,
  subject: Subject,
  o: {
    by: string;
    reason: string;
    now: number;
    retention: CollectorConfig['retention'];
    schools?: readonly string[] | undefined;
  },
): Promise<ErasureRecord> {
  const hold = await loadHold(store, { now: o.now, incidentDays: o.retention.incidentDays });
  const record: ErasureRecord = {
    // Time-prefixed: the namespace lists oldest first.
    id: `er_${o.now.toString(36)}${randomBytes(6).toString('hex')}`,
    at: o.now,
    by: o.by,
    reason: o.reason,
    subject: selectorLabel(subject.selector),
    ...(o.schools !== undefined ? { schools: o.schools } : {}),
    erased: {
      timelineEvents: 0,
      alerts: 0,
      screenshots: 0,
      incidents: 0,
      incidentsRedacted: 0,
      statusSnapshots: 0,
      devicesRedacted: [],
    },
    kept: [],
  };
  const keep = (what: string, why: string, held: boolean) => record.kept.push({ what, why, held });

  // Alerts first: which screenshots stay referenced decides which blobs may go.
  const keptBlobs = new Set<string>();
  for (const a of subject.alerts) {
    const why = hold.alerts.get(a.id);
    if (why) {
      keep(`alert:${a.id}`, why, true);
      for (const b of a.screenshotBlobIds) keptBlobs.add(`${a.deviceId}/${b}`);
      continue;
    }
    await store.engine.batch(
      [
        { type: 'del', key: K.alert(a.id) },
        { type: 'del', key: K.alertTime(a.createdAt, a.id) },
      ],
      { sync: true },
    );
    record.erased.alerts++;
  }
  // Alerts of the same devices that are NOT the subject's (another user's window) keep theirs.
  const erasedAlerts = new Set(subject.alerts.filter((a) => !hold.alerts.has(a.id)).map((a) => a.id));
  for await (const [k] of store.engine.entries({
    gte: K.alertTimePrefix(),
    lt: K.alertTimePrefix() + HIGH,
  })) {
    const id = k.slice(k.lastIndexOf('!') + 1);
    if (erasedAlerts.has(id)) continue;
    const a = await store.alerts.get(id);
    if (a) for (const b of a.screenshotBlobIds) keptBlobs.add(`${a.deviceId}/${b}`);
  }
  for (const scope of subject.devices) {
    const heldEvents = await eraseDevice(store, scope, subject, hold, keptBlobs, record);
    // The signed-in index: nothing of the user (or of anyone, for a whole device) is left there.
    if (heldEvents > 0) continue;
    const index: KvOp[] = [];
    const prefix = 'user' in subject.selector ? K.userSeenPrefix(userHash(subject.selector.user)) : 'us!';
    for await (const [k] of store.engine.entries({ gte: prefix, lt: prefix + HIGH }))
      if (k.endsWith(`!${scope.device.id}`)) index.push({ type: 'del', key: k });
    await store.engine.batch(index, { sync: true });
  }

  const incidents = store.kv<Incident>('incidents');
  const mine = new Set(subject.alerts.map((a) => a.id));
  const user = 'user' in subject.selector ? subject.selector.user.toLowerCase() : undefined;
  const isSubject = (name: string) => user !== undefined && name.toLowerCase() === user;
  for (const i of subject.incidents) {
    const why = hold.incidents.get(i.id);
    if (why) {
      keep(`incident:${i.id}`, why, true);
      continue;
    }
    // An incident that is also about someone else is theirs too: only the subject's part goes.
    const others =
      i.linkedAlertIds.some((id) => !mine.has(id)) ||
      i.peopleInvolved.some((p) => !isSubject(p.name) && p.name !== REDACTED);
    if (!others) {
      await incidents.del(i.id);
      record.erased.incidents++;
      continue;
    }
    await incidents.update(i.id, (cur) =>
      cur
        ? {
            ...cur,
            linkedAlertIds: cur.linkedAlertIds.filter((id) => !mine.has(id) || hold.alerts.has(id)),
            peopleInvolved: cur.peopleInvolved.map((p) => (isSubject(p.name) ? { ...p, name: REDACTED } : p)),
            history: [
              ...cur.history,
              {
                at: o.now,
                actor: o.by,
                action: 'updated',
                changes: { erasure: { from: null, to: record.id } },
              },
            ],
          }
        : cur,
    );
    record.erased.incidentsRedacted++;
    keep(
      `incident:${i.id}`,
      "also about other people: the subject's name and alerts were removed from it",
      false,
    );
  }
  keep(
    'audit log',
    'accountability record of who did what (this erasure included); ages out under retention.auditDays',
    false,
  );
  if (subject.devices.length > 0)
    keep(
      'stream counters',
      'sequence numbers only: a replay of an erased event is recognised and not stored again',
      false,
    );
  await store.kv<ErasureRecord>(ERASURES_NS).put(record.id, record);
  // The deleted values are still in older level files until compacted away: only the ranges
  // this erasure wrote to, so a large store is not rewritten whole.
  const ranges = [K.alertTimePrefix(), 'al!', K.kvPrefix('incidents')];
  for (const { device } of subject.devices)
    ranges.push(
      K.timelinePrefix(device.id),
      K.eventRefPrefix(device.id),
      `bc!${device.id}!`,
      K.status(device.id),
      K.device(device.id),
    );
  for (const r of ranges) await store.engine.compact?.(r, r + HIGH);
  return record;
}

async function eraseDevice(
  store: Store,
  scope: DeviceScope,
  subject: Subject,
  hold: SafeguardingHold,
  keptBlobs: Set<string>,
  record: ErasureRecord,
): Promise<number> {
  const id = scope.device.id;
  const heldHere = new Map<string, number>();
  const floors = new Map<string, number>();
  let ops: KvOp[] = [];
  const flush = async (force = false) => {
    if (!force && ops.length < BATCH) return;
    for (const [streamId, seq] of floors) {
      const stored = await store.timeline.purgedThrough(id, streamId);
      if (seq > stored) ops.push(streamFloorOp(id, streamId, seq));
    }
    await store.engine.batch(ops, { sync: true });
    ops = [];
  };
  const prefix = K.timelinePrefix(id);
  for await (const [k] of store.engine.entries({ gte: prefix, lt: prefix + HIGH })) {
    const [, , time, streamId, seq] = k.split('!') as [string, string, string, string, string];
    if (!inScope(scope, Number(time))) continue;
    const why = hold.eventReason(id, k, Number(time));
    if (why) {
      heldHere.set(why, (heldHere.get(why) ?? 0) + 1);
      continue;
    }
    ops.push({ type: 'del', key: k }, { type: 'del', key: K.eventRef(id, streamId, Number(seq)) });
    floors.set(streamId, Math.max(floors.get(streamId) ?? 0, Number(seq)));
    record.erased.timelineEvents++;
    await flush();
  }
  await flush(true);
  for (const [why, n] of heldHere)
    record.kept.push({ what: `${n} timeline event(s) of device ${id}`, why, held: true });
  const heldEvents = [...heldHere.values()].reduce((a, b) => a + b, 0);

  // Screenshots: on a whole device every one not held or referenced by a kept alert; on a user's
  // share of a school device those of the user's erased alerts only.
  const candidates = new Set<string>();
  if (scope.whole) {
    const metaPrefix = K.blobMetaPrefix(id);
    for await (const [, v] of store.engine.entries({ gte: metaPrefix, lt: metaPrefix + HIGH }))
      candidates.add(fromJsonBytes<BlobMeta>(v).blobId);
  } else {
    for (const a of subject.alerts)
      if (a.deviceId === id) for (const b of a.screenshotBlobIds) candidates.add(b);
  }
  for (const blobId of candidates) {
    const why = hold.blobReason(id, blobId);
    if (why || keptBlobs.has(`${id}/${blobId}`)) {
      if (why) record.kept.push({ what: `screenshot ${blobId} of device ${id}`, why, held: true });
      continue;
    }
    const del = await store.withLock(() => blobDeleteOps(store.engine, id, blobId));
    if (del.length === 0) continue;
    await store.engine.batch(del, { sync: true });
    record.erased.screenshots++;
  }

  if (!scope.whole) return heldEvents;
  if ((await store.engine.get(K.status(id))) !== undefined) {
    await store.engine.batch([{ type: 'del', key: K.status(id) }], { sync: true });
    record.erased.statusSnapshots++;
  }
  const heldAlerts = [...hold.alerts.keys()].some((a) =>
    subject.alerts.some((x) => x.id === a && x.deviceId === id),
  );
  if (heldAlerts) {
    record.kept.push({
      what: `device record ${id}`,
      why: 'its alerts are under safeguarding hold and name it (hostname, BYOD user)',
      held: true,
    });
    return heldEvents;
  }
  await store.devices.update(id, (d) => ({
    ...d,
    hostname: REDACTED,
    ...(d.byod ? { byod: { ...d.byod, userName: REDACTED } } : {}),
    ...(d.revokedReason !== undefined ? { revokedReason: REDACTED } : {}),
    ...(d.retiredReason !== undefined ? { retiredReason: REDACTED } : {}),
  }));
  record.erased.devicesRedacted.push(id);
  return heldEvents;
}
