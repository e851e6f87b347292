// Audit helpers on the collector's append-only AuditStore (store/types.ts). The actions the
// auth and safeguarding code writes are named here so the audit API and its tests agree.
import type { Principal } from '../http/router.ts';
import type { AuditInput, AuditRecord, AuditStore } from '../store/types.ts';

export const AUDIT = {
  login: 'auth.login',
  loginFailed: 'auth.login-failed',
  logout: 'auth.logout',
  passwordChanged: 'auth.password-changed',
  userCreated: 'user.created',
  userRoleChanged: 'user.role-changed',
  userDisabled: 'user.disabled',
  userEnabled: 'user.enabled',
  userUpdated: 'user.updated',
  userPasswordReset: 'user.password-reset',
  loginRefused: 'auth.login-refused',
  ssoFailed: 'auth.sso-failed',
  ssoPending: 'auth.sso-pending',
  ssoRoleAssigned: 'auth.sso-role-assigned',
  ssoRoleLost: 'auth.sso-role-lost',
  ssoPendingRefused: 'auth.sso-pending-refused',
  signInSettingsChanged: 'auth.sign-in-settings-changed',
  mfaEnrolStarted: 'mfa.enrol-started',
  mfaEnabled: 'mfa.enabled',
  mfaChallenged: 'mfa.challenged',
  mfaVerified: 'mfa.verified',
  mfaFailed: 'mfa.failed',
  mfaReset: 'mfa.reset',
  mfaRecoveryRenewed: 'mfa.recovery-codes-renewed',
  alertGraded: 'alert.graded',
  alertFalsePositive: 'alert.false-positive',
  alertNoted: 'alert.noted',
  alertEscalated: 'alert.escalated',
  screenshotViewed: 'screenshot.viewed',
  evidenceExported: 'evidence.exported',
  incidentCreated: 'incident.created',
  incidentUpdated: 'incident.updated',
  /** Incidents or alerts exported as CSV/JSON for CPOMS, MyConcern or a chronology. */
  recordsExported: 'records.exported',
  /** Dual control: a DSL asks a second DSL to approve revealing a screenshot, and the decisions. */
  revealRequested: 'reveal.requested',
  revealApproved: 'reveal.approved',
  revealRejected: 'reveal.rejected',
  dualControlChanged: 'dual-control.changed',
  dualControlChangeRequested: 'dual-control.change-requested',
  // Reads of safeguarding content (issue 19 item 7): one record per view, see READ_ACTIONS.
  alertViewed: 'view.alert',
  alertQueueViewed: 'view.alert-queue',
  alertFeedOpened: 'view.alert-feed',
  incidentViewed: 'view.incident',
  incidentListViewed: 'view.incident-log',
  timelineViewed: 'view.device-timeline',
  liveFeedOpened: 'view.live-feed',
  agreementAcceptancesExported: 'agreement.acceptances.exported',
  dpiaDownloaded: 'dpia.downloaded',
  alertAcknowledged: 'alert.acknowledged',
  alertNotified: 'alert.notified',
  alertNotifyFailed: 'alert.notify-failed',
  notifySettingsChanged: 'notify.settings-changed',
  notifyWebhookCreated: 'notify.webhook-created',
  notifyWebhookDeleted: 'notify.webhook-deleted',
  notifyTestSent: 'notify.test-sent',
  /** A school's own notify layer set, changed or removed (details: old, new). */
  notifySchoolSettingsChanged: 'notify.school-settings-changed',
} as const;

/**
 * The audit actions that are a person looking at safeguarding content: the governors' summary
 * counts these (by role and month), and each view writes exactly one of them.
 */
export const READ_ACTIONS: readonly string[] = [
  AUDIT.alertViewed,
  AUDIT.alertQueueViewed,
  AUDIT.alertFeedOpened,
  AUDIT.screenshotViewed,
  AUDIT.incidentViewed,
  AUDIT.incidentListViewed,
  AUDIT.timelineViewed,
  AUDIT.liveFeedOpened,
  AUDIT.evidenceExported,
];

/** How services write an audit record without an HTTP principal (App['audit'] fits it). */
export type AuditFn = (
  who: string | undefined,
  action: string,
  target: string,
  details?: Record<string, unknown>,
) => Promise<AuditRecord>;

/** The actor string the store records: the username, or 'admin-token' for the API token. */
export function actorName(principal: Principal | undefined): string {
  return principal ? principal.username : 'anonymous';
}

/** Role and kind go into details so the audit page can say "j.smith (dsl)". */
export function actorDetails(principal: Principal | undefined): Record<string, unknown> {
  if (!principal) return { actorKind: 'anonymous' };
  return { actorKind: principal.kind, role: principal.role };
}

/** The audit record of a principal's action, for `store.audit.append` or an atomic batch. */
export function auditInput(
  principal: Principal | undefined,
  action: string,
  target: string,
  ip: string | undefined,
  details: Record<string, unknown> = {},
): AuditInput {
  return {
    actor: actorName(principal),
    action,
    target,
    details: { ...actorDetails(principal), ...details },
    ...(ip ? { ip } : {}),
  };
}

export async function audit(
  store: AuditStore,
  principal: Principal | undefined,
  action: string,
  target: string,
  ip: string | undefined,
  details: Record<string, unknown> = {},
): Promise<AuditRecord> {
  return store.append(auditInput(principal, action, target, ip, details));
}
