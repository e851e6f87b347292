// Turns a session cookie into a staff Principal for the server's authenticator chain (the
// admin API token is collector-core's authenticator, first in the chain). Also enforces the
// forced password change: a fresh account may use /auth/me, /auth/password and /auth/logout
// only. CSRF is checked by the server (header X-CSRF-Token = the session's token).
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@custodian/protocol';
import { HttpError, type Principal, type Role, type Router } from '../http/router.ts';
import type { Authenticator } from '../http/server.ts';
import { parseCookies } from './cookies.ts';
import type { SessionService } from './sessions.ts';
import type { UserRecord, UserService } from './users.ts';

export const SESSION_COOKIE = 'custodian_session';
/** With TLS the `__Host-` prefix pins the cookie to this origin, path / and Secure. */
export const SECURE_SESSION_COOKIE = '__Host-custodian_session';

/** Routes a user who must change their password may still call. */
export const PASSWORD_CHANGE_ROUTES: ReadonlySet<string> = new Set([
  'GET /api/v1/auth/me',
  'POST /api/v1/auth/password',
  'POST /api/v1/auth/logout',
]);

/** Routes a user who must first set up an authenticator app may still call. */
export const MFA_ENROLMENT_ROUTES: ReadonlySet<string> = new Set([
  ...PASSWORD_CHANGE_ROUTES,
  'POST /api/v1/auth/mfa/enrol',
  'POST /api/v1/auth/mfa/confirm',
]);

export interface StaffAuthOptions {
  /** Roles whose local accounts need TOTP (the sign-in settings record; admin and dsl always). */
  mfaRoles?: () => Promise<readonly Role[]>;
  users: UserService;
  sessions: SessionService;
  secureCookies: boolean;
  /** Used to tell public routes (where a stale cookie is ignored) from protected ones. */
  router: Router;
}

export class StaffAuth {
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly secureCookies: boolean;
  private readonly router: Router;
  private readonly mfaRoles: () => Promise<readonly Role[]>;

  constructor(opts: StaffAuthOptions) {
    this.mfaRoles = opts.mfaRoles ?? (async () => []);
    this.users = opts.users;
    this.sessions = opts.sessions;
    this.secureCookies = opts.secureCookies;
    this.router = opts.router;
  }

  get cookieName(): string {
    return this.secureCookies ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  }

  /** A local account in a role that needs TOTP, without it yet: it may only enrol. */
  async mustEnrolMfa(user: UserRecord): Promise<boolean> {
    if (user.sso || user.mfa) return false;
    return (await this.mfaRoles()).includes(user.role);
  }

  /** The server's Authenticator: undefined without a cookie; 401/403 with a specific code otherwise. */
  readonly authenticator: Authenticator = (req) => this.authenticate(req);

  async authenticate(req: IncomingMessage): Promise<Principal | undefined> {
    const cookie = parseCookies(req.headers.cookie).get(this.cookieName);
    if (cookie === undefined) return undefined;
    const routeKey = this.routeKey(req);
    // On public routes (login, enrolment, console files) a stale cookie must not get in the way.
    const isPublic = routeKey === undefined || routeKey.access === 'public';
    const found = await this.sessions.lookup(cookie);
    if (!found.ok) {
      if (isPublic) return undefined;
      if (found.reason === 'unknown')
        throw new HttpError(401, ErrorCode.UNAUTHENTICATED, 'not signed in (unknown or ended session)');
      throw new HttpError(
        401,
        ErrorCode.SESSION_EXPIRED,
        found.reason === 'idle'
          ? 'session timed out after inactivity: sign in again'
          : 'session expired: sign in again',
      );
    }
    const user = await this.users.get(found.session.userId);
    if (!user || user.disabled) {
      await this.sessions.revoke(cookie);
      if (isPublic) return undefined;
      throw new HttpError(401, ErrorCode.UNAUTHENTICATED, 'this account is disabled');
    }
    if (user.mustChangePassword && !isPublic && !PASSWORD_CHANGE_ROUTES.has(routeKey.key))
      throw new HttpError(
        403,
        ErrorCode.PASSWORD_CHANGE_REQUIRED,
        'change your password first (POST /api/v1/auth/password)',
      );
    if (!isPublic && !MFA_ENROLMENT_ROUTES.has(routeKey.key) && (await this.mustEnrolMfa(user)))
      throw new HttpError(
        403,
        ErrorCode.MFA_ENROLMENT_REQUIRED,
        'set up an authenticator app first (POST /api/v1/auth/mfa/enrol)',
      );
    return {
      kind: 'staff',
      userId: user.id,
      username: user.username,
      role: user.role,
      sessionId: found.session.idHash,
      csrfToken: found.session.csrfToken,
      // Read from the account at every request: a changed school list applies to the next one.
      ...(user.schools !== undefined ? { schools: user.schools } : {}),
    };
  }

  private routeKey(req: IncomingMessage): { key: string; access: 'public' | readonly string[] } | undefined {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return undefined;
    }
    let m: ReturnType<Router['match']>;
    try {
      m = this.router.match(req.method ?? 'GET', pathname);
    } catch {
      return undefined;
    }
    if (m === undefined || m === 'methodMismatch') return undefined;
    return { key: `${m.route.method} ${m.route.path}`, access: m.route.access };
  }
}
