// What the DSL sees around an alert: the device, who was signed in, and the device's timeline
// either side of the event. Shared by the alert API and the evidence export.
import { MAX_CAPTURE_FRAMES } from '@custodian/policy';
import { decodeEvent, eventToJson } from '@custodian/protocol';
import type { Alert, BlobMeta, Device, Store, TimelineRecord } from '../store/types.ts';

export interface TimelineItem {
  streamId: string;
  seq: number;
  time: number;
  receivedAt: number;
  kind: string;
  /** The decoded event (JSON), or undefined when the stored bytes do not decode. */
  event: Record<string, unknown> | undefined;
  /** This is the event that opened the alert. */
  isAlertEvent: boolean;
}

export interface DeviceSummary {
  id: string;
  hostname: string;
  kind: string;
  os: string;
  serial: string;
  byodUser: string | null;
  revoked: boolean;
}

export interface ScreenshotInfo {
  blobId: string;
  available: boolean;
  contentType: string | null;
  size: number | null;
  sha256: string | null;
}

/** Excerpt bounds: the DSL wants what led up to the match more than what followed. */
export const EXCERPT_BEFORE_MS = 10 * 60_000;
export const EXCERPT_AFTER_MS = 5 * 60_000;
export const EXCERPT_MAX_EACH_SIDE = 25;

export function toTimelineItem(rec: TimelineRecord, alert?: Alert): TimelineItem {
  let event: Record<string, unknown> | undefined;
  try {
    event = eventToJson(decodeEvent(rec.event));
  } catch {
    // A record that does not decode is shown as such (kind + undefined), not dropped.
    event = undefined;
  }
  return {
    streamId: rec.streamId,
    seq: rec.seq,
    time: rec.time,
    receivedAt: rec.receivedAt,
    kind: rec.kind,
    event,
    isAlertEvent: alert !== undefined && rec.streamId === alert.event.streamId && rec.seq === alert.event.seq,
  };
}

/** Up to 25 events before (and including) the alert's event and 25 after, oldest first. */
export async function timelineExcerpt(store: Store, alert: Alert): Promise<TimelineItem[]> {
  const t = alert.occurredAt;
  const before = await store.timeline.query({
    deviceId: alert.deviceId,
    from: t - EXCERPT_BEFORE_MS,
    to: t + 1,
    limit: EXCERPT_MAX_EACH_SIDE,
  });
  const after = await store.timeline.query({
    deviceId: alert.deviceId,
    from: t + 1,
    to: t + EXCERPT_AFTER_MS,
    limit: 500,
  });
  // `query` is newest first; the events right after the alert are the oldest of `after`.
  const afterNearest = after.records.slice(-EXCERPT_MAX_EACH_SIDE);
  return [...before.records, ...afterNearest]
    .sort((a, b) => a.time - b.time || a.seq - b.seq)
    .map((r) => toTimelineItem(r, alert));
}

export function deviceSummary(device: Device | undefined, deviceId: string): DeviceSummary {
  return {
    id: deviceId,
    hostname: device?.hostname ?? '',
    kind: device?.kind ?? 'unknown',
    os: device?.os ?? '',
    serial: device?.serial ?? '',
    byodUser: device?.byod?.userName ?? null,
    revoked: device?.revokedAt !== undefined,
  };
}

/**
 * Who was signed in when the event happened: the newest heartbeat or inventory at or before
 * the event in the excerpt, else the device's current status, else the BYOD owner's name.
 */
export function userAtEvent(
  excerpt: TimelineItem[],
  alert: Alert,
  fallback: string | undefined,
): string | null {
  for (let i = excerpt.length - 1; i >= 0; i--) {
    const item = excerpt[i] as TimelineItem;
    if (item.time > alert.occurredAt || !item.event) continue;
    const payload = (item.event.heartbeat ?? item.event.inventory) as { loggedInUser?: unknown } | undefined;
    if (payload && typeof payload.loggedInUser === 'string' && payload.loggedInUser !== '')
      return payload.loggedInUser;
  }
  return fallback ?? null;
}

/** The screenshots an alert shows: distinct, at most what one capture can take. */
export function screenshotIdsOf(alert: Alert): string[] {
  return [...new Set(alert.screenshotBlobIds)].slice(0, MAX_CAPTURE_FRAMES);
}

export async function screenshotInfo(store: Store, alert: Alert): Promise<ScreenshotInfo[]> {
  const out: ScreenshotInfo[] = [];
  // Alerts stored before ingest capped the references may hold hundreds (or repeats).
  for (const blobId of screenshotIdsOf(alert)) {
    const meta: BlobMeta | undefined = await store.blobs.meta(alert.deviceId, blobId);
    out.push({
      blobId,
      available: meta !== undefined,
      contentType: meta?.contentType ?? null,
      size: meta?.size ?? null,
      sha256: meta?.sha256 ?? null,
    });
  }
  return out;
}

export async function currentUserOf(
  store: Store,
  device: Device | undefined,
  deviceId: string,
): Promise<string | undefined> {
  const status = await store.status.get(deviceId);
  return status?.loggedInUser || device?.byod?.userName || undefined;
}
