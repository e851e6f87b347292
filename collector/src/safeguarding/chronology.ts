// Incidents and alerts as rows of a safeguarding chronology: the fields a DSL re-keys into CPOMS
// or MyConcern (date and time, the pupil as recorded, category, what happened, what was done,
// the outcome, who) plus the hashes that tie a row to the evidence kept here. One column list
// for both kinds, so a chronology of a date range can hold incidents and alerts side by side.
// The mapping to the vendors' fields is in README.md ("Incidents out to CPOMS and MyConcern").

import { AUDIT } from '../auth/audit.ts';
import type { Alert, AlertHistoryEntry, Store } from '../store/types.ts';
import { effectiveSeverity } from './alert-query.ts';
import { currentUserOf, screenshotInfo, timelineExcerpt, userAtEvent } from './context.ts';
import type { Incident, IncidentHistoryEntry } from './incidents.ts';

/** Our columns, in file order. A list-valued column is an array in JSON and joined in CSV. */
export const CHRONOLOGY_COLUMNS = [
  'record_type',
  'record_id',
  'occurred_at',
  'date',
  'time',
  'pupil_name',
  'pupil_name_source',
  'device',
  'category',
  'severity',
  'title',
  'description',
  'actions_taken',
  'outcome',
  'status',
  'referral',
  'staff',
  'recorded_by',
  'linked_records',
  'screenshot_sha256',
  'evidence_bundle_sha256',
] as const;
export type ChronologyColumn = (typeof CHRONOLOGY_COLUMNS)[number];
export type ChronologyRow = Record<ChronologyColumn, string | string[]>;

/** How list cells are joined in CSV: actions one per line (as a chronology reads), the rest with "; ". */
const JOIN: Partial<Record<ChronologyColumn, string>> = { actions_taken: '\n' };

export function rowCells(row: ChronologyRow): string[] {
  return CHRONOLOGY_COLUMNS.map((c) => {
    const v = row[c];
    return Array.isArray(v) ? v.join(JOIN[c] ?? '; ') : v;
  });
}

/** UK schools keep their records in UK time; the ISO column keeps the exact instant (UTC). */
const ZONE = 'Europe/London';
const DATE = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});
const TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
export const ukDate = (ms: number) => DATE.format(ms);
export const ukTime = (ms: number) => TIME.format(ms);
const stamp = (ms: number) => `${ukDate(ms)} ${ukTime(ms)}`;

const distinct = (xs: string[]) => [...new Set(xs.filter((x) => x !== ''))];
/** Staff are people: the collector's own entries ('system') are actions, not staff. */
const people = (xs: string[]) => distinct(xs).filter((x) => x !== 'system');

function alertAction(h: AlertHistoryEntry): string {
  const to = h.to === undefined || h.to === null ? '' : String(h.to);
  switch (h.action) {
    case 'graded':
      return `graded severity ${to}`;
    case 'status':
      return `status ${String(h.from ?? '')} -> ${to}`;
    case 'escalated':
      return `escalated to incident ${to}`;
    case 'noted':
      return 'added a note';
    case 'opened':
      return 'alert opened by Custodian';
    default:
      return to ? `${h.action} ${to}` : h.action;
  }
}

function incidentAction(h: IncidentHistoryEntry): string {
  if (h.action === 'created') return 'opened the incident record';
  if (h.action === 'alert-linked') return `linked alert ${String(h.changes.linkedAlertIds?.to ?? '')}`;
  // Short coded fields with their values (a chronology reads "status open -> closed"); long
  // text fields by name only (their current text is in its own column).
  const parts = Object.entries(h.changes).map(([field, c]) => {
    if (field === 'status' || field === 'outcome') return `${field} ${String(c.from)} -> ${String(c.to)}`;
    if (field === 'referral') {
      const to = c.to as { agency?: string; reference?: string } | null;
      return `referral ${to?.agency ?? ''}${to?.reference ? ` (ref ${to.reference})` : ''}`;
    }
    return field;
  });
  return `updated ${parts.join(', ')}`;
}

/**
 * The newest evidence bundle (HTML export, evidence.ts) of every record: target → the SHA-256 in
 * its audit record. One pass over the audit log per export, not one per row.
 */
export async function bundleIndex(store: Store): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await store.audit.list({
      action: AUDIT.evidenceExported,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const r of page.records) {
      const sha = r.details?.sha256;
      // Newest first: the first hash seen for a target is its latest bundle.
      if (typeof sha === 'string' && !out.has(r.target)) out.set(r.target, sha);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

interface AlertFacts {
  alert: Alert;
  hostname: string;
  /** Who the device said was signed in at the time, else the BYOD agreement's name. */
  user: string;
  userSource: string;
  shots: string[];
  actions: { at: number; line: string }[];
  staff: string[];
}

async function alertFacts(store: Store, alert: Alert): Promise<AlertFacts> {
  const device = await store.devices.get(alert.deviceId);
  const excerpt = await timelineExcerpt(store, alert);
  const atEvent = userAtEvent(excerpt, alert, undefined);
  const fallback = await currentUserOf(store, device, alert.deviceId);
  const byod = device?.byod?.userName;
  let user = '';
  let userSource = '';
  if (atEvent) [user, userSource] = [atEvent, 'device login name at the time'];
  else if (byod) [user, userSource] = [byod, 'name given on the BYOD agreement'];
  else if (fallback) [user, userSource] = [fallback, 'device login name (current)'];
  const shots = (await screenshotInfo(store, alert))
    .filter((s) => s.sha256)
    .map((s) => `${s.blobId}=${s.sha256}`);
  const actions = [
    ...alert.history.map((h) => ({ at: h.at, line: `${stamp(h.at)} ${h.actor}: ${alertAction(h)}` })),
    ...alert.notes.map((n) => ({ at: n.at, line: `${stamp(n.at)} ${n.author}: note: ${n.text}` })),
  ].sort((a, b) => a.at - b.at);
  const staff = people([...alert.history.map((h) => h.actor), ...alert.notes.map((n) => n.author)]);
  return { alert, hostname: device?.hostname ?? alert.deviceId, user, userSource, shots, actions, staff };
}

function alertDescription(a: Alert): string {
  const parts = [`Matched "${a.term}" (${a.source || 'window title'})`, `Context: ${a.context}`];
  if (a.windowTitle) parts.push(`Window: ${a.windowTitle}`);
  if (a.windowUrl) parts.push(`URL: ${a.windowUrl}`);
  if (a.educationalContext) parts.push('Educational context: yes');
  return parts.join('\n');
}

export async function alertRow(
  store: Store,
  bundles: Map<string, string>,
  alert: Alert,
): Promise<ChronologyRow> {
  const f = await alertFacts(store, alert);
  const outcome =
    alert.status === 'escalated'
      ? `escalated to incident ${alert.incidentId ?? ''}`.trim()
      : alert.status === 'false-positive'
        ? 'false positive'
        : alert.status === 'graded'
          ? `graded ${alert.grade ?? ''}`.trim()
          : 'not yet reviewed';
  return {
    record_type: 'alert',
    record_id: alert.id,
    occurred_at: new Date(alert.occurredAt).toISOString(),
    date: ukDate(alert.occurredAt),
    time: ukTime(alert.occurredAt),
    pupil_name: f.user,
    pupil_name_source: f.userSource,
    device: f.hostname,
    category: alert.category,
    severity: String(effectiveSeverity(alert)),
    title: `${alert.category}: "${alert.term}"`,
    description: alertDescription(alert),
    actions_taken: f.actions.map((a) => a.line),
    outcome,
    status: alert.status,
    referral: '',
    staff: f.staff,
    recorded_by: 'Custodian (automatic capture)',
    linked_records: alert.incidentId ? [alert.incidentId] : [],
    screenshot_sha256: f.shots,
    evidence_bundle_sha256: bundles.get(`alert:${alert.id}`) ?? '',
  };
}

export async function incidentRow(
  store: Store,
  bundles: Map<string, string>,
  incident: Incident,
): Promise<ChronologyRow> {
  const linked: AlertFacts[] = [];
  for (const id of incident.linkedAlertIds) {
    const a = await store.alerts.get(id);
    if (a) linked.push(await alertFacts(store, a));
  }
  const pupils = incident.peopleInvolved.filter((p) => p.role === 'pupil').map((p) => p.name);
  const deviceUsers = distinct(linked.map((l) => l.user));
  const r = incident.referral;
  const referral =
    r.agency === 'none'
      ? ''
      : [r.agency, r.reference && `ref ${r.reference}`, r.at !== null && `on ${stamp(r.at)}`, r.note]
          .filter(Boolean)
          .join(', ');
  const actions = [
    ...(incident.actionsTaken ? [{ at: -1, line: incident.actionsTaken }] : []),
    ...incident.history.map((h) => ({ at: h.at, line: `${stamp(h.at)} ${h.actor}: ${incidentAction(h)}` })),
    ...linked.flatMap((l) => l.actions.map((a) => ({ at: a.at, line: `${a.line} (alert ${l.alert.id})` }))),
  ].sort((a, b) => a.at - b.at);
  const severities = linked.map((l) => effectiveSeverity(l.alert));
  return {
    record_type: 'incident',
    record_id: incident.id,
    occurred_at: new Date(incident.occurredAt).toISOString(),
    date: ukDate(incident.occurredAt),
    time: ukTime(incident.occurredAt),
    pupil_name: pupils.length ? pupils : deviceUsers,
    pupil_name_source: pupils.length
      ? 'incident record'
      : deviceUsers.length
        ? distinct(linked.map((l) => l.userSource)).join('; ')
        : '',
    device: distinct(linked.map((l) => l.hostname)),
    category: distinct(linked.map((l) => l.alert.category)),
    severity: severities.length ? String(Math.max(...severities)) : '',
    title: incident.title,
    description: incident.description,
    actions_taken: actions.map((a) => a.line),
    outcome: incident.outcomeNotes ? `${incident.outcome}: ${incident.outcomeNotes}` : incident.outcome,
    status: incident.status,
    referral,
    staff: people([
      incident.createdBy,
      ...incident.history.map((h) => h.actor),
      ...linked.flatMap((l) => l.staff),
    ]),
    recorded_by: incident.createdBy,
    linked_records: incident.linkedAlertIds,
    screenshot_sha256: linked.flatMap((l) => l.shots),
    evidence_bundle_sha256: bundles.get(`incident:${incident.id}`) ?? '',
  };
}
