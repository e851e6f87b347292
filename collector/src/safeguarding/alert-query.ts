// Parsing and applying the DSL queue's filters: pure functions over Alert records, so the
// ordering rules (effective severity desc, then time desc) are tested without a server.
import { badInput } from '../http/router.ts';
import type { Alert, AlertStatus } from '../store/types.ts';

export const ALERT_STATUSES: readonly AlertStatus[] = ['new', 'graded', 'false-positive', 'escalated'];

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

function list(params: URLSearchParams, name: string): string[] | undefined {
  const raw = params.getAll(name).flatMap((v) => v.split(','));
  const values = raw.map((v) => v.trim()).filter((v) => v !== '');
  return values.length ? values : undefined;
}

function int(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d{1,16}$/.test(v)) throw badInput(`${name} must be an integer`, { field: name });
  const n = Number(v);
  if (n < min || n > max) throw badInput(`${name} must be between ${min} and ${max}`, { field: name });
  return n;
}

/** `from`/`to` accept epoch milliseconds or an ISO date (`2026-11-01`, `2026-11-01T09:00:00Z`). */
export function parseTime(params: URLSearchParams, name: string): number | undefined {
  const v = params.get(name);
  if (v === null || v === '') return undefined;
  if (/^\d{1,16}$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v))
    throw badInput(`${name} must be epoch ms or an ISO date`, { field: name });
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw badInput(`${name} is not a valid date`, { field: name });
  return t;
}

export function parseAlertFilter(params: URLSearchParams): AlertFilter {
  const status = list(params, 'status');
  for (const s of status ?? [])
    if (!(ALERT_STATUSES as readonly string[]).includes(s))
      throw badInput(`status must be one of ${ALERT_STATUSES.join(', ')}`, { field: 'status' });
  const category = list(params, 'category');
  for (const c of category ?? [])
    if (!/^[a-z0-9-]{1,64}$/.test(c)) throw badInput('category is not valid', { field: 'category' });
  const source = list(params, 'source');
  for (const s of source ?? [])
    if (!(ALERT_SOURCES as readonly string[]).includes(s))
      throw badInput(`source must be one of ${ALERT_SOURCES.join(', ')}`, { field: 'source' });
  const severity = list(params, 'severity')?.map((s) => {
    if (!/^[1-5]$/.test(s)) throw badInput('severity must be 1-5', { field: 'severity' });
    return Number(s);
  });
  const deviceId = params.get('device') ?? params.get('deviceId') ?? undefined;
  if (deviceId !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(deviceId))
    throw badInput('device is not a valid id', { field: 'device' });
  const filter: AlertFilter = {
    offset: int(params, 'offset', 0, 1_000_000) ?? 0,
    limit: int(params, 'limit', 1, MAX_PAGE) ?? 50,
  };
  if (status) filter.status = status as AlertStatus[];
  if (category) filter.category = category;
  if (source) filter.source = source;
  if (severity) filter.severity = severity;
  const minSeverity = int(params, 'minSeverity', 1, 5);
  if (minSeverity !== undefined) filter.minSeverity = minSeverity;
  if (deviceId !== undefined) filter.deviceId = deviceId;
  const from = parseTime(params, 'from');
  const to = parseTime(params, 'to');
  if (from !== undefined) filter.from = from;
  if (to !== undefined) filter.to = to;
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
