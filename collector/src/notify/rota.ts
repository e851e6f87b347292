// The DSL rota as a pure decision (STYLE: decide…() plus a thin shell, rota-runner.ts). An alert
// at or above the threshold starts a chain: the first contact of the matching band is told; if
// nobody opens it in the console (or, with `stopOn: acknowledged`, acknowledges it) the alert within N minutes, the
// next contact is told, and so on. A DSL's acknowledgement, or any decision on the alert
// (graded, false positive, escalated), ends the chain.
import type { AlertHistoryEntry, AlertStatus } from '../store/types.ts';
import { timeWindowAt } from './schedule.ts';
import type { NotifySettings } from './settings.ts';

/** Kept per alert (kv `notify-rota`). */
export interface RotaState {
  alertId: string;
  startedAt: number;
  /** The band's contacts, chosen when the chain started (a later settings change does not reshuffle a running chain). */
  contacts: string[];
  /** The school whose notify layer chose `contacts` (school-layer.ts); absent: the trust's record. */
  layer?: string;
  /** How many contacts have been told. */
  told: number;
  lastToldAt: number | null;
  ended: { at: number; reason: RotaEnd } | null;
}

export type RotaEnd = 'acknowledged' | 'viewed' | 'decided' | 'exhausted' | 'no-contacts';

/** What the rota needs to know of the alert (history entries written by alert-actions / opening). */
export interface RotaAlertFacts {
  severity: number;
  status: AlertStatus;
  history: readonly AlertHistoryEntry[];
}

export type RotaDecision =
  | { kind: 'tell'; contactId: string; step: number }
  | { kind: 'wait'; until: number }
  | { kind: 'end'; reason: RotaEnd };

/** The contacts for a new chain: the first band matching the severity and the time window now. */
export function contactsFor(severity: number, now: number, s: NotifySettings): string[] {
  const window = timeWindowAt(now, s);
  const band = s.rota.bands.find(
    (b) => severity >= b.minSeverity && (b.window === 'any' || b.window === window),
  );
  const known = new Set(s.contacts.map((c) => c.id));
  return (band?.contacts ?? []).filter((id) => known.has(id));
}

export function newRotaState(
  alertId: string,
  contacts: string[],
  now: number,
  layer: string | null = null,
): RotaState {
  const state: RotaState = { alertId, startedAt: now, contacts, told: 0, lastToldAt: null, ended: null };
  if (layer !== null) state.layer = layer;
  return state;
}

export function decideRota(
  state: RotaState,
  alert: RotaAlertFacts,
  settings: Pick<NotifySettings, 'rota'>,
  now: number,
): RotaDecision {
  if (state.ended) return { kind: 'end', reason: state.ended.reason };
  if (alert.history.some((e) => e.action === 'acknowledged')) return { kind: 'end', reason: 'acknowledged' };
  if (alert.status !== 'new') return { kind: 'end', reason: 'decided' };
  // `viewed` is a person opening the alert in the console (the `opened` entry is ingest creating it).
  if (settings.rota.stopOn === 'viewed' && alert.history.some((e) => e.action === 'viewed'))
    return { kind: 'end', reason: 'viewed' };
  if (state.contacts.length === 0) return { kind: 'end', reason: 'no-contacts' };
  if (state.told === 0 || state.lastToldAt === null)
    return { kind: 'tell', contactId: state.contacts[0] as string, step: 0 };
  const due = state.lastToldAt + settings.rota.escalateAfterMinutes * 60_000;
  if (now < due) return { kind: 'wait', until: due };
  if (state.told >= state.contacts.length) return { kind: 'end', reason: 'exhausted' };
  return { kind: 'tell', contactId: state.contacts[state.told] as string, step: state.told };
}

/** The state after a decision was carried out. */
export function applyRota(state: RotaState, d: RotaDecision, now: number): RotaState {
  if (d.kind === 'tell') return { ...state, told: d.step + 1, lastToldAt: now };
  if (d.kind === 'end') return state.ended ? state : { ...state, ended: { at: now, reason: d.reason } };
  return state;
}
