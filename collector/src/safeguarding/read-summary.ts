// "Monitoring the monitors" for governors: how many times safeguarding content was looked at,
// by staff role and month, from the audit log. Pure counting over audit records; the answer
// holds no names, no targets (which alert, which device, which child), no addresses, only
// role × month counts of the read actions (auth/audit.ts READ_ACTIONS). Counts are of staff
// views, not of children, so they are shown exactly (no small-number suppression).
import { READ_ACTIONS } from '../auth/audit.ts';
import type { AuditRecord } from '../store/types.ts';
import { monthOf, monthsBetween } from './reports.ts';

/** Read actions grouped for the governors: what kind of content was viewed. */
export const READ_KINDS: Record<string, string> = {
  'view.alert': 'alert',
  'view.alert-queue': 'alert queue',
  'view.alert-feed': 'alert feed',
  'screenshot.viewed': 'screenshot',
  'view.incident': 'incident',
  'view.incident-log': 'incident log',
  'view.device-timeline': 'device timeline',
  'view.live-feed': 'live device feed',
  'evidence.exported': 'evidence export',
};

export interface ReadSummary {
  period: { from: number; to: number; months: string[] };
  /** role → month (YYYY-MM, UK time) → views. */
  byRoleMonth: Record<string, Record<string, number>>;
  /** kind of content (READ_KINDS) → views. */
  byKind: Record<string, number>;
  total: number;
}

/** The role the record was made under: staff role, `admin` for the admin token, else `other`. */
function roleOf(r: AuditRecord): string {
  const role = r.details?.['role'];
  return typeof role === 'string' && /^[a-z-]{1,32}$/.test(role) ? role : 'other';
}

export function readSummary(records: Iterable<AuditRecord>, from: number, to: number): ReadSummary {
  const months = monthsBetween(from, to);
  const byRoleMonth: Record<string, Record<string, number>> = {};
  const byKind: Record<string, number> = Object.fromEntries(
    [...new Set(Object.values(READ_KINDS))].map((k) => [k, 0]),
  );
  let total = 0;
  // An incident's export is audited on the incident and on each linked alert: one view.
  const exports = new Set<unknown>();
  for (const r of records) {
    if (r.at < from || r.at >= to || !READ_ACTIONS.includes(r.action)) continue;
    const exportId = r.details?.['exportId'];
    if (r.action === 'evidence.exported' && exportId !== undefined) {
      if (exports.has(exportId)) continue;
      exports.add(exportId);
    }
    const role = roleOf(r);
    const row = byRoleMonth[role] ?? Object.fromEntries(months.map((m) => [m, 0]));
    byRoleMonth[role] = row;
    const m = monthOf(r.at);
    row[m] = (row[m] ?? 0) + 1;
    const kind = READ_KINDS[r.action] ?? 'other';
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    total++;
  }
  return { period: { from, to, months }, byRoleMonth, byKind, total };
}
