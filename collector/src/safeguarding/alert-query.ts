// Parsing and applying the DSL queue's filters: pure functions over Alert records, so the
// ordering rules (effective severity desc, then time desc) are tested without a server.
import { type StaticDecode, Type } from '@sinclair/typebox';
import { Id, QueryInt, QueryList, QueryTime } from '../http/schema.ts';
import type { Alert, AlertStatus } from '../store/types.ts';
import { TENANT_ID_PATTERN } from '../tenancy/model.ts';

export const ALERT_STATUSES = [
  'new',
  'graded',
  'false-positive',
  'escalated',
] as const satisfies readonly AlertStatus[];

/** Where the matched words were seen (FlaggedActivity.source); "" for alerts from older agents. */
export const ALERT_SOURCES = ['title', 'url', 'page', 'typed', 'screen'] as const;

export interface AlertFilter {
  status?: AlertStatus[];
  category?: string[];
  /** Where the words were seen: typed, on screen, title, URL, page text. */
  source?: string[];
  /** Exact severities (effective: the DSL's grade when graded, else the matcher's). */
  severity?: number[];
  minSeverity?: number;
  deviceId?: string;
  /** occurredAt range, ms; `to` exclusive. */
  from?: number;
  to?: number;
  offset: number;
  limit: number;
}

export const MAX_PAGE = 200;

const SEVERITIES = ['1', '2', '3', '4', '5'] as const;

/** The queue's query string (GET /alerts), checked by the router before the handler. */
export const AlertQuery = Type.Object({
  school: Type.Optional(
    Type.String({
      pattern: TENANT_ID_PATTERN,
      description: 'only alerts of this school (within your schools)',
    }),
  ),
  status: Type.Optional(QueryList(ALERT_STATUSES, 'only alerts in these states')),
  category: Type.Optional(
    Type.Array(
      Type.String({ pattern: '^[a-z0-9-]{1,64}$', description: 'a category id such as self-harm' }),
      {
        description: 'only these categories: a comma-separated list of category ids',
      },
    ),
  ),
  source: Type.Optional(
    QueryList(ALERT_SOURCES, 'only alerts whose words were seen there (typed, on screen, title, URL, page)'),
  ),
  severity: Type.Optional(QueryList(SEVERITIES, 'only these (effective) severities')),
  minSeverity: Type.Optional(QueryInt(1, 5, 'only this (effective) severity or higher')),
  device: Type.Optional(Id('only this device')),
  deviceId: Type.Optional(Id('only this device (same as device)')),
  from: Type.Optional(QueryTime('alerts that occurred at or after this')),
  to: Type.Optional(QueryTime('alerts that occurred before this')),
  offset: Type.Optional(QueryInt(0, 1_000_000, 'skip this many (nextOffset of the previous page)')),
  limit: Type.Optional(QueryInt(1, MAX_PAGE, 'how many per page (default 50)')),
});

/** The filter a checked query asks for (defaults filled in). */
export function alertFilter(q: StaticDecode<typeof AlertQuery>): AlertFilter {
  const filter: AlertFilter = { offset: q.offset ?? 0, limit: q.limit ?? 50 };
  if (q.status?.length) filter.status = q.status;
  if (q.category?.length) filter.category = q.category;
  if (q.source?.length) filter.source = q.source;
  if (q.severity?.length) filter.severity = q.severity.map(Number);
  if (q.minSeverity !== undefined) filter.minSeverity = q.minSeverity;
  const deviceId = q.device ?? q.deviceId;
  if (deviceId !== undefined) filter.deviceId = deviceId;
  if (q.from !== undefined) filter.from = q.from;
  if (q.to !== undefined) filter.to = q.to;
  return filter;
}

/** The DSL's grade replaces the matcher's severity once given. */
export const effectiveSeverity = (a: Alert) => a.grade ?? a.severity;

export function matches(a: Alert, f: AlertFilter): boolean {
  if (f.status && !f.status.includes(a.status)) return false;
  if (f.category && !f.category.includes(a.category)) return false;
  if (f.source && !f.source.includes(a.source)) return false;
  const sev = effectiveSeverity(a);
  if (f.severity && !f.severity.includes(sev)) return false;
  if (f.minSeverity !== undefined && sev < f.minSeverity) return false;
  if (f.deviceId !== undefined && a.deviceId !== f.deviceId) return false;
  if (f.from !== undefined && a.occurredAt < f.from) return false;
  if (f.to !== undefined && a.occurredAt >= f.to) return false;
  return true;
}

export function compareQueue(a: Alert, b: Alert): number {
  return effectiveSeverity(b) - effectiveSeverity(a) || b.occurredAt - a.occurredAt || (a.id < b.id ? -1 : 1);
}

export function applyAlertFilter(
  all: Alert[],
  f: AlertFilter,
): { items: Alert[]; total: number; nextOffset?: number } {
  const sorted = all.filter((a) => matches(a, f)).sort(compareQueue);
  const items = sorted.slice(f.offset, f.offset + f.limit);
  const next = f.offset + items.length;
  return { items, total: sorted.length, ...(next < sorted.length ? { nextOffset: next } : {}) };
}
