// The safeguarding hold: what neither retention nor an erasure request may delete. An incident
// that is open or under monitoring, or that was referred to an outside agency (escalated: police,
// LADO, CEOP, children's social care...) and is younger than retention.incidentDays, holds itself, every alert linked to it (and every alert whose
// status is `escalated` to it), those alerts' screenshots, their flaggedActivity events and the
// timeline around them that the DSL's evidence shows (EXCERPT_BEFORE_MS .. EXCERPT_AFTER_MS).
// A closed incident that was not referred holds nothing: its records age out under
// retention.incidentDays / alertEscalatedDays like any other, and an erasure request removes them.
import { EXCERPT_AFTER_MS, EXCERPT_BEFORE_MS } from '../safeguarding/context.ts';
import type { Incident } from '../safeguarding/incidents.ts';
import { fromJsonBytes, HIGH, K } from '../store/keys.ts';
import type { Alert, Store } from '../store/types.ts';

export const INCIDENTS_NS = 'incidents';

const DAY = 86_400_000;

/** Why an incident holds its records, or undefined when it does not. */
export function incidentHoldReason(
  i: Pick<Incident, 'id' | 'status' | 'referral' | 'outcome' | 'createdAt'>,
  now: number,
  incidentDays: number,
): string | undefined {
  if (i.status !== 'closed')
    return `linked to incident ${i.id}, which is ${i.status === 'open' ? 'open' : 'under monitoring'} (safeguarding hold)`;
  const referred = i.referral.agency !== 'none' || i.outcome === 'referred-externally';
  if (referred && i.createdAt >= now - incidentDays * DAY)
    return `linked to incident ${i.id}, which was referred to ${i.referral.agency === 'none' ? 'an outside agency' : i.referral.agency} (safeguarding hold)`;
  return undefined;
}

export class SafeguardingHold {
  /** alert id -> why. */
  readonly alerts = new Map<string, string>();
  /** incident id -> why. */
  readonly incidents = new Map<string, string>();
  /** `deviceId/blobId` -> why. */
  readonly blobs = new Map<string, string>();
  /** `tl` keys of the held alerts' own events. */
  readonly events = new Map<string, string>();
  /** Per device: time windows of timeline the held alerts' evidence shows. */
  readonly windows = new Map<string, { from: number; to: number; why: string }[]>();

  /** Why this timeline record (by its `tl` key) is held, if it is. */
  eventReason(deviceId: string, tlKey: string, time: number): string | undefined {
    const own = this.events.get(tlKey);
    if (own) return own;
    for (const w of this.windows.get(deviceId) ?? []) if (time >= w.from && time < w.to) return w.why;
    return undefined;
  }

  blobReason(deviceId: string, blobId: string): string | undefined {
    return this.blobs.get(`${deviceId}/${blobId}`);
  }

  get empty(): boolean {
    return this.alerts.size === 0 && this.incidents.size === 0;
  }
}

/** Reads every incident and the alerts they hold. */
export async function loadHold(
  store: Store,
  o: { now: number; incidentDays: number },
): Promise<SafeguardingHold> {
  const hold = new SafeguardingHold();
  const open = new Map<string, string>();
  for (const { value: i } of await store.kv<Incident>(INCIDENTS_NS).list()) {
    const why = incidentHoldReason(i, o.now, o.incidentDays);
    if (!why) continue;
    open.set(i.id, why);
    hold.incidents.set(i.id, why);
    for (const alertId of i.linkedAlertIds) hold.alerts.set(alertId, why);
  }
  if (open.size === 0) return hold;
  for await (const [k] of store.engine.entries({
    gte: K.alertTimePrefix(),
    lt: K.alertTimePrefix() + HIGH,
  })) {
    const id = k.slice(k.lastIndexOf('!') + 1);
    const a = await store.alerts.get(id);
    if (!a) continue;
    const why = hold.alerts.get(a.id) ?? (a.incidentId ? open.get(a.incidentId) : undefined);
    if (why) await holdAlert(store, hold, a, why);
  }
  return hold;
}

async function holdAlert(store: Store, hold: SafeguardingHold, a: Alert, why: string): Promise<void> {
  hold.alerts.set(a.id, why);
  for (const b of a.screenshotBlobIds) hold.blobs.set(`${a.deviceId}/${b}`, why);
  const ref = await store.engine.get(K.eventRef(a.deviceId, a.event.streamId, a.event.seq));
  if (ref) hold.events.set(fromJsonBytes<string>(ref), why);
  const windows = hold.windows.get(a.deviceId) ?? [];
  windows.push({ from: a.occurredAt - EXCERPT_BEFORE_MS, to: a.occurredAt + EXCERPT_AFTER_MS + 1, why });
  hold.windows.set(a.deviceId, windows);
}
