// JSON views of stored records for the API and the live feed. Role rules live here: the
// content of a safeguarding flag (term, context, window) is for the safeguarding roles only
// (safeguarding/roles.ts: the DSL; not admin, not the admin token), never for IT or governors:
// they see that an alert exists, not what it says. The same goes for any device text (window
// title, URL, USB label, hostname...) that matches the safeguarding library: ingest marks it
// (`sensitive`) and only the DSL sees it. IT sees browsing as configured (itBrowsingDetail).
import { eventToJson, v1 } from '@custodian/protocol';
import type { ItBrowsingDetail } from '../config.ts';
import type { Principal } from '../http/router.ts';
import type { Screen } from '../ingest/text-screen.ts';
import type { LiveEvent } from '../live/hub.ts';
import { SAFEGUARDING } from '../safeguarding/roles.ts';
import type { Device, DeviceLiveStatus, TimelineRecord } from '../store/types.ts';

export function seesSafeguardingContent(p: Principal | undefined): boolean {
  return p !== undefined && p.kind === 'staff' && SAFEGUARDING.includes(p.role);
}

/**
 * What a caller may see of device text. For everyone but the DSL: text the safeguarding library
 * matched (`sensitive` paths) is blanked, and browsing is cut to app + domain unless the
 * collector is configured with `itBrowsingDetail: 'full-title'`.
 */
export interface ViewOptions {
  principal: Principal | undefined;
  browsing: ItBrowsingDetail;
  /** Screens text stored before ingest marked it (records without `sensitive`); the device's. */
  screen?: Screen;
}

/** Why a field of a view is blank (`hidden: {title: 'safeguarding'}` beside the fields). */
export type HiddenReason = 'safeguarding' | 'domain-only';

/** Blanks each dotted path (in place) and records why beside it, in the parent's `hidden`. */
function hidePaths(root: Record<string, unknown>, paths: readonly string[]): void {
  for (const path of paths) {
    const parts = path.split('.');
    let parent: unknown = root;
    for (const part of parts.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object') break;
      parent = (parent as Record<string, unknown>)[part];
    }
    if (parent === null || typeof parent !== 'object') continue;
    const field = parts[parts.length - 1] as string;
    const obj = parent as Record<string, unknown>;
    if (typeof obj[field] !== 'string') continue;
    obj[field] = '';
    if (!Array.isArray(obj)) markHidden(obj, field, 'safeguarding');
  }
}

function markHidden(obj: Record<string, unknown>, field: string, reason: HiddenReason): void {
  const hidden = (obj['hidden'] ?? {}) as Record<string, HiddenReason>;
  if (hidden[field] === 'safeguarding') return;
  obj['hidden'] = { ...hidden, [field]: reason };
}

/** `https://www.example.com/a?q=x` → `https://www.example.com`; '' when it is not a URL. */
export function domainOf(url: string): string {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.protocol}//${u.hostname}` : '';
  } catch {
    return '';
  }
}

/**
 * One window ({app, title, url}) as IT may see it under `app-and-domain`: no title, the URL cut
 * to its domain. A URL already blanked for safeguarding stays blank (its domain may be the match).
 */
function cutBrowsing(win: Record<string, unknown>): void {
  const hidden = (win['hidden'] ?? {}) as Record<string, HiddenReason>;
  if (typeof win['title'] === 'string' && win['title'] !== '') {
    win['title'] = '';
    markHidden(win, 'title', 'domain-only');
  }
  if (typeof win['url'] === 'string' && win['url'] !== '' && hidden['url'] === undefined) {
    const domain = domainOf(win['url']);
    if (domain !== win['url']) {
      win['url'] = domain;
      markHidden(win, 'url', 'domain-only');
    }
  }
}

/** A window's title and URL describe one page: when either matched, neither is shown. */
function widenWindowPaths(paths: readonly string[], prefix: string): string[] {
  const out = new Set(paths);
  if (out.has(`${prefix}.title`) || out.has(`${prefix}.url`)) {
    out.add(`${prefix}.title`);
    out.add(`${prefix}.url`);
  }
  return [...out];
}

/**
 * The marks stored at ingest, joined with the device's current library: a custom term added or an
 * age band changed since still counts for text that arrived before, and a term taken out of the
 * library later does not un-hide what matched when the text arrived.
 */
function sensitiveOf(stored: string[] | undefined, value: unknown, o: ViewOptions): string[] | 'all' {
  if (o.screen) {
    const now = o.screen.paths(value);
    return stored ? [...new Set([...stored, ...now])] : now;
  }
  if (stored) return stored;
  // Not screened and nothing to screen with: treat every string as the DSL's.
  return 'all';
}

function allStringPaths(value: unknown, path = '', out: string[] = []): string[] {
  if (typeof value === 'string') out.push(path);
  else if (value !== null && typeof value === 'object')
    // `payload` is the event's kind name (eventToJson's oneof), not device text.
    for (const [k, v] of Object.entries(value))
      if (!(path === '' && k === 'payload')) allStringPaths(v, path ? `${path}.${k}` : k, out);
  return out;
}

function viewOfText<T extends Record<string, unknown>>(
  value: T,
  stored: string[] | undefined,
  o: ViewOptions,
  windows: string[],
): T {
  const copy = structuredClone(value);
  const marks = sensitiveOf(stored, value, o);
  let paths = marks === 'all' ? allStringPaths(copy) : marks;
  for (const w of windows) paths = widenWindowPaths(paths, w);
  hidePaths(copy, paths);
  if (o.browsing === 'app-and-domain')
    for (const w of windows) {
      const win = w
        .split('.')
        .reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], copy);
      if (win && typeof win === 'object') cutBrowsing(win as Record<string, unknown>);
    }
  return copy;
}

/** A live status as the caller may see it (`sensitive` is internal and never sent). */
export function statusView(s: DeviceLiveStatus, o: ViewOptions): Record<string, unknown> {
  const { sensitive, ...rest } = s;
  if (seesSafeguardingContent(o.principal)) return rest;
  return viewOfText(rest as Record<string, unknown>, sensitive, o, ['currentWindow']);
}

export function deviceView(
  d: Device,
  status: DeviceLiveStatus | undefined,
  o: ViewOptions,
): Record<string, unknown> {
  const { keyHash: _secretHash, enrolAttemptHash: _attemptHash, ...rest } = d;
  // Hostname, serial, BYOD user name: device text from enrolment, screened when shown.
  const device = seesSafeguardingContent(o.principal)
    ? rest
    : viewOfText(rest as unknown as Record<string, unknown>, undefined, o, []);
  return {
    ...device,
    revoked: d.revokedAt !== undefined,
    status: statusView(status ?? { deviceId: d.id, connected: false, usbVolumes: [] }, o),
  };
}

function eventView(
  kind: string,
  event: Record<string, unknown>,
  sensitive: string[] | undefined,
  o: ViewOptions,
): Record<string, unknown> {
  if (seesSafeguardingContent(o.principal)) return event;
  if (kind === 'flaggedActivity') return { ...event, flaggedActivity: { redacted: true } };
  return viewOfText(event, sensitive, o, kind === 'activeWindow' ? ['activeWindow'] : []);
}

export function timelineItem(r: TimelineRecord, o: ViewOptions): Record<string, unknown> {
  return {
    streamId: r.streamId,
    seq: r.seq,
    time: r.time,
    agentTimeMs: r.agentTimeMs,
    receivedAt: r.receivedAt,
    kind: r.kind,
    event: eventView(r.kind, eventToJson(v1.Event.decode(r.event)), r.sensitive, o),
    ...(r.alertId ? { alertId: r.alertId } : {}),
    ...(r.truncated ? { truncated: r.truncated } : {}),
    ...(r.invalidText ? { invalidText: r.invalidText } : {}),
    ...(r.timeReason ? { timeReason: r.timeReason } : {}),
  };
}

export function liveEventView(e: LiveEvent, o: ViewOptions): Omit<LiveEvent, 'sensitive'> {
  const { sensitive, ...rest } = e;
  return { ...rest, event: eventView(e.kind, e.event, sensitive, o) };
}
