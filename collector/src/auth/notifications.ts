// Stored notifications for staff roles: things a role must be told about (a DSL account was
// created or reset, capture was switched off on a device). Kept in the store; the notify module
// (notify/staff-feed.ts) sends each new one by email and webhook to the contacts holding the
// role and sets `deliveredAt`; each role reads its own in GET /api/v1/notifications, and each
// one is an audit record. Never put safeguarding content in `subject` or `details`: they leave
// the collector by email.
import type { Role } from '../http/router.ts';
import { randomId } from '../store/records.ts';
import type { AuditStore, KvNamespace } from '../store/types.ts';

export interface StaffNotification {
  id: string;
  at: number;
  /** The role told (every active account with it). */
  to: Role;
  /** Stable kind, e.g. `dsl-account.requested`, `capture.lowered`. */
  kind: string;
  /** One line a person can read. */
  subject: string;
  details: Record<string, unknown>;
  /** Set by the notify module once every email/webhook target has it; null = not delivered outside the console. */
  deliveredAt: number | null;
}

export class Notifications {
  private readonly kv: KvNamespace<StaffNotification>;
  private readonly audit: AuditStore;
  private readonly now: () => number;

  constructor(opts: { kv: KvNamespace<StaffNotification>; audit: AuditStore; now?: () => number }) {
    this.kv = opts.kv;
    this.audit = opts.audit;
    this.now = opts.now ?? Date.now;
  }

  async notify(
    to: Role,
    kind: string,
    subject: string,
    details: Record<string, unknown> = {},
  ): Promise<StaffNotification> {
    const at = this.now();
    // Keys in time order, so the newest-first list is a reverse scan.
    const n: StaffNotification = {
      id: `${String(at).padStart(15, '0')}-${randomId(9)}`,
      at,
      to,
      kind,
      subject,
      details,
      deliveredAt: null,
    };
    await this.kv.put(n.id, n);
    await this.audit.append({
      actor: 'system',
      action: 'notification.created',
      target: `role:${to}`,
      details: { kind, subject, notificationId: n.id },
    });
    return n;
  }

  /** Newest first, for one role. */
  async list(to: Role, limit = 100): Promise<StaffNotification[]> {
    const all = await this.kv.list({ reverse: true });
    return all
      .map((e) => e.value)
      .filter((n) => n.to === to)
      .slice(0, limit);
  }
}

export const NOTIFICATIONS_NS = 'notifications';
