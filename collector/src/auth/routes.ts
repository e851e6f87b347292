// Sign-in, sign-out, "who am I" (with the CSRF token), password change, and the admins'
// user management API. Every decision that matters is audited.
import { ErrorCode } from '@custodian/protocol';
import { type Static, Type } from '@sinclair/typebox';
import {
  badInput,
  HttpError,
  notFound,
  type Principal,
  type RequestContext,
  ROLES,
  type Route,
  route,
} from '../http/router.ts';
import { Body, IdParams, Literals, Text } from '../http/schema.ts';
import type { MetricCounts } from '../metrics/counts.ts';
import type { AuditStore } from '../store/types.ts';
import { SchoolId } from '../tenancy/schema.ts';
import { AUDIT_SCHOOLS } from '../tenancy/schools.ts';
import { decideAccountSchools, managesAccount, sameSchools } from '../tenancy/staff-scope.ts';
import { AUDIT, audit } from './audit.ts';
import type { GateTicket, PasswordCheckGate } from './check-gate.ts';
import { serializeCookie } from './cookies.ts';
import { AUDIT_DSL, type DslApproval } from './dsl-approval.ts';
import type { MfaService } from './mfa.ts';
import { issueSession, staffPrincipal } from './session-issue.ts';
import type { SignInSettingsStore } from './sign-in-settings.ts';
import type { StaffAuth } from './staff-auth.ts';
import type { LoginThrottle } from './throttle.ts';
import { DisplayName, publicUser, Username, type UserRecord } from './users.ts';

export interface AuthRouteDeps {
  auth: StaffAuth;
  throttle: LoginThrottle;
  /** Caps concurrent password checks (globally and per address). */
  gate: PasswordCheckGate;
  /** Creating, re-roling to or resetting a `dsl` account goes through a DSL's approval. */
  dsl: DslApproval;
  audit: AuditStore;
  settings: SignInSettingsStore;
  mfa: MfaService;
  /** Sign-in failures and refusals for /metrics (absent in tests that build the module alone). */
  counts?: MetricCounts | undefined;
  /** Whether a school exists (tenancy/schools.ts), for an account's school list. */
  schoolExists: (id: string) => Promise<boolean>;
}

const ALL_ROLES = ROLES;
const ADMIN = ['admin'] as const;

const Password = (description: string) => Type.String({ maxLength: 1024, description });
const StaffReason = Text(0, 1000, 'why (kept in the audit log)');
const LoginBody = Body({
  username: Type.String({ minLength: 1, maxLength: 64, description: 'your username' }),
  password: Type.String({ minLength: 1, maxLength: 1024, description: 'your password' }),
});
const PasswordBody = Body({
  currentPassword: Password('your current (or one-time) password'),
  newPassword: Password('the new password: at least 12 characters, not containing your username'),
});
const SchoolList = Type.Array(SchoolId(), {
  minItems: 1,
  maxItems: 200,
  description:
    'the schools this account may see (absent = trust-wide for a trust-wide admin, your own schools for a school admin)',
});
const NewUserBody = Body({
  username: Username,
  displayName: Type.Optional(DisplayName),
  role: Literals(ROLES, 'what the account may do'),
  password: Type.Optional(Password('a first password; leave out to get a one-time password to hand over')),
  mustChangePassword: Type.Optional(
    Type.Boolean({ description: 'must change it at first sign-in (default true)' }),
  ),
  schools: Type.Optional(SchoolList),
  reason: Type.Optional(StaffReason),
});
const UserPatchBody = Body({
  role: Type.Optional(Literals(ROLES, 'the new role')),
  disabled: Type.Optional(Type.Boolean({ description: 'true to disable the account (its sessions end)' })),
  displayName: Type.Optional(DisplayName),
  schools: Type.Optional(
    Type.Union([SchoolList, Type.Null()], {
      description: 'the schools this account may see, or null for trust-wide (trust-wide admins only)',
    }),
  ),
  reason: Type.Optional(StaffReason),
});
const UserParams = IdParams('user');

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
  async function createDsl(ctx: RequestContext, b: Static<typeof NewUserBody>) {
    // A school's admin asks for a DSL of their own schools (a DSL of those schools, or the trust's,
    // approves); the first DSL of all (bootstrap) is made by a trust-wide admin.
    const scoped = ctx.principal?.kind === 'staff' && ctx.principal.schools !== undefined;
    const bootstrap = await dsl.bootstrapOpen();
    if (bootstrap && scoped)
      throw new HttpError(403, ErrorCode.FORBIDDEN, 'the first DSL account is created by a trust-wide admin');
    if (bootstrap) {
      const { user, oneTimePassword } = await users.create(
        {
          username: b.username,
          displayName: b.displayName,
          role: 'dsl',
          password: b.password,
          mustChangePassword: true,
          schools: await decideAccountSchools(ctx.principal, b.schools, undefined, deps.schoolExists, true),
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
      throw badInput('a DSL account gets its first password from the DSL who approves it: send no password', {
        field: 'body.password',
      });
    const schools = await decideAccountSchools(ctx.principal, b.schools, undefined, deps.schoolExists, true);
    if (await users.byUsername(b.username))
      throw new HttpError(409, ErrorCode.CONFLICT, `user ${b.username} already exists`);
    const request = await dsl.request(
      'create',
      {
        username: b.username,
        ...(b.displayName !== undefined ? { displayName: b.displayName } : {}),
        schools,
        reason: b.reason ?? '',
      },
      ctx.principal,
      ctx.ip,
    );
    ctx.res.statusCode = 202;
    return { request };
  }

  return [
    route({
      method: 'POST',
      path: '/api/v1/auth/login',
      access: 'public',
      // No session exists yet, so there is no token to check; SameSite=Strict and the JSON-only
      // body (a cross-site form cannot send application/json without a CORS preflight) cover login CSRF.
      csrf: false,
      schema: { body: LoginBody, summary: 'Sign in: sets the session cookie, answers the CSRF token' },
      handler: async (ctx) => {
        const { username, password } = ctx.input.body;
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
          const wait = await throttle.begin(name, ctx.ip);
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
          const throttledFor = await throttle.retryAfterMs(name, ctx.ip);
          await audit(deps.audit, undefined, AUDIT.loginFailed, `user:${name}`, ctx.ip, {
            username: name,
            ...(throttledFor > 0 ? { throttledForMs: throttledFor } : {}),
          });
          // One message for unknown user, wrong password and disabled account: no account probing.
          throw new HttpError(401, ErrorCode.AUTH_FAILED, 'wrong username or password');
        }
        await throttle.succeeded(name, ctx.ip);
        const settings = await deps.settings.read();
        if ((settings.localLoginDisabledRoles as readonly string[]).includes(user.role)) {
          await audit(deps.audit, undefined, AUDIT.loginRefused, `user:${user.id}`, ctx.ip, {
            username: user.username,
            reason: 'local-login-disabled',
            role: user.role,
          });
          throw new HttpError(
            403,
            ErrorCode.LOCAL_LOGIN_DISABLED,
            'password sign-in is switched off for your role: use "Sign in with" your school account',
          );
        }
        if (user.mfa) {
          // Two steps: no session until the code (mfa-routes.ts, POST /auth/mfa/verify).
          const challenge = await deps.mfa.challenge(user);
          await audit(deps.audit, undefined, AUDIT.mfaChallenged, `user:${user.id}`, ctx.ip, {
            username: user.username,
          });
          return { mfaRequired: true, mfaToken: challenge.token, expiresAt: challenge.expiresAt };
        }
        const session = await issueSession(auth, deps.audit, ctx, user, 'password');
        return {
          user: publicUser(user),
          role: user.role,
          csrfToken: session.csrfToken,
          mustChangePassword: user.mustChangePassword,
          mustEnrolMfa: await auth.mustEnrolMfa(user),
          schools: user.schools ?? null,
          expiresAt: session.expiresAt,
          idleTimeoutMs: sessions.idleMs,
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/logout',
      access: ALL_ROLES,
      tenancy: 'none',
      schema: { body: Body({}), summary: 'Sign out' },
      handler: async (ctx) => {
        const p = ctx.principal;
        if (p?.kind === 'staff') {
          await sessions.revokeByHash(p.sessionId);
          await audit(deps.audit, p, AUDIT.logout, `user:${p.userId}`, ctx.ip);
        }
        setSessionCookie(ctx, '', 0);
        return { ok: true };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/auth/me',
      access: ALL_ROLES,
      tenancy: 'none',
      schema: { summary: 'Who is signed in, and the CSRF token' },
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
          mustEnrolMfa: await auth.mustEnrolMfa(user),
          schools: user.schools ?? null,
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/password',
      access: ALL_ROLES,
      tenancy: 'none',
      schema: { body: PasswordBody, summary: 'Change your password (other sessions end)' },
      handler: async (ctx) => {
        const p = staffPrincipal(ctx.principal);
        const b = ctx.input.body;
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
    }),
    route({
      method: 'GET',
      path: '/api/v1/users',
      access: ADMIN,
      tenancy: 'school',
      schema: { summary: 'Staff accounts (a school admin: those of their own schools)' },
      handler: async (ctx) => ({
        users: (await users.list())
          .filter((u) => managesAccount(ctx.principal, u))
          .map(publicUser)
          .sort((a, b) => a.username.localeCompare(b.username)),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/users',
      access: ADMIN,
      tenancy: 'school',
      schema: { body: NewUserBody, summary: 'Create a staff account (a DSL needs a DSL to approve)' },
      handler: async (ctx) => {
        const b = ctx.input.body;
        if (b.role === 'dsl') return createDsl(ctx, b);
        const schools = await decideAccountSchools(
          ctx.principal,
          b.schools,
          undefined,
          deps.schoolExists,
          true,
        );
        const { user, oneTimePassword } = await users.create(
          {
            username: b.username,
            displayName: b.displayName,
            role: b.role,
            password: b.password,
            mustChangePassword: b.mustChangePassword,
            schools,
          },
          ctx.principal?.username ?? 'unknown',
        );
        await audit(deps.audit, ctx.principal, AUDIT.userCreated, `user:${user.id}`, ctx.ip, {
          username: user.username,
          newRole: user.role,
          schools: schools ?? 'all',
        });
        ctx.res.statusCode = 201;
        // The generated password is in this response only; it is never stored in clear or logged.
        return { user: publicUser(user), ...(oneTimePassword ? { oneTimePassword } : {}) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/users/:id',
      access: ADMIN,
      tenancy: 'school',
      schema: { params: UserParams, summary: 'One staff account' },
      handler: async (ctx) => {
        const user = await users.get(ctx.input.params.id);
        if (!user || !managesAccount(ctx.principal, user)) throw notFound('user');
        return { user: publicUser(user) };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/v1/users/:id',
      access: ADMIN,
      tenancy: 'school',
      schema: { params: UserParams, body: UserPatchBody, summary: 'Change role, schools, disable, rename' },
      handler: async (ctx) => {
        const b = ctx.input.body;
        const { id } = ctx.input.params;
        const user = await users.get(id);
        if (!user || !managesAccount(ctx.principal, user)) throw notFound('user');
        const reason = b.reason ?? '';
        const schools = await decideAccountSchools(
          ctx.principal,
          b.schools,
          user.schools,
          deps.schoolExists,
          false,
        );
        const schoolsChange = !sameSchools(schools, user.schools);
        if (schoolsChange && reason.trim() === '')
          throw badInput("a reason is required to change an account's schools", { field: 'body.reason' });
        if (
          schoolsChange &&
          user.role === 'admin' &&
          user.schools === undefined &&
          (await users.otherTrustWideAdmins(id)) === 0
        )
          throw new HttpError(
            409,
            ErrorCode.CONFLICT,
            'this is the last trust-wide admin: make another admin trust-wide first',
          );
        const roleChange = b.role !== undefined && b.role !== user.role;
        if (roleChange && reason.trim() === '')
          throw badInput('a reason is required to change a role', { field: 'body.reason' });
        const losesAdmin =
          user.role === 'admin' && ((roleChange && b.role !== 'admin') || b.disabled === true);
        if (
          losesAdmin &&
          ((await users.otherActiveAdmins(id)) === 0 ||
            (user.schools === undefined && (await users.otherTrustWideAdmins(id)) === 0))
        )
          throw new HttpError(
            409,
            ErrorCode.CONFLICT,
            'this is the last active admin: create another admin first',
          );
        if (roleChange && b.role === 'dsl') {
          const bootstrap = await dsl.bootstrapOpen();
          if (bootstrap && ctx.principal?.kind === 'staff' && ctx.principal.schools)
            throw new HttpError(
              403,
              ErrorCode.FORBIDDEN,
              'the first DSL account is made by a trust-wide admin',
            );
          if (!bootstrap) {
            // Anything else sent with it would be lost (the request carries the role only).
            if (b.disabled !== undefined || b.displayName !== undefined || b.schools !== undefined)
              throw badInput('a change to the dsl role is requested on its own: send only role and reason');
            const request = await dsl.request(
              'role',
              { username: user.username, userId: id, schools: user.schools, reason },
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
        if (roleChange && b.role !== undefined) patch.role = b.role;
        // A role a person gives an SSO account stays: the group mapping no longer changes it.
        if (roleChange && user.sso) patch.roleFrom = 'admin';
        // The first DSL (bootstrap) chooses their own password before reading anything (an SSO
        // account has none: it signs in at its provider).
        if (roleChange && b.role === 'dsl' && !user.sso) patch.mustChangePassword = true;
        if (typeof b.disabled === 'boolean') patch.disabled = b.disabled;
        if (typeof b.displayName === 'string') patch.displayName = b.displayName;
        const next = await users.modify(id, (u) => {
          const { schools: _old, ...rest } = { ...u, ...patch };
          return schools === undefined ? rest : { ...rest, schools };
        });
        const target = `user:${id}`;
        if (schoolsChange)
          await audit(deps.audit, ctx.principal, AUDIT_SCHOOLS.userSchoolsChanged, target, ctx.ip, {
            username: user.username,
            from: user.schools ?? 'all',
            to: schools ?? 'all',
            reason,
          });
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
    }),
    route({
      method: 'POST',
      path: '/api/v1/users/:id/reset-password',
      access: ADMIN,
      tenancy: 'school',
      schema: {
        params: UserParams,
        body: Body({ reason: Type.Optional(StaffReason) }),
        summary: 'New one-time password (for a DSL: a DSL approves and receives it)',
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        const target = await users.get(id);
        if (!target || !managesAccount(ctx.principal, target)) throw notFound('user');
        if (target.sso)
          throw new HttpError(
            409,
            ErrorCode.CONFLICT,
            'an SSO account has no password: it signs in at its provider',
          );
        if (target.role === 'dsl') {
          // The admin would learn the new password: a DSL approves, and receives it.
          const reason = ctx.input.body.reason ?? '';
          const request = await dsl.request(
            'reset',
            { username: target.username, userId: id, schools: target.schools, reason },
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
    }),
  ];
}
