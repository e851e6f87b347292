// TOTP routes: the second sign-in step (public: the password step's token is the credential),
// enrolment for the signed-in account, and an admin's reset. Every step is audited; codes are
// throttled per (username, address) with the same LoginThrottle as passwords.
import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { HttpError, notFound, ROLES, type Route, route } from '../http/router.ts';
import { Body, IdParams, Reason } from '../http/schema.ts';
import type { AuditStore } from '../store/types.ts';
import { managesAccount } from '../tenancy/staff-scope.ts';
import { AUDIT, audit } from './audit.ts';
import type { MfaService } from './mfa.ts';
import { issueSession, staffPrincipal } from './session-issue.ts';
import type { StaffAuth } from './staff-auth.ts';
import type { LoginThrottle } from './throttle.ts';
import { publicUser } from './users.ts';

export interface MfaRouteDeps {
  auth: StaffAuth;
  mfa: MfaService;
  /** Its own buckets: wrong codes do not lock the password step and vice versa. */
  throttle: LoginThrottle;
  audit: AuditStore;
}

const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit code from the app' });
const MfaToken = Type.String({ minLength: 1, maxLength: 100, description: 'from the password step' });
// Either a TOTP code or a recovery code, never both (one shape each).
const VerifyBody = Type.Union(
  [
    Body({ mfaToken: MfaToken, code: Code }),
    Body({
      mfaToken: MfaToken,
      recoveryCode: Type.String({
        pattern: '^[A-Za-z0-9-]{10,12}$',
        description: 'one of the recovery codes',
      }),
    }),
  ],
  { description: 'mfaToken with either code or recoveryCode' },
);

async function throttled(
  throttle: LoginThrottle,
  key: string,
  ip: string,
  res: { setHeader(n: string, v: string): void },
) {
  const wait = await throttle.begin(key, ip);
  if (wait <= 0) return;
  const seconds = Math.ceil(wait / 1000);
  res.setHeader('Retry-After', String(seconds));
  throw new HttpError(429, ErrorCode.RATE_LIMITED, `too many wrong codes: try again in ${seconds} s`, {
    retryAfterSeconds: seconds,
  });
}

export function mfaRoutes(deps: MfaRouteDeps): Route[] {
  const { auth, mfa, throttle } = deps;
  return [
    route({
      method: 'POST',
      path: '/api/v1/auth/mfa/verify',
      access: 'public',
      // Like login: no session yet; the one-use token from the password step is the credential.
      csrf: false,
      schema: { body: VerifyBody, summary: 'Second sign-in step: a TOTP or recovery code; sets the session' },
      handler: async (ctx) => {
        const b = ctx.input.body;
        const answer = 'code' in b ? { code: b.code } : { recoveryCode: b.recoveryCode };
        const c = await mfa.peek(b.mfaToken);
        if (!c)
          throw new HttpError(
            401,
            ErrorCode.MFA_FAILED,
            'the sign-in has expired: enter your password again',
          );
        await throttled(throttle, c.username, ctx.ip, ctx.res);
        const r = await mfa.answer(b.mfaToken, answer);
        if (!r.ok) {
          await audit(deps.audit, undefined, AUDIT.mfaFailed, `user:${c.userId}`, ctx.ip, {
            username: c.username,
            reason: r.reason,
            kind: 'code' in answer ? 'totp' : 'recovery',
          });
          throw new HttpError(
            401,
            ErrorCode.MFA_FAILED,
            r.reason === 'replay'
              ? 'that code was already used: wait for the next one'
              : r.reason === 'expired'
                ? 'the sign-in has expired: enter your password again'
                : 'wrong code',
          );
        }
        await throttle.succeeded(c.username, ctx.ip);
        await audit(deps.audit, undefined, AUDIT.mfaVerified, `user:${r.user.id}`, ctx.ip, {
          username: r.user.username,
          method: r.method,
          recoveryCodesLeft: r.recoveryLeft,
        });
        const session = await issueSession(
          auth,
          deps.audit,
          ctx,
          r.user,
          r.method === 'totp' ? 'password+totp' : 'password+recovery',
        );
        return {
          user: publicUser(r.user),
          role: r.user.role,
          csrfToken: session.csrfToken,
          mustChangePassword: r.user.mustChangePassword,
          mustEnrolMfa: false,
          expiresAt: session.expiresAt,
          idleTimeoutMs: auth.sessions.idleMs,
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/mfa/enrol',
      access: ROLES,
      tenancy: 'none',
      schema: { body: Body({}), summary: 'Start TOTP enrolment: the secret and otpauth:// URI, shown once' },
      handler: async (ctx) => {
        const p = staffPrincipal(ctx.principal);
        const user = await auth.users.get(p.userId);
        if (!user) throw notFound('user');
        const { secret, uri } = await mfa.startEnrolment(user);
        await audit(deps.audit, p, AUDIT.mfaEnrolStarted, `user:${user.id}`, ctx.ip);
        return { secret, uri };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/mfa/confirm',
      access: ROLES,
      tenancy: 'none',
      schema: {
        body: Body({ code: Code }),
        summary: 'Finish enrolment with a code: answers the recovery codes, shown once',
      },
      handler: async (ctx) => {
        const p = staffPrincipal(ctx.principal);
        await throttled(throttle, p.username, ctx.ip, ctx.res);
        try {
          const { user, recoveryCodes } = await mfa.confirm(p.userId, ctx.input.body.code);
          await throttle.succeeded(p.username, ctx.ip);
          await audit(deps.audit, p, AUDIT.mfaEnabled, `user:${user.id}`, ctx.ip, {
            recoveryCodes: recoveryCodes.length,
          });
          return { user: publicUser(user), recoveryCodes };
        } catch (err) {
          await audit(deps.audit, p, AUDIT.mfaFailed, `user:${p.userId}`, ctx.ip, { kind: 'enrolment' });
          throw err;
        }
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/mfa/recovery-codes',
      access: ROLES,
      tenancy: 'none',
      schema: {
        body: Body({ code: Code }),
        summary:
          'New recovery codes for your own account (TOTP on), after a current code: the old ones stop working; shown once',
      },
      handler: async (ctx) => {
        const p = staffPrincipal(ctx.principal);
        await throttled(throttle, p.username, ctx.ip, ctx.res);
        try {
          const { user, recoveryCodes } = await mfa.renewRecoveryCodes(p.userId, ctx.input.body.code);
          await throttle.succeeded(p.username, ctx.ip);
          await audit(deps.audit, p, AUDIT.mfaRecoveryRenewed, `user:${user.id}`, ctx.ip, {
            recoveryCodes: recoveryCodes.length,
          });
          return { user: publicUser(user), recoveryCodes };
        } catch (err) {
          if (err instanceof HttpError && err.status === 400)
            await audit(deps.audit, p, AUDIT.mfaFailed, `user:${p.userId}`, ctx.ip, {
              kind: 'recovery-renewal',
            });
          throw err;
        }
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/users/:id/mfa-reset',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        params: IdParams('user'),
        body: Body({ reason: Reason() }),
        summary: "Switch a user's TOTP off (lost phone and codes): they enrol again",
      },
      handler: async (ctx) => {
        const id = ctx.input.params.id;
        const before = await auth.users.get(id);
        if (!before || !managesAccount(ctx.principal, before)) throw notFound('user');
        const user = await mfa.reset(id);
        await auth.sessions.revokeUser(id);
        await audit(deps.audit, ctx.principal, AUDIT.mfaReset, `user:${id}`, ctx.ip, {
          username: user.username,
          reason: ctx.input.body.reason,
          wasEnabled: before.mfa !== undefined,
        });
        return { user: publicUser(user) };
      },
    }),
  ];
}
