// What to do with the health queue given one device's findings and its latest alert per kind.
// Pure. Rules: at most one open (or acknowledged) alert per (device, kind); a cleared condition
// resolves it ('system'); a resolved alert is reopened only by a new episode (`since` after the
// resolution), so IT resolving "known, leave it" is not undone at the next check.
import type { Findings, HealthCondition, HealthKind } from './detect.ts';

export type HealthState = 'open' | 'acknowledged' | 'resolved';
export const HEALTH_STATES: readonly HealthState[] = ['open', 'acknowledged', 'resolved'];

export interface HealthHistoryEntry {
  at: number;
  actor: string;
  action: 'opened' | 'acknowledged' | 'resolved';
  note?: string;
}

export interface HealthAlert {
  id: string;
  deviceId: string;
  kind: HealthKind;
  state: HealthState;
  summary: string;
  details: Record<string, number | string | boolean>;
  since: number;
  openedAt: number;
  acknowledgedAt?: number;
  acknowledgedBy?: string;
  resolvedAt?: number;
  resolvedBy?: string;
  /** Why it was resolved ('condition cleared', or the note IT gave). */
  resolution?: string;
  history: HealthHistoryEntry[];
}

export type HealthAction =
  | { type: 'open'; condition: HealthCondition }
  | { type: 'resolve'; alert: HealthAlert; reason: string };

/** Pure: the actions for one device. `latest` holds the newest alert of each kind for it. */
export function decideHealth(
  findings: Findings,
  latest: ReadonlyMap<HealthKind, HealthAlert>,
): HealthAction[] {
  const actions: HealthAction[] = [];
  for (const condition of findings.present) {
    const last = latest.get(condition.kind);
    if (last && last.state !== 'resolved') continue;
    if (last && condition.since <= (last.resolvedAt ?? 0)) continue;
    actions.push({ type: 'open', condition });
  }
  for (const kind of findings.cleared) {
    const last = latest.get(kind);
    if (last && last.state !== 'resolved')
      actions.push({ type: 'resolve', alert: last, reason: findings.clearedBecause ?? 'condition cleared' });
  }
  return actions;
}

/** Pure: whether the daily digest is due (once a local day, on school days, at or after `at`). */
export function digestDue(
  local: { day: string; weekday: number; minutes: number },
  settings: { enabled: boolean; atMinutes: number; days: number[] },
  lastDay: string | undefined,
): boolean {
  return (
    settings.enabled &&
    lastDay !== local.day &&
    settings.days.includes(local.weekday) &&
    local.minutes >= settings.atMinutes
  );
}
