// Validation of incoming events and the records ingest stores for them. Pure functions.
import { type Event, eventKind, MAX_STRING_CHARS, v1 } from '@custodian/protocol';
import { alertIdFor } from '../store/records.ts';
import type { Alert, TimelineRecord } from '../store/types.ts';

/** Agent clocks before this or more than a day ahead of ours are not trusted for ordering. */
const EARLIEST_PLAUSIBLE = Date.UTC(2000, 0, 1);
const MAX_CLOCK_AHEAD_MS = 24 * 3_600_000;
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function orderingTime(agentTimeMs: number, receivedAt: number): number {
  return Number.isSafeInteger(agentTimeMs) &&
    agentTimeMs >= EARLIEST_PLAUSIBLE &&
    agentTimeMs <= receivedAt + MAX_CLOCK_AHEAD_MS
    ? agentTimeMs
    : receivedAt;
}

/** Cuts a string to MAX_STRING_CHARS without splitting a surrogate pair. */
function cut(s: string, max: number): string {
  let end = max;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return s.slice(0, end);
}

/**
 * Truncates over-long strings, in place, and repairs lone surrogates should a decoder ever let
 * them through (protobufjs 8 refuses invalid UTF-8 at decode, so today that path is defensive).
 * Returns the paths it changed.
 */
export function sanitise(
  value: unknown,
  path: string,
  out: { truncated: string[]; invalidText: string[] },
): unknown {
  if (typeof value === 'string') {
    let s = value;
    if (!s.isWellFormed()) {
      s = s.toWellFormed();
      out.invalidText.push(path);
    }
    if (s.length > MAX_STRING_CHARS) {
      s = cut(s, MAX_STRING_CHARS);
      out.truncated.push(path);
    }
    return s;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = sanitise(value[i], `${path}[${i}]`, out);
    return value;
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (typeof v === 'string' || typeof v === 'object')
        obj[key] = sanitise(v, path ? `${path}.${key}` : key, out);
    }
  }
  return value;
}

export interface BuiltEvent {
  record: TimelineRecord;
  alert?: Alert;
  /** Non-fatal problems worth a log line. */
  notes: string[];
}

/** Builds the stored record (and alert, for flagged activity) of one validated new event. */
export function buildRecord(
  deviceId: string,
  streamId: string,
  event: Event,
  receivedAt: number,
): BuiltEvent {
  const notes: string[] = [];
  const changed = { truncated: [] as string[], invalidText: [] as string[] };
  sanitise(event, '', changed);
  const kind = eventKind(event) ?? 'unknown';
  const agentTimeMs = typeof event.timeMs === 'number' ? event.timeMs : 0;
  const seq = event.seq as number;
  const time = orderingTime(agentTimeMs, receivedAt);
  if (time !== agentTimeMs) notes.push(`agent clock ${agentTimeMs} implausible, ordered by receive time`);
  const record: TimelineRecord = {
    deviceId,
    streamId,
    seq,
    time,
    agentTimeMs,
    receivedAt,
    kind,
    event: v1.Event.encode(event).finish(),
    ...(changed.truncated.length ? { truncated: changed.truncated } : {}),
    ...(changed.invalidText.length ? { invalidText: changed.invalidText } : {}),
  };
  if (kind !== 'flaggedActivity' || !event.flaggedActivity) return { record, notes };

  const f = event.flaggedActivity;
  const id = alertIdFor(deviceId, streamId, seq);
  record.alertId = id;
  const rawSeverity = f.severity ?? 0;
  const severity = Math.min(5, Math.max(1, Math.trunc(rawSeverity)));
  const history: Alert['history'] = [{ at: receivedAt, actor: 'system', action: 'opened' }];
  // A safeguarding flag is never dropped for a bad field: it is kept, and the problem noted.
  if (severity !== rawSeverity) {
    history.push({
      at: receivedAt,
      actor: 'system',
      action: 'severity-out-of-range',
      from: rawSeverity,
      to: severity,
    });
    notes.push(`flagged severity ${rawSeverity} out of range, stored as ${severity}`);
  }
  const blobIds = (f.screenshotBlobIds ?? []).filter((b) => SAFE_ID.test(b));
  if (blobIds.length !== (f.screenshotBlobIds ?? []).length) {
    history.push({ at: receivedAt, actor: 'system', action: 'invalid-screenshot-ids-dropped' });
    notes.push('flagged activity referenced screenshot ids that are not valid ids');
  }
  const alert: Alert = {
    id,
    deviceId,
    event: { streamId, seq },
    category: f.category ?? '',
    severity,
    term: f.matchedTerm ?? '',
    context: f.context ?? '',
    windowTitle: f.window?.title ?? '',
    windowUrl: f.window?.url ?? '',
    windowApp: f.window?.app ?? '',
    source: f.source ?? '',
    educationalContext: f.educationalContext === true,
    repeatCount: f.repeatCount ?? 0,
    screenshotBlobIds: blobIds,
    screenshotUnavailableReason: f.screenshotUnavailableReason ?? '',
    status: 'new',
    notes: [],
    history,
    occurredAt: time,
    createdAt: receivedAt,
    updatedAt: receivedAt,
  };
  return { record, alert, notes };
}
