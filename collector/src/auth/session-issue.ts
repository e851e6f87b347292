// The one place a staff session is handed out: after a password (no MFA), after the second step,
// or after an SSO callback. Sets the cookie and audits `auth.login` with how the person got in.
import { ErrorCode } from '@custodian/protocol';
import { HttpError, type Principal, type RequestContext } from '../http/router.ts';
import type { AuditStore } from '../store/types.ts';
import { AUDIT } from './audit.ts';
import { serializeCookie } from './cookies.ts';
import type { SessionRecord } from './sessions.ts';
import type { StaffAuth } from './staff-auth.ts';
import type { UserRecord } from './users.ts';

/** The caller as a signed-in staff account; the API token (or nobody) is refused with 400. */
export function staffPrincipal(p: Principal | undefined): Extract<Principal, { kind: 'staff' }> {
  if (p?.kind !== 'staff')
    throw new HttpError(
      400,
      ErrorCode.INVALID_INPUT,
      'this needs a signed-in staff account, not the API token',
    );
  return p;
}

export type SignInMethod = 'password' | 'password+totp' | 'password+recovery' | 'sso';

export function setSessionCookie(
  auth: StaffAuth,
  ctx: Pick<RequestContext, 'res'>,
  value: string,
  maxAgeS: number,
) {
  ctx.res.setHeader(
    'Set-Cookie',
    serializeCookie(auth.cookieName, value, { secure: auth.secureCookies, maxAgeSeconds: maxAgeS }),
  );
}

export async function issueSession(
  auth: StaffAuth,
  audit: AuditStore,
  ctx: Pick<RequestContext, 'req' | 'res' | 'ip'>,
  user: UserRecord,
  method: SignInMethod,
  details: Record<string, unknown> = {},
): Promise<SessionRecord> {
  const { id, session } = await auth.sessions.create(user.id, {
    ip: ctx.ip,
    userAgent: String(ctx.req.headers['user-agent'] ?? ''),
  });
  setSessionCookie(auth, ctx, id, auth.sessions.ttlMs / 1000);
  await audit.append({
    actor: user.username,
    action: AUDIT.login,
    target: `user:${user.id}`,
    ip: ctx.ip,
    details: { actorKind: 'staff', role: user.role, method, ...details },
  });
  return session;
}
