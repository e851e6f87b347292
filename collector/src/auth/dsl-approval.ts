// Who may become a DSL. The DSL reads everything (alerts, screenshots, incidents), so an admin
// must not be able to turn themselves into one: creating a `dsl` account, re-roling someone to
// `dsl` or resetting a DSL's password is a REQUEST that an existing DSL approves. The one-time
// password of the account is given to the approving DSL (to hand over), never to the admin who
// asked, and must be changed at first sign-in. Every request and decision is audited, and the
// DSLs are told (stored notifications).
//
// Bootstrap: while no DSL account has ever existed, an admin creates (or re-roles) the first DSL
// directly; it too must change its password at first sign-in. After that the bootstrap is
// closed for good (a flag in the store), even if every DSL is later disabled: then a new DSL is
// made on the server itself (`custodian-collector create-dsl`, create-dsl.ts), not over the network.
//
// Tenancy: a request names the schools of the account (`schools`; absent = trust-wide). A school's
// admin asks for a DSL of their own schools; a DSL sees and decides only requests for accounts
// within their own schools (a trust-wide DSL: all), so a school's DSL is approved by its own DSL or
// the trust's, and a school's DSL can never approve a trust-wide one. The bootstrap stays with
// trust-wide admins.
import { ErrorCode } from '@custodian/protocol';
import { HttpError, notFound, type Principal } from '../http/router.ts';
import { randomId } from '../store/records.ts';
import type { AuditStore, KvNamespace } from '../store/types.ts';
import { managesAccount } from '../tenancy/staff-scope.ts';
import { actorDetails, actorName } from './audit.ts';
import type { Notifications } from './notifications.ts';
import type { SessionService } from './sessions.ts';
import type { UserRecord, UserService } from './users.ts';

export type DslRequestKind = 'create' | 'role' | 'reset';

export interface DslRequest {
  id: string;
  kind: DslRequestKind;
  username: string;
  /** The existing account (role, reset). */
  userId?: string;
  displayName?: string;
  /** The account's schools (create: as asked; role, reset: the account's when asked); absent = trust-wide. */
  schools?: readonly string[];
  reason: string;
  requestedBy: string;
  requestedAt: number;
  state: 'pending' | 'approved' | 'rejected';
  decidedBy?: string;
  decidedAt?: number;
}

export const AUDIT_DSL = {
  requested: 'user.dsl-requested',
  approved: 'user.dsl-approved',
  rejected: 'user.dsl-rejected',
  bootstrap: 'user.dsl-bootstrap',
} as const;

const BOOTSTRAP_KEY = 'dsl-bootstrap-closed';

export interface DslApprovalOptions {
  users: UserService;
  sessions: SessionService;
  requests: KvNamespace<DslRequest>;
  /** Small state namespace (the bootstrap flag). */
  state: KvNamespace<{ at: number; by: string }>;
  notifications: Notifications;
  audit: AuditStore;
  now?: () => number;
}

export class DslApproval {
  private readonly o: DslApprovalOptions;
  private readonly now: () => number;

  constructor(o: DslApprovalOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** True while no DSL account has ever existed (the first one may be made directly by an admin). */
  async bootstrapOpen(): Promise<boolean> {
    if (await this.o.state.get(BOOTSTRAP_KEY)) return false;
    return !(await this.o.users.list()).some((u) => u.role === 'dsl');
  }

  async closeBootstrap(by: string): Promise<void> {
    await this.o.state.put(BOOTSTRAP_KEY, { at: this.now(), by });
  }

  async request(
    kind: DslRequestKind,
    fields: {
      username: string;
      userId?: string;
      displayName?: string;
      schools?: readonly string[] | undefined;
      reason: string;
    },
    p: Principal | undefined,
    ip: string,
  ): Promise<DslRequest> {
    const pending = (await this.list()).find(
      (r) => r.state === 'pending' && r.username === fields.username && r.kind === kind,
    );
    if (pending)
      throw new HttpError(
        409,
        ErrorCode.CONFLICT,
        `a ${kind} request for ${fields.username} is already waiting`,
        {
          requestId: pending.id,
        },
      );
    const at = this.now();
    const { schools, ...rest } = fields;
    const req: DslRequest = {
      id: `${String(at).padStart(15, '0')}-${randomId(9)}`,
      kind,
      ...rest,
      ...(schools !== undefined ? { schools: [...schools] } : {}),
      requestedBy: actorName(p),
      requestedAt: at,
      state: 'pending',
    };
    await this.o.requests.put(req.id, req);
    await this.o.audit.append({
      actor: actorName(p),
      action: AUDIT_DSL.requested,
      target: req.userId ? `user:${req.userId}` : `user:${req.username}`,
      details: {
        ...actorDetails(p),
        requestId: req.id,
        kind,
        username: req.username,
        reason: req.reason,
        schools: req.schools ?? null,
      },
      ...(ip ? { ip } : {}),
    });
    await this.o.notifications.notify(
      'dsl',
      'dsl-account.requested',
      `${req.requestedBy} asks to ${describe(kind)} ${req.username}: a DSL must approve or reject it`,
      {
        requestId: req.id,
        kind,
        username: req.username,
        requestedBy: req.requestedBy,
        reason: req.reason,
        schools: req.schools ?? null,
      },
    );
    return req;
  }

  /** Newest first; for a caller, only the requests about accounts within its schools. */
  async list(p?: Principal): Promise<DslRequest[]> {
    const all = (await this.o.requests.list({ reverse: true })).map((e) => e.value);
    return p === undefined ? all : all.filter((r) => managesAccount(p, r));
  }

  /** A DSL approves: the change is made now; the one-time password goes to the approver only. */
  async approve(
    id: string,
    p: Principal | undefined,
    ip: string,
  ): Promise<{ request: DslRequest; user: UserRecord; oneTimePassword: string }> {
    const req = await this.pending(id, p);
    const approver = actorName(p);
    // Claimed first, in one read-modify-write: of two DSLs approving at once (on one collector
    // or two behind the load balancer) one makes the change, the other gets 409.
    const decided = await this.claim(req, 'approved', approver);
    let user: UserRecord;
    let oneTimePassword: string;
    try {
      ({ user, oneTimePassword } = await this.carryOut(req, approver));
    } catch (err) {
      await this.o.requests.update(req.id, (cur) => (cur && cur.decidedAt === decided.decidedAt ? req : cur));
      throw err;
    }
    await this.o.audit.append({
      actor: approver,
      action: AUDIT_DSL.approved,
      target: `user:${user.id}`,
      details: {
        ...actorDetails(p),
        requestId: req.id,
        kind: req.kind,
        username: user.username,
        requestedBy: req.requestedBy,
      },
      ...(ip ? { ip } : {}),
    });
    await this.o.notifications.notify(
      'dsl',
      'dsl-account.approved',
      `${approver} approved: ${describe(req.kind)} ${user.username} (asked by ${req.requestedBy})`,
      {
        requestId: req.id,
        kind: req.kind,
        username: user.username,
        approvedBy: approver,
        schools: req.schools ?? null,
      },
    );
    return { request: decided, user, oneTimePassword };
  }

  /** The change a DSL approved: the account made, re-roled or given a new password. */
  private async carryOut(
    req: DslRequest,
    approver: string,
  ): Promise<{ user: UserRecord; oneTimePassword: string }> {
    let user: UserRecord;
    let oneTimePassword: string;
    if (req.kind === 'create') {
      const made = await this.o.users.create(
        {
          username: req.username,
          displayName: req.displayName ?? req.username,
          role: 'dsl',
          ...(req.schools !== undefined ? { schools: req.schools } : {}),
        },
        `${req.requestedBy} (approved by ${approver})`,
      );
      user = made.user;
      oneTimePassword = made.oneTimePassword as string;
    } else {
      const target = await this.o.users.get(req.userId as string);
      if (!target) throw notFound('user');
      // An SSO account's role is then a person's decision: the group mapping no longer changes it.
      if (req.kind === 'role')
        await this.o.users.update(target.id, {
          role: 'dsl',
          ...(target.sso ? { roleFrom: 'admin' as const } : {}),
        });
      // A re-roled account gets a new password too: whoever knew the old one must not inherit the
      // DSL's view. An SSO account has no password (it signs in at its provider): nothing to hand over.
      if (target.sso) {
        user = (await this.o.users.get(target.id)) as UserRecord;
        oneTimePassword = '';
      } else ({ user, oneTimePassword } = await this.o.users.resetPassword(target.id));
      await this.o.sessions.revokeUser(target.id);
    }
    return { user, oneTimePassword };
  }

  /** Marks a pending request decided, unless someone decided it first (409). */
  private async claim(req: DslRequest, state: 'approved' | 'rejected', by: string): Promise<DslRequest> {
    const decided: DslRequest = { ...req, state, decidedBy: by, decidedAt: this.now() };
    let won = false;
    const now = await this.o.requests.update(req.id, (cur) => {
      if (cur?.state !== 'pending') return cur;
      won = true;
      return decided;
    });
    if (!won)
      throw new HttpError(409, ErrorCode.CONFLICT, `this request was already ${now?.state ?? 'removed'}`);
    return decided;
  }

  async reject(id: string, p: Principal | undefined, ip: string, reason: string): Promise<DslRequest> {
    const req = await this.pending(id, p);
    const by = actorName(p);
    const decided = await this.claim(req, 'rejected', by);
    await this.o.audit.append({
      actor: by,
      action: AUDIT_DSL.rejected,
      target: req.userId ? `user:${req.userId}` : `user:${req.username}`,
      details: { ...actorDetails(p), requestId: req.id, kind: req.kind, username: req.username, reason },
      ...(ip ? { ip } : {}),
    });
    await this.o.notifications.notify(
      'dsl',
      'dsl-account.rejected',
      `${by} rejected: ${describe(req.kind)} ${req.username} (asked by ${req.requestedBy})`,
      {
        requestId: req.id,
        kind: req.kind,
        username: req.username,
        rejectedBy: by,
        schools: req.schools ?? null,
      },
    );
    return decided;
  }

  /** Tells the DSLs about a change to a DSL account that needs no approval (bootstrap, disable, demotion). */
  async tell(kind: string, subject: string, details: Record<string, unknown>): Promise<void> {
    await this.o.notifications.notify('dsl', kind, subject, details);
  }

  private async pending(id: string, p: Principal | undefined): Promise<DslRequest> {
    const req = await this.o.requests.get(id);
    // Another school's request does not exist for this DSL (tenancy: 404, never 403).
    if (!req || !managesAccount(p, req)) throw notFound('request');
    // The account as it is now: moved to a wider scope since the request (by a trust-wide admin),
    // it is no longer this DSL's to decide.
    if (req.userId) {
      const target = await this.o.users.get(req.userId);
      if (target && !managesAccount(p, target))
        throw new HttpError(
          403,
          ErrorCode.FORBIDDEN,
          "this account's schools changed since the request: a DSL of all its schools decides it",
        );
    }
    if (req.state !== 'pending')
      throw new HttpError(409, ErrorCode.CONFLICT, `this request was already ${req.state}`);
    // Nobody approves their own elevation or their own password reset.
    if (p?.kind === 'staff' && (p.userId === req.userId || p.username === req.username))
      throw new HttpError(
        403,
        ErrorCode.FORBIDDEN,
        'another DSL must decide a request about your own account',
      );
    return req;
  }
}

function describe(kind: DslRequestKind): string {
  return kind === 'create'
    ? 'create the DSL account'
    : kind === 'role'
      ? 'make a DSL of'
      : 'reset the password of DSL';
}
