// Sign-in, sign-out, "who am I" (with the CSRF token), password change, and the admins'
// user management API. Every decision that matters is audited.
import { ErrorCode } from '@custodian/protocol';
import {
  badInput,
  HttpError,
  notFound,
  type Principal,
  type RequestContext,
  ROLES,
  type Route,
} from '../http/router.ts';
import type { MetricCounts } from '../metrics/counts.ts';
import type { AuditStore } from '../store/types.ts';
import { AUDIT, audit } from './audit.ts';
import type { GateTicket, PasswordCheckGate } from './check-gate.ts';
import { serializeCookie } from './cookies.ts';
import { AUDIT_DSL, type DslApproval } from './dsl-approval.ts';
import type { StaffAuth } from './staff-auth.ts';
import type { LoginThrottle } from './throttle.ts';
import { isRole, publicUser, USERNAME, type UserRecord } from './users.ts';

export interface AuthRouteDeps {
  auth: StaffAuth;
  throttle: LoginThrottle;
  /** Caps concurrent password checks (globally and per address). */
  gate: PasswordCheckGate;
  /** Creating, re-roling to or resetting a `dsl` account goes through a DSL's approval. */
  dsl: DslApproval;
  audit: AuditStore;
  /** Sign-in failures and refusals for /metrics (absent in tests that build the module alone). */
  counts?: MetricCounts | undefined;
}

const ALL_ROLES = ROLES;
const ADMIN = ['admin'] as const;

function body(ctx: RequestContext): Record<string, unknown> {
  const b = ctx.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badInput('body must be a JSON object');
  return b as Record<string, unknown>;
}

function staff(p: Principal | undefined): Extract<Principal, { kind: 'staff' }> {
  if (p?.kind !== 'staff')
    throw new HttpError(
      400,
      ErrorCode.INVALID_INPUT,
      'this needs a signed-in staff account, not the API token',
    );
  return p;
}

export function authRoutes(deps: AuthRouteDeps): Route[] {
  const { auth, throttle, gate, dsl } = deps;
  const users = auth.users;
  const sessions = auth.sessions;

  const setSessionCookie = (ctx: RequestContext, value: string, maxAgeSeconds: number) =>
    ctx.res.setHeader(
      'Set-Cookie',
      serializeCookie(auth.cookieName, value, { secure: auth.secureCookies, maxAgeSeconds }),
    );

  /** POST /users with role dsl: the first DSL directly (bootstrap), any later one as a request. */
  async function createDsl(ctx: RequestContext, b: Record<string, unknown>) {
    if (await dsl.bootstrapOpen()) {
      const { user, oneTimePassword } = await users.create(
        {
          username: b.username,
          displayName: b.displayName,
          role: 'dsl',
          password: b.password,
          mustChangePassword: true,
        },
        ctx.principal?.username ?? 'unknown',
      );
      await dsl.closeBootstrap(ctx.principal?.username ?? 'unknown');
      await audit(deps.audit, ctx.principal, AUDIT.userCreated, `user:${user.id}`, ctx.ip, {
        username: user.username,
        newRole: user.role,
        bootstrapDsl: true,
      });
      await audit(deps.audit, ctx.principal, AUDIT_DSL.bootstrap, `user:${user.id}`, ctx.ip, {
        username: user.username,
        kind: 'create',
      });
      ctx.res.statusCode = 201;
      return { user: publicUser(user), ...(oneTimePassword ? { oneTimePassword } : {}) };
    }
    if (b.password !== undefined || b.mustChangePassword !== undefined)
      throw badInput('a DSL account gets its first password from the DSL who approves it: send no password');
    if (typeof b.username !== 'string' || !USERNAME.test(b.username))
      throw badInput('username must be 2-64 characters: lower-case letters, digits, dot, dash, underscore');
    if (b.displayName !== undefined && (typeof b.displayName !== 'string' || b.displayName.length > 200))
      throw badInput('displayName must be a string of at most 200 characters');
    if (b.reason !== undefined && (typeof b.reason !== 'string' || b.reason.length > 1000))
      throw badInput('reason must be a string');
    if (await users.byUsername(b.username))
      throw new HttpError(409, ErrorCode.CONFLICT, `user ${b.username} already exists`);
    const request = await dsl.request(
      'create',
      {
        username: b.username,
        ...(typeof b.displayName === 'string' ? { displayName: b.displayName } : {}),
        reason: typeof b.reason === 'string' ? b.reason : '',
      },
      ctx.principal,
      ctx.ip,
    );
    ctx.res.statusCode = 202;
    return { request };
  }

  return [
    {
      method: 'POST',
      path: '/api/v1/auth/login',
      access: 'public',
      // No session exists yet, so there is no token to check; SameSite=Strict and the JSON-only
      // body (a cross-site form cannot send application/json without a CORS preflight) cover login CSRF.
      csrf: false,
      handler: async (ctx) => {
        const b = body(ctx);
        const { username, password } = b;
        if (typeof username !== 'string' || username.length === 0 || username.length > 64)
          throw badInput('username is required');
        if (typeof password !== 'string' || password.length === 0 || password.length > 1024)
          throw badInput('password is required');
        const name = username.toLowerCase();
        // Admission first (cheap, synchronous): a refused request hashes nothing and counts nothing.
        let ticket: GateTicket;
        try {
          ticket = gate.enter(ctx.ip);
        } catch (err) {
          if (deps.counts) deps.counts.loginBusy++;
          ctx.res.setHeader('Retry-After', '1');
          throw err;
        }
        let user: UserRecord | undefined;
        try {
          // Counted before hashing: of N parallel attempts only the free ones get this far.
          const wait = throttle.begin(name, ctx.ip);
          if (wait > 0) {
            if (deps.counts) deps.counts.loginThrottled++;
            const seconds = Math.ceil(wait / 1000);
            ctx.res.setHeader('Retry-After', String(seconds));
            // Not audited per attempt: a hammering client must not turn each 429 into a synced write.
            // The failure that engaged the throttle is audited below.
            throw new HttpError(
              429,
              ErrorCode.RATE_LIMITED,
              `too many failed sign-ins: try again in ${seconds} s`,
              {
                retryAfterSeconds: seconds,
              },
            );
          }
          await ticket.ready;
          user = await users.verify(name, password);
        } finally {
          ticket.release();
        }
        if (!user) {
          if (deps.counts) deps.counts.loginFailures++;
          const throttledFor = throttle.retryAfterMs(name, ctx.ip);
          await audit(deps.audit, undefined, AUDIT.loginFailed, `user:${name}`, ctx.ip, {
            username: name,
            ...(throttledFor > 0 ? { throttledForMs: throttledFor } : {}),
          });
          // One message for unknown user, wrong password and disabled account: no account probing.
          throw new HttpError(401, ErrorCode.AUTH_FAILED, 'wrong username or password');
        }
        throttle.succeeded(name, ctx.ip);
        const { id, session } = await sessions.create(user.id, {
          ip: ctx.ip,
          userAgent: String(ctx.req.headers['user-agent'] ?? ''),
        });
        setSessionCookie(ctx, id, sessions.ttlMs / 1000);
        await deps.audit.append({
          actor: user.username,
          action: AUDIT.login,
          target: `user:${user.id}`,
          ip: ctx.ip,
          details: { actorKind: 'staff', role: user.role },
        });
        return {
          user: publicUser(user),
          role: user.role,
          csrfToken: session.csrfToken,
          mustChangePassword: user.mustChangePassword,
          expiresAt: session.expiresAt,
          idleTimeoutMs: sessions.idleMs,
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/auth/logout',
      access: ALL_ROLES,
      handler: async (ctx) => {
        const p = ctx.principal;
        if (p?.kind === 'staff') {
          await sessions.revokeByHash(p.sessionId);
          await audit(deps.audit, p, AUDIT.logout, `user:${p.userId}`, ctx.ip);
        }
        setSessionCookie(ctx, '', 0);
        return { ok: true };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/auth/me',
      access: ALL_ROLES,
      handler: async (ctx) => {
        const p = ctx.principal as Principal;
        if (p.kind === 'token') return { kind: 'token', username: p.username, role: p.role, csrfToken: null };
        const user = await users.get(p.userId);
        if (!user) throw notFound('user');
        return {
          kind: 'staff',
          user: publicUser(user),
          role: user.role,
          csrfToken: p.csrfToken,
          mustChangePassword: user.mustChangePassword,
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/auth/password',
      access: ALL_ROLES,
      handler: async (ctx) => {
        const p = staff(ctx.principal);
        const b = body(ctx);
        // Checking the current password and hashing the new one run scrypt: same cap as sign-in.
        let ticket: GateTicket;
        try {
          ticket = gate.enter(ctx.ip);
        } catch (err) {
          ctx.res.setHeader('Retry-After', '1');
          throw err;
        }
        let user: UserRecord;
        try {
          await ticket.ready;
          user = await users.changePassword(p.userId, b.currentPassword, b.newPassword);
        } finally {
          ticket.release();
        }
        // Any other browser still signed in with the old password is signed out.
        const ended = await sessions.revokeUser(p.userId, p.sessionId);
        await audit(deps.audit, p, AUDIT.passwordChanged, `user:${p.userId}`, ctx.ip, {
          otherSessionsEnded: ended,
        });
        return { user: publicUser(user), mustChangePassword: false };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/users',
      access: ADMIN,
      handler: async () => ({
        users: (await users.list()).map(publicUser).sort((a, b) => a.username.localeCompare(b.username)),
      }),
    },
    {
      method: 'POST',
      path: '/api/v1/users',
      access: ADMIN,
      handler: async (ctx) => {
        const b = body(ctx);
        if (b.role === 'dsl') return createDsl(ctx, b);
        const { user, oneTimePassword } = await users.create(
          {
            username: b.username,
            displayName: b.displayName,
            role: b.role,
            password: b.password,
            mustChangePassword: b.mustChangePassword,
          },
          ctx.principal?.username ?? 'unknown',
        );
        await audit(deps.audit, ctx.principal, AUDIT.userCreated, `user:${user.id}`, ctx.ip, {
          username: user.username,
          newRole: user.role,
        });
        ctx.res.statusCode = 201;
        // The generated password is in this response only; it is never stored in clear or logged.
        return { user: publicUser(user), ...(oneTimePassword ? { oneTimePassword } : {}) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/users/:id',
      access: ADMIN,
      handler: async (ctx) => {
        const user = await users.get(ctx.params.id as string);
        if (!user) throw notFound('user');
        return { user: publicUser(user) };
      },
    },
    {
      method: 'PATCH',
      path: '/api/v1/users/:id',
      access: ADMIN,
      handler: async (ctx) => {
        const b = body(ctx);
        const id = ctx.params.id as string;
        const user = await users.get(id);
        if (!user) throw notFound('user');
        const known = new Set(['role', 'disabled', 'displayName', 'reason']);
        const unknown = Object.keys(b).filter((k) => !known.has(k));
        if (unknown.length > 0) throw badInput(`unknown fields: ${unknown.join(', ')}`);
        if (b.role !== undefined && !isRole(b.role))
          throw badInput(`role must be one of ${ROLES.join(', ')}`);
        if (b.disabled !== undefined && typeof b.disabled !== 'boolean')
          throw badInput('disabled must be a boolean');
        if (b.displayName !== undefined && (typeof b.displayName !== 'string' || b.displayName.length > 200))
          throw badInput('displayName must be a string of at most 200 characters');
        const reason = b.reason === undefined ? '' : b.reason;
        if (typeof reason !== 'string' || reason.length > 1000) throw badInput('reason must be a string');
        const roleChange = b.role !== undefined && b.role !== user.role;
        if (roleChange && reason.trim() === '') throw badInput('a reason is required to change a role');
        const losesAdmin =
          user.role === 'admin' && ((roleChange && b.role !== 'admin') || b.disabled === true);
        if (losesAdmin && (await users.otherActiveAdmins(id)) === 0)
          throw new HttpError(
            409,
            ErrorCode.CONFLICT,
            'this is the last active admin: create another admin first',
          );
        if (roleChange && b.role === 'dsl') {
          if (!(await dsl.bootstrapOpen())) {
            if (b.disabled !== undefined || b.displayName !== undefined)
              throw badInput('a change to the dsl role is requested on its own: send only role and reason');
            const request = await dsl.request(
              'role',
              { username: user.username, userId: id, reason },
              ctx.principal,
              ctx.ip,
            );
            ctx.res.statusCode = 202;
            return { request };
          }
          await dsl.closeBootstrap(ctx.principal?.username ?? 'unknown');
          await audit(deps.audit, ctx.principal, AUDIT_DSL.bootstrap, `user:${id}`, ctx.ip, {
            username: user.username,
            kind: 'role',
          });
        }
        const patch: Partial<UserRecord> = {};
        if (roleChange) patch.role = b.role as UserRecord['role'];
        // The first DSL (bootstrap) chooses their own password before reading anything.
        if (roleChange && b.role === 'dsl') patch.mustChangePassword = true;
        if (typeof b.disabled === 'boolean') patch.disabled = b.disabled;
        if (typeof b.displayName === 'string') patch.displayName = b.displayName;
        const next = await users.update(id, patch);
        const target = `user:${id}`;
        if (roleChange)
          await audit(deps.audit, ctx.principal, AUDIT.userRoleChanged, target, ctx.ip, {
            username: user.username,
            from: user.role,
            to: next.role,
            reason,
          });
        if (typeof b.disabled === 'boolean' && b.disabled !== user.disabled)
          await audit(
            deps.audit,
            ctx.principal,
            b.disabled ? AUDIT.userDisabled : AUDIT.userEnabled,
            target,
            ctx.ip,
            {
              username: user.username,
              reason,
            },
          );
        if (typeof b.displayName === 'string' && b.displayName !== user.displayName)
          await audit(deps.audit, ctx.principal, AUDIT.userUpdated, target, ctx.ip, {
            username: user.username,
          });
        // A changed role or a disabled account takes effect now, not at the next sign-in.
        if (roleChange || b.disabled === true) await sessions.revokeUser(id);
        const dslChanged =
          (roleChange && (user.role === 'dsl' || next.role === 'dsl')) ||
          (user.role === 'dsl' && b.disabled === true);
        if (dslChanged)
          await dsl.tell(
            'dsl-account.changed',
            `${ctx.principal?.username ?? 'unknown'} changed DSL account ${user.username}: ${
              roleChange ? `role ${user.role} → ${next.role}` : 'disabled'
            }`,
            { username: user.username, from: user.role, to: next.role, disabled: next.disabled, reason },
          );
        return { user: publicUser(next) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/users/:id/reset-password',
      access: ADMIN,
      handler: async (ctx) => {
        const id = ctx.params.id as string;
        const target = await users.get(id);
        if (!target) throw notFound('user');
        if (target.role === 'dsl') {
          // The admin would learn the new password: a DSL approves, and receives it.
          const b = (ctx.body ?? {}) as Record<string, unknown>;
          const reason = typeof b.reason === 'string' ? b.reason.slice(0, 1000) : '';
          const request = await dsl.request(
            'reset',
            { username: target.username, userId: id, reason },
            ctx.principal,
            ctx.ip,
          );
          ctx.res.statusCode = 202;
          return { request };
        }
        const { user, oneTimePassword } = await users.resetPassword(id);
        await sessions.revokeUser(id);
        await audit(deps.audit, ctx.principal, AUDIT.userPasswordReset, `user:${id}`, ctx.ip, {
          username: user.username,
        });
        return { user: publicUser(user), oneTimePassword };
      },
    },
  ];
}
