// Validation of incoming events and the records ingest stores for them. Pure functions.
import { MAX_CAPTURE_FRAMES } from '@custodian/policy';
import { type Event, eventKind, MAX_STRING_CHARS, v1 } from '@custodian/protocol';
import { ALERT_SOURCES } from '../safeguarding/alert-query.ts';
import { alertIdFor } from '../store/records.ts';
import type { Alert, TimelineRecord } from '../store/types.ts';
import type { Screen } from './text-screen.ts';

const DAY = 86_400_000;
/** Agent clocks more than a day ahead of ours are not trusted for ordering. */
export const MAX_CLOCK_AHEAD_MS = DAY;
/**
 * ...nor more than this far behind: an agent offline over the summer holidays still orders its
 * events by its own clock, while a flag "from 2000" (which the next retention run would delete)
 * is ordered by receive time. Ingest lowers it below the timeline retention (see clockWindow).
 */
export const MAX_CLOCK_BEHIND_MS = 45 * DAY;
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ClockWindow {
  behindMs: number;
  aheadMs: number;
}

/** The plausible window for agent clocks: never older than retention would keep for a day. */
export function clockWindow(timelineDays: number): ClockWindow {
  return {
    behindMs: Math.max(0, Math.min(MAX_CLOCK_BEHIND_MS, (timelineDays - 1) * DAY)),
    aheadMs: MAX_CLOCK_AHEAD_MS,
  };
}

const DEFAULT_WINDOW: ClockWindow = { behindMs: MAX_CLOCK_BEHIND_MS, aheadMs: MAX_CLOCK_AHEAD_MS };

/** An agent clock for a note: ISO when Date can show it (±8.64e15 ms), the number otherwise. */
function clockText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

/** The time an event is ordered (and retained) by, and why it is not the agent's clock if not. */
export function orderingTime(
  agentTimeMs: number,
  receivedAt: number,
  window: ClockWindow = DEFAULT_WINDOW,
): { time: number; reason?: string } {
  if (!Number.isSafeInteger(agentTimeMs) || agentTimeMs <= 0)
    return { time: receivedAt, reason: 'agent sent no usable clock time' };
  if (agentTimeMs < receivedAt - window.behindMs)
    return {
      time: receivedAt,
      reason: `agent clock ${clockText(agentTimeMs)} is more than ${Math.round(window.behindMs / DAY)} days before the receive time`,
    };
  if (agentTimeMs > receivedAt + window.aheadMs)
    return {
      time: receivedAt,
      reason: `agent clock ${clockText(agentTimeMs)} is more than ${Math.round(window.aheadMs / 3_600_000)} h after the receive time`,
    };
  return { time: agentTimeMs };
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

export interface BuildOptions {
  /** Marks device text that matches the safeguarding library (record.sensitive). */
  screen?: Screen;
  clock?: ClockWindow;
  /** The device's school (tenancy): copied onto an alert so filtering needs no device lookup per row. */
  schoolId?: string;
}

/**
 * The alert's `source` is one of the known origins ('' from agents older than the text sources):
 * anything else a device sends becomes 'other' (the stored event keeps what was sent), so the
 * queue's filter, the governors' counts and the console only ever meet the known values.
 */
export function alertSource(sent: string | null | undefined, notes: string[]): string {
  const source = sent ?? '';
  if (source === '' || (ALERT_SOURCES as readonly string[]).includes(source)) return source;
  notes.push(`flagged activity with an unknown source (${source.length} characters); stored as "other"`);
  return 'other';
}

/** Builds the stored record (and alert, for flagged activity) of one validated new event. */
export function buildRecord(
  deviceId: string,
  streamId: string,
  event: Event,
  receivedAt: number,
  options: BuildOptions = {},
): BuiltEvent {
  const notes: string[] = [];
  const changed = { truncated: [] as string[], invalidText: [] as string[] };
  sanitise(event, '', changed);
  const kind = eventKind(event) ?? 'unknown';
  const agentTimeMs = typeof event.timeMs === 'number' ? event.timeMs : 0;
  const seq = event.seq as number;
  const { time, reason: timeReason } = orderingTime(agentTimeMs, receivedAt, options.clock);
  if (timeReason) notes.push(`${timeReason}; ordered by receive time`);
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
    ...(timeReason ? { timeReason } : {}),
  };
  // A flag's whole content is the DSL's already; everything else is screened here, once.
  if (options.screen && kind !== 'flaggedActivity') record.sensitive = options.screen.paths(event);
  if (kind !== 'flaggedActivity' || !event.flaggedActivity) return { record, notes };

  const f = event.flaggedActivity;
  const id = alertIdFor(deviceId, streamId, seq);
  record.alertId = id;
  const rawSeverity = f.severity ?? 0;
  const severity = Math.min(5, Math.max(1, Math.trunc(rawSeverity)));
  const history: Alert['history'] = [{ at: receivedAt, actor: 'system', action: 'opened' }];
  if (timeReason)
    history.push({
      at: receivedAt,
      actor: 'system',
      action: 'agent-time-implausible',
      from: agentTimeMs,
      to: time,
    });
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
  const sent = f.screenshotBlobIds ?? [];
  const valid = sent.filter((b) => SAFE_ID.test(b));
  if (valid.length !== sent.length) {
    history.push({ at: receivedAt, actor: 'system', action: 'invalid-screenshot-ids-dropped' });
    notes.push('flagged activity referenced screenshot ids that are not valid ids');
  }
  // One capture takes at most MAX_CAPTURE_FRAMES screenshots: repeats and extras are dropped, so
  // a small flag cannot make the alert page or the evidence export huge.
  const unique = [...new Set(valid)];
  const blobIds = unique.slice(0, MAX_CAPTURE_FRAMES);
  if (blobIds.length !== valid.length) {
    history.push({
      at: receivedAt,
      actor: 'system',
      action: 'screenshot-ids-capped',
      from: valid.length,
      to: blobIds.length,
    });
    notes.push(
      `flagged activity referenced ${valid.length} screenshots (${unique.length} distinct); kept ${blobIds.length}`,
    );
  }
  // The stored event says what the alert holds.
  f.screenshotBlobIds = blobIds;
  record.event = v1.Event.encode(event).finish();
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
    source: alertSource(f.source, notes),
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
    ...(options.schoolId !== undefined ? { schoolId: options.schoolId } : {}),
  };
  return { record, alert, notes };
}
