// Dual control ("do not view misuse alone", the Belmont policy): when a school switches it on,
// revealing the screenshots of an alert at or above a severity needs a second DSL's approval.
// A DSL asks (with a reason) → another DSL approves within `approvalWindowMinutes` → for
// `revealWindowMinutes` from the approval the requester (only) may view that alert's screenshots
// and export its evidence; each view's audit record names both. The decisions are pure
// functions in dual-control-rules.ts; DualControl is the thin shell over the store.
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, auditInput } from '../auth/audit.ts';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../auth/notifications.ts';
import { HttpError, notFound, type Principal } from '../http/router.ts';
import { randomId } from '../store/records.ts';
import type { Alert, KvNamespace, Store } from '../store/types.ts';
import {
  CHANGES_NS,
  DEFAULT_DUAL_CONTROL,
  type DualControlSettings,
  decideApproval,
  decideReveal,
  describeSettings,
  gatedSeverity,
  isLoosening,
  needsSecondDsl,
  type PendingSettingsChange,
  REQUESTS_NS,
  type Refusal,
  type RevealRequest,
  SETTINGS_KEY,
  SETTINGS_NS,
  type SettingsFields,
  stateAt,
  strip,
} from './dual-control-rules.ts';

const PENDING_KEY = 'pending';

const refusal = (d: Refusal, details: Record<string, unknown>) =>
  new HttpError(d.status, d.code, d.message, details);

// ---------------------------------------------------------------- the shell over the store

/** What the screenshot and evidence routes ask before any image leaves. */
export interface RevealGate {
  /**
   * Throws the refusal, or records the reveal and answers the audit details that name both DSLs
   * (`undefined` when dual control does not apply to this alert).
   */
  admit(alert: Alert, p: Principal | undefined): Promise<Record<string, unknown> | undefined>;
}

export class DualControl implements RevealGate {
  private readonly store: Store;
  private readonly requests: KvNamespace<RevealRequest>;
  private readonly settingsKv: KvNamespace<DualControlSettings>;
  private readonly changes: KvNamespace<PendingSettingsChange>;
  private readonly notifications: Notifications;
  private readonly now: () => number;

  constructor(store: Store, now: () => number = Date.now) {
    this.store = store;
    this.requests = store.kv<RevealRequest>(REQUESTS_NS);
    this.settingsKv = store.kv<DualControlSettings>(SETTINGS_NS);
    this.changes = store.kv<PendingSettingsChange>(CHANGES_NS);
    this.notifications = new Notifications({
      kv: store.kv<StaffNotification>(NOTIFICATIONS_NS),
      audit: store.audit,
    });
    this.now = now;
  }

  /** The one read of the settings record. */
  async settings(): Promise<DualControlSettings> {
    return { ...DEFAULT_DUAL_CONTROL, ...(await this.settingsKv.get(SETTINGS_KEY)) };
  }

  /** Active DSL accounts, read from the auth module's `users` namespace (auth/index.ts). */
  private async activeDsls(): Promise<number> {
    const users = await this.store.kv<{ role: string; disabled: boolean }>('users').list();
    return users.filter((u) => u.value.role === 'dsl' && !u.value.disabled).length;
  }

  /** A loosening waiting for a second DSL, while it is still open. */
  async pendingChange(): Promise<PendingSettingsChange | undefined> {
    const p = await this.changes.get(PENDING_KEY);
    return p && this.now() < p.expiresAt ? p : undefined;
  }

  /**
   * Tightening (on, a lower threshold, a shorter reveal) applies at once. Loosening it while it
   * is on — off, a higher threshold, a longer reveal window — is itself held for a second DSL:
   * otherwise one DSL could switch it off, look alone, and switch it back on.
   */
  async setSettings(
    next: SettingsFields,
    reason: string,
    p: Principal | undefined,
    ip: string,
  ): Promise<{ settings: DualControlSettings; pending: PendingSettingsChange | null }> {
    const before = await this.settings();
    const by = p?.username ?? 'unknown';
    // With one DSL nobody could approve a reveal (or switching it off again): refuse to lock them out.
    if (next.enabled && !before.enabled && (await this.activeDsls()) < 2)
      throw new HttpError(
        409,
        ErrorCode.CONFLICT,
        'dual control needs at least two active DSL accounts: one asks, another approves',
      );
    if (!isLoosening(before, next)) {
      return { settings: await this.apply(next, reason, p, ip, null), pending: null };
    }
    const now = this.now();
    const pending: PendingSettingsChange = {
      id: `${String(now).padStart(15, '0')}-${randomId(9)}`,
      to: next,
      reason,
      requestedBy: by,
      requestedAt: now,
      expiresAt: now + before.approvalWindowMinutes * 60_000,
    };
    await this.changes.put(PENDING_KEY, pending);
    await this.store.audit.append(
      auditInput(p, AUDIT.dualControlChangeRequested, 'settings:dual-control', ip, {
        changeId: pending.id,
        from: strip(before),
        to: next,
        reason,
      }),
    );
    await this.notifications.notify(
      'dsl',
      'dual-control.change-requested',
      `${by} asks to loosen dual control for screenshots (${describeSettings(next)}): another DSL must approve`,
      { changeId: pending.id, by, enabled: next.enabled, minSeverity: next.minSeverity },
    );
    return { settings: before, pending };
  }

  /** A second DSL approves the waiting loosening; it applies now. */
  async approveChange(p: Principal | undefined, ip: string): Promise<DualControlSettings> {
    const by = p?.username ?? 'unknown';
    const pending = await this.changes.get(PENDING_KEY);
    if (!pending) throw notFound('waiting dual-control change');
    if (pending.requestedBy === by)
      throw new HttpError(
        403,
        ErrorCode.APPROVAL_OWN_REQUEST,
        'dual control: another DSL must approve your change',
      );
    if (this.now() >= pending.expiresAt)
      throw new HttpError(
        409,
        ErrorCode.APPROVAL_EXPIRED,
        'dual control: this change was not approved in time',
      );
    await this.changes.del(PENDING_KEY);
    const settings = await this.apply(pending.to, pending.reason, p, ip, pending);
    await this.notifications.notify(
      'dsl',
      'dual-control.loosened',
      `${by} approved ${pending.requestedBy}'s change: dual control for screenshots is now ${describeSettings(settings)}`,
      { changeId: pending.id, by: pending.requestedBy, approvedBy: by, enabled: settings.enabled },
    );
    return settings;
  }

  private async apply(
    next: SettingsFields,
    reason: string,
    p: Principal | undefined,
    ip: string,
    approved: PendingSettingsChange | null,
  ): Promise<DualControlSettings> {
    const before = await this.settings();
    const by = approved?.requestedBy ?? p?.username ?? 'unknown';
    const stored: DualControlSettings = { ...next, updatedAt: this.now(), updatedBy: by };
    await this.settingsKv.put(SETTINGS_KEY, stored);
    await this.store.audit.append(
      auditInput(p, AUDIT.dualControlChanged, 'settings:dual-control', ip, {
        from: strip(before),
        to: strip(stored),
        reason,
        ...(approved
          ? { changeId: approved.id, requestedBy: approved.requestedBy, approvedBy: p?.username }
          : {}),
      }),
    );
    return stored;
  }

  async list(): Promise<RevealRequest[]> {
    return (await this.requests.list({ reverse: true })).map((e) => e.value);
  }

  /** A request as the API shows it: with its state now. */
  view(r: RevealRequest) {
    return { ...r, stateNow: stateAt(r, this.now()) };
  }

  private async mine(alertId: string, username: string): Promise<RevealRequest[]> {
    return (await this.list()).filter((r) => r.alertId === alertId && r.requestedBy === username);
  }

  /** For the console: does this alert need a second DSL, and where is the caller's request? */
  async access(alert: Alert, p: Principal | undefined) {
    const s = await this.settings();
    const d = decideReveal(s, alert, await this.mine(alert.id, p?.username ?? ''), this.now());
    return {
      required: needsSecondDsl(s, alert),
      allowed: d.ok,
      ...(d.ok ? {} : { code: d.code, message: d.message }),
      request: d.request ? this.view(d.request) : null,
      settings: {
        minSeverity: s.minSeverity,
        approvalWindowMinutes: s.approvalWindowMinutes,
        revealWindowMinutes: s.revealWindowMinutes,
      },
    };
  }

  async request(alert: Alert, reason: string, p: Principal | undefined, ip: string): Promise<RevealRequest> {
    const s = await this.settings();
    if (!needsSecondDsl(s, alert))
      throw new HttpError(
        409,
        ErrorCode.CONFLICT,
        'dual control does not apply to this alert: reveal it directly',
      );
    const by = p?.username ?? 'unknown';
    const now = this.now();
    const open = (await this.mine(alert.id, by)).find((r) =>
      ['pending', 'approved'].includes(stateAt(r, now)),
    );
    if (open)
      throw new HttpError(
        409,
        ErrorCode.CONFLICT,
        `you already have a ${stateAt(open, now)} request for this alert`,
        {
          requestId: open.id,
        },
      );
    const req: RevealRequest = {
      id: `${String(now).padStart(15, '0')}-${randomId(9)}`,
      alertId: alert.id,
      severity: gatedSeverity(alert),
      reason,
      requestedBy: by,
      requestedAt: now,
      expiresAt: now + s.approvalWindowMinutes * 60_000,
      state: 'pending',
      reveals: 0,
    };
    await this.requests.put(req.id, req);
    await this.store.audit.append(
      auditInput(p, AUDIT.revealRequested, `alert:${alert.id}`, ip, {
        requestId: req.id,
        reason,
        expiresAt: req.expiresAt,
      }),
    );
    // No safeguarding content in a notification: ids, the severity and who asked.
    await this.notifications.notify(
      'dsl',
      'dual-control.requested',
      `${by} asks a second DSL to approve revealing the screenshots of a severity ${req.severity} alert`,
      { requestId: req.id, alertId: alert.id, requestedBy: by, severity: req.severity },
    );
    return req;
  }

  async approve(id: string, p: Principal | undefined, ip: string): Promise<RevealRequest> {
    return this.decide(id, p, ip, 'approved');
  }

  async reject(id: string, reason: string, p: Principal | undefined, ip: string): Promise<RevealRequest> {
    return this.decide(id, p, ip, 'rejected', reason);
  }

  private async decide(
    id: string,
    p: Principal | undefined,
    ip: string,
    to: 'approved' | 'rejected',
    reason = '',
  ): Promise<RevealRequest> {
    const by = p?.username ?? 'unknown';
    let refused: Refusal | undefined;
    const s = await this.settings();
    // Checked and decided under the store's write lock: two DSLs clicking at once decide once.
    const next = await this.requests.update(id, (cur) => {
      if (!cur) return cur;
      const now = this.now();
      const d = decideApproval(cur, by, now);
      if (!d.ok) {
        refused = d;
        return cur;
      }
      return to === 'approved'
        ? {
            ...cur,
            state: 'approved',
            decidedBy: by,
            decidedAt: now,
            revealUntil: now + s.revealWindowMinutes * 60_000,
          }
        : { ...cur, state: 'rejected', decidedBy: by, decidedAt: now, rejectReason: reason };
    });
    if (!next) throw notFound('reveal request');
    if (refused) throw refusal(refused, { requestId: id });
    await this.store.audit.append(
      auditInput(
        p,
        to === 'approved' ? AUDIT.revealApproved : AUDIT.revealRejected,
        `alert:${next.alertId}`,
        ip,
        {
          requestId: id,
          requestedBy: next.requestedBy,
          ...(to === 'approved' ? { revealUntil: next.revealUntil } : { reason }),
        },
      ),
    );
    return next;
  }

  async admit(alert: Alert, p: Principal | undefined): Promise<Record<string, unknown> | undefined> {
    const s = await this.settings();
    if (!needsSecondDsl(s, alert)) return undefined;
    const d = decideReveal(s, alert, await this.mine(alert.id, p?.username ?? ''), this.now());
    if (!d.ok) throw refusal(d, { alertId: alert.id, ...(d.request ? { requestId: d.request.id } : {}) });
    const r = d.request as RevealRequest;
    await this.requests.update(r.id, (cur) => (cur ? { ...cur, reveals: cur.reveals + 1 } : cur));
    return {
      dualControl: {
        requestId: r.id,
        requestedBy: r.requestedBy,
        approvedBy: r.decidedBy,
        approvedAt: r.decidedAt,
        reason: r.reason,
      },
    };
  }
}
