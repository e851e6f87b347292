// Dual control's rules as pure functions and records (dual-control.ts is the shell over the
// store): the school's settings record, a reveal request and its state in time, whether an
// alert is gated, and the decisions to reveal, to approve, and whether a change loosens it.
import { ErrorCode, type ErrorCodeValue } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { QueryInt } from '../http/schema.ts';
import type { Alert } from '../store/types.ts';

// ---------------------------------------------------------------- the school's settings record

/** The one settings record (one kv key); per school once tenancy exists (issue 20). */
export interface DualControlSettings {
  enabled: boolean;
  /** Alerts whose severity (the matcher's or the DSL's grade, whichever is higher) is at least this. */
  minSeverity: number;
  /** How long a request waits for a second DSL. */
  approvalWindowMinutes: number;
  /** How long, from the approval, the requester may view the alert's screenshots. */
  revealWindowMinutes: number;
  updatedAt: number | null;
  updatedBy: string | null;
}

export const DEFAULT_DUAL_CONTROL: DualControlSettings = {
  enabled: false,
  minSeverity: 4,
  approvalWindowMinutes: 30,
  revealWindowMinutes: 15,
  updatedAt: null,
  updatedBy: null,
};

export const SETTINGS_NS = 'safeguarding-settings';
export const SETTINGS_KEY = 'dual-control';
export const REQUESTS_NS = 'reveal-requests';

export const DualControlFields = {
  enabled: Type.Boolean({ description: 'whether revealing a screenshot needs a second DSL' }),
  minSeverity: QueryInt(1, 5, 'alerts of this severity or higher need the second DSL'),
  approvalWindowMinutes: QueryInt(1, 24 * 60, 'minutes a request waits for approval'),
  revealWindowMinutes: QueryInt(1, 120, 'minutes the requester may view once approved'),
};

export type SettingsFields = Omit<DualControlSettings, 'updatedAt' | 'updatedBy'>;

/** A loosening of the setting, waiting for a second DSL (one record, like the setting). */
export interface PendingSettingsChange {
  id: string;
  to: SettingsFields;
  reason: string;
  requestedBy: string;
  requestedAt: number;
  expiresAt: number;
}

export const CHANGES_NS = 'dual-control-changes';

/** Would `next` let someone see more, alone, than `before` does? */
export function isLoosening(before: SettingsFields, next: SettingsFields): boolean {
  if (!before.enabled) return false;
  return (
    !next.enabled ||
    next.minSeverity > before.minSeverity ||
    next.revealWindowMinutes > before.revealWindowMinutes
  );
}

export const strip = ({ updatedAt: _a, updatedBy: _b, ...rest }: DualControlSettings): SettingsFields => rest;
export const describeSettings = (s: SettingsFields) =>
  s.enabled ? `severity ${s.minSeverity}+, ${s.revealWindowMinutes} min to view` : 'off';

// ---------------------------------------------------------------- requests and pure decisions

export interface RevealRequest {
  id: string;
  alertId: string;
  /** The alert's gated severity when asked (for the approving DSL's list). */
  severity: number;
  reason: string;
  requestedBy: string;
  requestedAt: number;
  /** A pending request past this is expired. */
  expiresAt: number;
  state: 'pending' | 'approved' | 'rejected';
  decidedBy?: string;
  decidedAt?: number;
  rejectReason?: string;
  /** Set on approval: the requester may view until then. */
  revealUntil?: number;
  /** Screenshot views and evidence exports made under this approval. */
  reveals: number;
}

/** What a request is now, with time taken into account. */
export type RevealState = 'pending' | 'approved' | 'rejected' | 'expired' | 'used';

export function stateAt(r: RevealRequest, now: number): RevealState {
  if (r.state === 'pending') return now >= r.expiresAt ? 'expired' : 'pending';
  if (r.state === 'approved' && now >= (r.revealUntil ?? 0)) return r.reveals > 0 ? 'used' : 'expired';
  return r.state;
}

/** Grading an alert down does not lift dual control: the higher of the matcher's and the grade. */
export const gatedSeverity = (a: Alert) => Math.max(a.severity, a.grade ?? 0);

export function needsSecondDsl(s: DualControlSettings, a: Alert): boolean {
  return s.enabled && a.screenshotBlobIds.length > 0 && gatedSeverity(a) >= s.minSeverity;
}

/** A refusal: the HTTP status and the stable code the route answers with. */
export interface Refusal {
  ok: false;
  status: number;
  code: ErrorCodeValue;
  message: string;
  request?: RevealRequest;
}

export type RevealDecision = { ok: true; request?: RevealRequest } | Refusal;

/** May this DSL see the alert's screenshots now? `mine`: their requests for this alert. */
export function decideReveal(
  s: DualControlSettings,
  alert: Alert,
  mine: RevealRequest[],
  now: number,
): RevealDecision {
  if (!needsSecondDsl(s, alert)) return { ok: true };
  const newest = [...mine].sort((a, b) => b.requestedAt - a.requestedAt);
  const live = newest.find((r) => stateAt(r, now) === 'approved');
  if (live) return { ok: true, request: live };
  const last = newest[0];
  const refuse = (code: ErrorCodeValue, message: string): Refusal => ({
    ok: false,
    status: 403,
    code,
    message,
    ...(last ? { request: last } : {}),
  });
  if (!last)
    return refuse(
      ErrorCode.DUAL_CONTROL_REQUIRED,
      `dual control: a second DSL must approve before the screenshots of a severity ${gatedSeverity(alert)} alert are revealed`,
    );
  switch (stateAt(last, now)) {
    case 'pending':
      return refuse(ErrorCode.DUAL_CONTROL_PENDING, 'dual control: your request is waiting for a second DSL');
    case 'expired':
      return refuse(
        ErrorCode.APPROVAL_EXPIRED,
        last.state === 'pending'
          ? 'dual control: your request was not approved in time; ask again'
          : 'dual control: the approval has expired; ask again',
      );
    case 'used':
      return refuse(
        ErrorCode.APPROVAL_USED,
        'dual control: the approval was used and its window has ended; ask again',
      );
    default:
      return refuse(
        ErrorCode.DUAL_CONTROL_REQUIRED,
        `dual control: your request was rejected by ${last.decidedBy ?? 'another DSL'}; ask again with a reason`,
      );
  }
}

/** May `approver` approve `r` now? */
export function decideApproval(r: RevealRequest, approver: string, now: number): { ok: true } | Refusal {
  if (r.requestedBy === approver)
    return {
      ok: false,
      status: 403,
      code: ErrorCode.APPROVAL_OWN_REQUEST,
      message: 'dual control: another DSL must approve your request',
    };
  const state = stateAt(r, now);
  if (state === 'expired' || state === 'used')
    return {
      ok: false,
      status: 409,
      code: state === 'used' ? ErrorCode.APPROVAL_USED : ErrorCode.APPROVAL_EXPIRED,
      message: `dual control: this request has ${state === 'used' ? 'been used' : 'expired'}`,
    };
  if (state !== 'pending')
    return { ok: false, status: 409, code: ErrorCode.CONFLICT, message: `this request was already ${state}` };
  return { ok: true };
}
