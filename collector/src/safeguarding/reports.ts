// Termly figures for the governors' report, the DSL and the admin: alerts by category and
// month, incidents by outcome, devices not compliant on idle lock or USB. `buildReport` is
// pure; the anonymised variant (always for governors) holds counts only — no names, no
// hostnames, no device ids, no titles, no terms, no images — and no count from 1 to 2, which
// could identify a child in a small school (see suppressSmallNumbers).
import { defaultPolicy, mergePolicy, type Policy, RECEIVED_LIMITS } from '@custodian/policy';
import type { Alert, Device, DeviceLiveStatus } from '../store/types.ts';
import { ALERT_SOURCES } from './alert-query.ts';
import type { Incident } from './incidents.ts';

export const NONCOMPLIANCE_REASONS = [
  'lock-failed',
  'no-lock-capability',
  'idle-lock-disabled',
  'usb-enforcement-failed',
  'no-usb-control',
  'usb-relaxed',
] as const;
export type NonComplianceReason = (typeof NONCOMPLIANCE_REASONS)[number];

export interface DeviceFacts {
  device: Device;
  status: DeviceLiveStatus | undefined;
  policy: Policy;
  lockFailures: number;
  usbFailures: number;
}

export interface ReportInput {
  from: number;
  to: number;
  alerts: Alert[];
  incidents: Incident[];
  devices: DeviceFacts[];
}

const monthFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
});

/** `YYYY-MM` in UK time, so an alert at 00:30 BST on the 1st counts in the new month. */
export function monthOf(ms: number): string {
  const parts = monthFmt.formatToParts(new Date(ms));
  const y = parts.find((p) => p.type === 'year')?.value;
  const m = parts.find((p) => p.type === 'month')?.value;
  return `${y}-${m}`;
}

export function monthsBetween(from: number, to: number): string[] {
  const out: string[] = [];
  const first = monthOf(from);
  const last = monthOf(Math.max(from, to - 1));
  let [y, m] = first.split('-').map(Number) as [number, number];
  for (let guard = 0; guard < 120; guard++) {
    const label = `${y}-${String(m).padStart(2, '0')}`;
    out.push(label);
    if (label === last) break;
    m++;
    if (m > 12) {
      m = 1;
      y++;
    }
  }
  return out;
}

/** English school terms: autumn Sep-Dec, spring Jan-Mar, summer Apr-Aug (UK time, approximated by month). */
export function currentTerm(now: number): { from: number; to: number; label: string } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth();
  const [startMonth, endMonth, name] =
    mo >= 8 ? [8, 12, 'Autumn'] : mo >= 3 ? [3, 8, 'Summer'] : [0, 3, 'Spring'];
  return {
    from: Date.UTC(y, startMonth, 1),
    to: Date.UTC(y, endMonth, 1),
    label: `${name} term ${y}`,
  };
}

export function nonCompliance(f: DeviceFacts): NonComplianceReason[] {
  const reasons: NonComplianceReason[] = [];
  const caps = new Map((f.status?.capabilities ?? []).map((c) => [c.name, c.available]));
  if (f.lockFailures > 0) reasons.push('lock-failed');
  if (caps.get('lock') === false) reasons.push('no-lock-capability');
  if (!f.policy.idleLock.enabled || f.policy.idleLock.reportOnly) reasons.push('idle-lock-disabled');
  if (f.usbFailures > 0) reasons.push('usb-enforcement-failed');
  if (caps.get('usb_control') === false) reasons.push('no-usb-control');
  if (f.policy.usb.mode === 'allow' || f.policy.usb.mode === 'audit') reasons.push('usb-relaxed');
  return reasons;
}

function count<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

export function buildReport(input: ReportInput, anonymised: boolean) {
  const full = countReport(input, anonymised);
  return anonymised ? suppressSmallNumbers(full) : full;
}

function countReport(input: ReportInput, anonymised: boolean) {
  const months = monthsBetween(input.from, input.to);
  const inPeriod = (t: number) => t >= input.from && t < input.to;
  const alerts = input.alerts.filter((a) => inPeriod(a.occurredAt));
  const real = alerts.filter((a) => a.status !== 'false-positive');
  const categories = [...new Set(real.map((a) => a.category))].sort();
  const byCategoryMonth: Record<string, Record<string, number>> = {};
  for (const c of categories) byCategoryMonth[c] = Object.fromEntries(months.map((m) => [m, 0]));
  for (const a of real) {
    const row = byCategoryMonth[a.category] as Record<string, number>;
    const m = monthOf(a.occurredAt);
    if (m in row) row[m] = (row[m] ?? 0) + 1;
  }
  const byStatus = count(['new', 'graded', 'false-positive', 'escalated'] as const);
  for (const a of alerts) byStatus[a.status]++;
  const bySeverity = count(['1', '2', '3', '4', '5'] as const);
  for (const a of real) bySeverity[String(a.grade ?? a.severity) as '1']++;
  // Where the words were seen; "other" for alerts from agents before the source was sent.
  const bySource = count([...ALERT_SOURCES, 'other'] as const);
  for (const a of real)
    bySource[(ALERT_SOURCES as readonly string[]).includes(a.source) ? (a.source as 'typed') : 'other']++;

  const incidents = input.incidents.filter((i) => inPeriod(i.occurredAt));
  const byOutcome: Record<string, number> = {};
  const byIncidentStatus: Record<string, number> = {};
  const byReferral: Record<string, number> = {};
  for (const i of incidents) {
    byOutcome[i.outcome] = (byOutcome[i.outcome] ?? 0) + 1;
    byIncidentStatus[i.status] = (byIncidentStatus[i.status] ?? 0) + 1;
    byReferral[i.referral.agency] = (byReferral[i.referral.agency] ?? 0) + 1;
  }

  const active = input.devices.filter((d) => d.device.revokedAt === undefined);
  const flagged = active
    .map((d) => ({ facts: d, reasons: nonCompliance(d) }))
    .filter((d) => d.reasons.length > 0);
  const byReason = count(NONCOMPLIANCE_REASONS);
  for (const d of flagged) for (const r of d.reasons) byReason[r]++;
  const idleReasons: NonComplianceReason[] = ['lock-failed', 'no-lock-capability', 'idle-lock-disabled'];
  const usbReasons: NonComplianceReason[] = ['usb-enforcement-failed', 'no-usb-control', 'usb-relaxed'];

  return {
    anonymised,
    period: { from: input.from, to: input.to, months },
    alerts: {
      total: alerts.length,
      falsePositives: byStatus['false-positive'],
      categories,
      byCategoryMonth,
      byStatus,
      bySeverity,
      bySource,
    },
    incidents: { total: incidents.length, byOutcome, byStatus: byIncidentStatus, byReferral },
    devices: {
      total: active.length,
      nonCompliant: flagged.length,
      idleLockNonCompliant: flagged.filter((d) => d.reasons.some((r) => idleReasons.includes(r))).length,
      usbNonCompliant: flagged.filter((d) => d.reasons.some((r) => usbReasons.includes(r))).length,
      byReason,
      // Named devices only in the full report (IT follow-up); governors get the counts above.
      ...(anonymised
        ? {}
        : {
            list: flagged.map((d) => ({
              deviceId: d.facts.device.id,
              hostname: d.facts.device.hostname,
              kind: d.facts.device.kind,
              reasons: d.reasons,
            })),
          }),
    },
  };
}

export function effectivePolicy(base: Policy | undefined, override: { patch: unknown } | undefined): Policy {
  const b = base ?? defaultPolicy();
  return override ? mergePolicy(b, override.patch as Parameters<typeof mergePolicy>[1], RECEIVED_LIMITS) : b;
}

// ---------------------------------------------------------------- small-number suppression

/** Counts from 1 to this are never shown to governors. */
export const SMALL_COUNT_MAX = 2;
/** What a governor sees instead of a count; the console renders it as "fewer than 3". */
export interface Suppressed {
  suppressed: true;
}
export type Count = number | Suppressed;

const suppressed = (): Suppressed => ({ suppressed: true });
const isSmall = (n: number) => n >= 1 && n <= SMALL_COUNT_MAX;

/**
 * Primary and secondary suppression for one population (the real alerts, the incidents) that
 * several splits break down differently. Every count from 1 to 2 is hidden; and if any count
 * of the population is hidden, every split of it hides at least two non-zero cells (the next
 * smallest) and the population's total is hidden too. So no sum is exact and no hidden cell
 * has an upper bound: a governor cannot get a hidden cell back by subtraction from a total
 * or from another split of the same alerts.
 */
export function protectSplits<T extends Record<string, number>>(
  splits: T[],
): { splits: { [K in keyof T]: Count }[]; hidden: boolean } {
  const hidden = splits.some((split) => Object.values(split).some(isSmall));
  return {
    hidden,
    splits: splits.map((split) => {
      const out: Record<string, Count> = { ...split };
      if (!hidden) return out as { [K in keyof T]: Count };
      const hide = Object.keys(split).filter((k) => isSmall(split[k] as number));
      const rest = Object.keys(split)
        .filter((k) => (split[k] as number) > SMALL_COUNT_MAX)
        .sort((a, b) => (split[a] as number) - (split[b] as number) || (a < b ? -1 : 1));
      while (hide.length < 2 && rest.length > 0) hide.push(rest.shift() as string);
      for (const k of hide) out[k] = suppressed();
      return out as { [K in keyof T]: Count };
    }),
  };
}

/**
 * The governors' variant: no count from 1 to 2 anywhere (see protectSplits for how totals and
 * other splits are kept from giving them away). The number of active devices stays exact: it
 * is the size of the fleet, not a count of children, and no compliant count is shown beside it.
 */
export function suppressSmallNumbers(r: ReturnType<typeof countReport>) {
  // Cells keyed by [category, month] as JSON: a category name may hold any character.
  const cells: Record<string, number> = {};
  for (const [c, months] of Object.entries(r.alerts.byCategoryMonth))
    for (const [m, n] of Object.entries(months)) cells[JSON.stringify([c, m])] = n;
  const { 'false-positive': fp, ...realStatus } = r.alerts.byStatus;
  const real = protectSplits<Record<string, number>>([
    cells,
    r.alerts.bySeverity,
    realStatus,
    r.alerts.bySource,
  ]);
  const [shownCells, bySeverity, shownStatus, bySource] = real.splits as [
    Record<string, Count>,
    Record<string, Count>,
    Record<string, Count>,
    Record<string, Count>,
  ];
  const byCategoryMonth: Record<string, Record<string, Count>> = {};
  for (const [key, n] of Object.entries(shownCells)) {
    const [c, m] = JSON.parse(key) as [string, string];
    byCategoryMonth[c] = { ...byCategoryMonth[c], [m]: n };
  }
  const falsePositives: Count = isSmall(fp) ? suppressed() : fp;
  const inc = protectSplits<Record<string, number>>([
    r.incidents.byOutcome,
    r.incidents.byStatus,
    r.incidents.byReferral,
  ]);
  const [byOutcome, byIncidentStatus, byReferral] = inc.splits as Record<string, Count>[];
  // Devices flagged for idle lock, for USB and in all overlap (all = idle ∪ usb): hide all
  // three together, or one shown with another could pin a hidden one down.
  const d = r.devices;
  const deviceFigures = [d.nonCompliant, d.idleLockNonCompliant, d.usbNonCompliant];
  const hideDevices = deviceFigures.some(isSmall);
  const deviceFigure = (n: number): Count => (hideDevices && n > 0 ? suppressed() : n);
  const byReason = Object.fromEntries(
    Object.entries(d.byReason).map(([k, n]) => [k, isSmall(n) ? suppressed() : n]),
  ) as Record<NonComplianceReason, Count>;
  return {
    anonymised: true as const,
    suppression: { below: SMALL_COUNT_MAX + 1 },
    period: r.period,
    alerts: {
      total: real.hidden || isSmall(fp) ? suppressed() : r.alerts.total,
      falsePositives,
      categories: r.alerts.categories,
      byCategoryMonth,
      byStatus: { ...shownStatus, 'false-positive': falsePositives } as Record<
        keyof typeof r.alerts.byStatus,
        Count
      >,
      bySeverity,
      bySource,
    },
    incidents: {
      total: inc.hidden ? suppressed() : r.incidents.total,
      byOutcome: byOutcome as Record<string, Count>,
      byStatus: byIncidentStatus as Record<string, Count>,
      byReferral: byReferral as Record<string, Count>,
    },
    devices: {
      total: d.total,
      nonCompliant: deviceFigure(d.nonCompliant),
      idleLockNonCompliant: deviceFigure(d.idleLockNonCompliant),
      usbNonCompliant: deviceFigure(d.usbNonCompliant),
      byReason,
    },
  };
}
