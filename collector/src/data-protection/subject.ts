// Who a subject access or erasure request is about, and which records are theirs. A request
// names a device (everything of that device) or a user as recorded on devices: the BYOD user
// who accepted the agreement (everything of that laptop), and on school devices the user the
// agent reported as signed in (heartbeat / inventory `loggedInUser`): the events from a report
// naming them until a report naming someone else or nobody. Names compare without case.

import { decodeEvent, ErrorCode } from '@custodian/protocol';
import { type StaticDecode, Type } from '@sinclair/typebox';
import { HttpError } from '../http/router.ts';
import { Id, Reason } from '../http/schema.ts';
import type { Incident } from '../safeguarding/incidents.ts';
import { HIGH, K } from '../store/keys.ts';
import { decodeTimelineRecord, userHash } from '../store/records.ts';
import type { Alert, Device, Store, TimelineRecord } from '../store/types.ts';
import { schoolOfDevice } from '../tenancy/model.ts';
import { schoolOfRecord } from '../tenancy/scope.ts';

const UserName = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$',
  description: 'a user name as recorded on devices (BYOD user, or the signed-in user the agent reports)',
});

/** `?user=` or `?device=` (exactly one). */
export const SubjectQuery = Type.Object({
  user: Type.Optional(UserName),
  device: Type.Optional(Id('a device id')),
  reference: Type.Optional(
    Type.String({
      maxLength: 200,
      pattern: '^[^\\u0000-\\u001f\\u007f]*$',
      description: "the request's reference",
    }),
  ),
});
export const ErasureBody = Type.Object(
  {
    user: Type.Optional(UserName),
    device: Type.Optional(Id('a device id')),
    reason: Reason('why the data is erased: the request and its grounds (kept in the erasure record)'),
  },
  { additionalProperties: false },
);

/** What a request can name (the console's choice list, console/options.ts). */
export const SUBJECT_KINDS = ['user', 'device'] as const;

export type Selector = { user: string } | { device: string };

export function selectorOf(q: { user?: string | undefined; device?: string | undefined }): Selector {
  if ((q.user === undefined) === (q.device === undefined))
    throw new HttpError(400, ErrorCode.INVALID_INPUT, 'name exactly one of user or device', {
      field: q.user === undefined ? 'user' : 'device',
    });
  return q.user !== undefined ? { user: q.user.trim() } : { device: q.device as string };
}

export const selectorLabel = (s: Selector) => ('user' in s ? `user:${s.user}` : `device:${s.device}`);

/** One device in scope: all of it (`whole`), or the listed time windows in which the user was signed in. */
export interface DeviceScope {
  device: Device;
  whole: boolean;
  why: string;
  /** [from, to) ms, when not whole. */
  windows: { from: number; to: number }[];
}

export interface Subject {
  selector: Selector;
  devices: DeviceScope[];
  alerts: Alert[];
  incidents: Incident[];
  /** Audit targets about the subject (`device:`, `alert:`, `incident:`) and, for a user, their own actor name. */
  auditTargets: Set<string>;
  auditActor: string | undefined;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function inScope(scope: DeviceScope, time: number): boolean {
  return scope.whole || scope.windows.some((w) => time >= w.from && time < w.to);
}

/** Reads the timeline of a device, oldest first, decrypting sealed records. */
export async function* deviceTimeline(store: Store, deviceId: string): AsyncGenerator<TimelineRecord> {
  const prefix = K.timelinePrefix(deviceId);
  for await (const [k, v] of store.engine.entries({ gte: prefix, lt: prefix + HIGH }))
    yield decodeTimelineRecord(store.cipher, k, v);
}

/** The user the record reports as signed in ('' = nobody), or undefined when it says nothing. */
function reportedUser(rec: TimelineRecord): string | undefined {
  if (rec.kind !== 'heartbeat' && rec.kind !== 'inventory') return undefined;
  try {
    const e = decodeEvent(rec.event);
    const u = e.heartbeat?.loggedInUser ?? e.inventory?.loggedInUser;
    return typeof u === 'string' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** The windows of a device's timeline in which `user` was the reported signed-in user. */
async function userWindows(
  store: Store,
  deviceId: string,
  user: string,
): Promise<{ from: number; to: number }[]> {
  const windows: { from: number; to: number }[] = [];
  let open: number | undefined;
  for await (const rec of deviceTimeline(store, deviceId)) {
    const u = reportedUser(rec);
    if (u === undefined) continue;
    if (same(u, user)) open ??= rec.time;
    else if (open !== undefined) {
      windows.push({ from: open, to: rec.time });
      open = undefined;
    }
  }
  if (open !== undefined) windows.push({ from: open, to: Number.MAX_SAFE_INTEGER });
  return windows;
}

/** Resolves a selector to the records held about the subject. 404 when nothing at all matches. */
export async function resolveSubject(
  store: Store,
  selector: Selector,
  /** Tenancy: which schools' records the caller may see (default every school). */
  within: (schoolId: string) => boolean = () => true,
): Promise<Subject> {
  const devices: DeviceScope[] = [];
  if ('device' in selector) {
    const device = await store.devices.get(selector.device);
    if (!device || !within(schoolOfDevice(device)))
      throw new HttpError(404, ErrorCode.NOT_FOUND, 'device not found');
    devices.push({ device, whole: true, why: 'the device named in the request', windows: [] });
  } else {
    // Devices the user was reported signed in to (index written by ingest and the start pass).
    const prefix = K.userSeenPrefix(userHash(selector.user));
    const seenOn = new Set<string>();
    for await (const [k] of store.engine.entries({ gte: prefix, lt: prefix + HIGH }))
      seenOn.add(k.slice(prefix.length));
    for (const device of await store.devices.list()) {
      if (!within(schoolOfDevice(device))) continue;
      if (device.byod && same(device.byod.userName, selector.user)) {
        devices.push({ device, whole: true, why: 'BYOD laptop enrolled by this user', windows: [] });
        continue;
      }
      if (!seenOn.has(device.id)) continue;
      const windows = await userWindows(store, device.id, selector.user);
      const status = await store.status.get(device.id);
      if (windows.length === 0 && !(status?.loggedInUser && same(status.loggedInUser, selector.user)))
        continue;
      devices.push({
        device,
        whole: false,
        why: 'school device this user was reported signed in to (heartbeat/inventory)',
        windows,
      });
    }
  }
  const byId = new Map(devices.map((d) => [d.device.id, d]));
  const alerts: Alert[] = [];
  for await (const [k] of store.engine.entries({
    gte: K.alertTimePrefix(),
    lt: K.alertTimePrefix() + HIGH,
  })) {
    const a = await store.alerts.get(k.slice(k.lastIndexOf('!') + 1));
    const scope = a && byId.get(a.deviceId);
    if (a && scope && within(schoolOfRecord(a)) && inScope(scope, a.occurredAt)) alerts.push(a);
  }
  const alertIds = new Set(alerts.map((a) => a.id));
  const incidents = (await store.kv<Incident>('incidents').list())
    .map((e) => e.value)
    .filter(
      (i) =>
        within(schoolOfRecord(i)) &&
        (i.linkedAlertIds.some((id) => alertIds.has(id)) ||
          ('user' in selector && i.peopleInvolved.some((p) => same(p.name, selector.user)))),
    );
  if (devices.length === 0 && incidents.length === 0)
    throw new HttpError(404, ErrorCode.NOT_FOUND, 'nothing is held about this user');
  const auditTargets = new Set<string>([
    ...devices.map((d) => `device:${d.device.id}`),
    ...alerts.map((a) => `alert:${a.id}`),
    ...incidents.map((i) => `incident:${i.id}`),
  ]);
  return {
    selector,
    devices,
    alerts,
    incidents,
    auditTargets,
    auditActor: 'user' in selector ? selector.user : undefined,
  };
}

export type SubjectQueryInput = StaticDecode<typeof SubjectQuery>;
export type ErasureInput = StaticDecode<typeof ErasureBody>;
