// Staff accounts as a collector module: session cookies for the console, the first admin
// with a one-time password, user management and the audit log API. Wired in modules.ts.
import type { App, AppModule } from '../app.ts';
import { cookiesSecure } from '../config.ts';
import type { Role } from '../http/router.ts';
import { Schools } from '../tenancy/schools.ts';
import { auditRoutes } from './audit-routes.ts';
import { type CheckGateOptions, PasswordCheckGate } from './check-gate.ts';
import { DslApproval, type DslRequest } from './dsl-approval.ts';
import { dslRoutes } from './dsl-routes.ts';
import { type MfaChallenge, MfaService } from './mfa.ts';
import { mfaRoutes } from './mfa-routes.ts';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from './notifications.ts';
import { OidcClient, type PendingSsoUser } from './oidc.ts';
import type { ScryptParams } from './password.ts';
import { authRoutes } from './routes.ts';
import { type SessionRecord, SessionService } from './sessions.ts';
import { SIGN_IN_SETTINGS_NS, type SignInSettings, SignInSettingsStore } from './sign-in-settings.ts';
import { ssoRoutes } from './sso-routes.ts';
import { StaffAuth } from './staff-auth.ts';
import { type Bucket, LoginThrottle, storedBuckets, type ThrottleOptions } from './throttle.ts';
import { type UserRecord, UserService } from './users.ts';

export interface AuthModuleOptions {
  /** Cheaper scrypt for tests; production uses DEFAULT_SCRYPT. */
  scrypt?: ScryptParams;
  throttle?: Partial<ThrottleOptions>;
  /** Concurrent password checks (default: config `auth.*`, else DEFAULT_CHECK_GATE). */
  gate?: Partial<CheckGateOptions>;
  sessionTtlMs?: number;
  sessionIdleMs?: number;
  /** Clock for sessions (tests move it to expire sessions). */
  now?: () => number;
  /**
   * Roles whose local accounts always need TOTP (default: config `auth.mfaRequiredRoles`, which
   * defaults to admin and dsl). The sign-in settings record can add roles, never remove these.
   */
  mfaRequiredRoles?: readonly Role[];
  /** Called once with the first admin's one-time password (default: printed on stdout, outside the JSON log). */
  onFirstAdmin?: (credentials: { username: string; password: string }) => void;
}

export interface InstalledAuth {
  auth: StaffAuth;
  users: UserService;
  sessions: SessionService;
  throttle: LoginThrottle;
  gate: PasswordCheckGate;
  dsl: DslApproval;
  notifications: Notifications;
  settings: SignInSettingsStore;
  mfa: MfaService;
  oidc: OidcClient;
  /** Stops the session sweeper (the module registers it with app.onStop). */
  stop(): void;
}

const SWEEP_MS = 10 * 60_000;

/** The parts of the App this module uses (tests build just these). */
export type AuthHost = Pick<App, 'store' | 'router' | 'authenticators' | 'config' | 'log' | 'audit'> &
  Partial<Pick<App, 'counts' | 'schools'>>;

export async function installAuth(app: AuthHost, options: AuthModuleOptions = {}): Promise<InstalledAuth> {
  // Tests that install auth on a bare host get the registry over the same store.
  const schools = app.schools ?? new Schools(app.store);
  const users = new UserService({
    kv: app.store.kv<UserRecord>('users'),
    withLock: (fn) => app.store.withLock(fn),
    ...(options.scrypt ? { scrypt: options.scrypt } : {}),
  });
  const sessions = new SessionService({
    kv: app.store.kv<SessionRecord>('sessions'),
    ...(options.sessionTtlMs ? { ttlMs: options.sessionTtlMs } : {}),
    ...(options.sessionIdleMs
      ? { idleMs: options.sessionIdleMs }
      : app.config.auth
        ? { idleMs: app.config.auth.sessionIdleMs }
        : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const settings = new SignInSettingsStore(
    app.store.kv<SignInSettings>(SIGN_IN_SETTINGS_NS),
    options.mfaRequiredRoles ?? app.config.auth?.mfaRequiredRoles ?? ['admin', 'dsl'],
  );
  const auth = new StaffAuth({
    mfaRoles: async () => (await settings.read()).mfaRequiredRoles,
    users,
    sessions,
    secureCookies: cookiesSecure(app.config),
    router: app.router,
  });
  // Several collector processes on one database: the buckets are shared through the store.
  const sharedBuckets = (ns: string) =>
    app.store.engine.shared ? storedBuckets(app.store.kv<Bucket>(ns)) : undefined;
  const throttle = new LoginThrottle(
    { ...(options.now ? { now: options.now } : {}), ...options.throttle },
    sharedBuckets('login-throttle'),
  );
  const fromConfig = app.config.auth;
  const gate = new PasswordCheckGate({
    ...(fromConfig
      ? {
          maxConcurrent: fromConfig.maxConcurrentPasswordChecks,
          perIp: fromConfig.maxPasswordChecksPerIp,
        }
      : {}),
    ...options.gate,
  });
  const notifications = new Notifications({
    kv: app.store.kv<StaffNotification>(NOTIFICATIONS_NS),
    audit: app.store.audit,
    ...(options.now ? { now: options.now } : {}),
  });
  const dsl = new DslApproval({
    users,
    sessions,
    requests: app.store.kv<DslRequest>('dsl-requests'),
    state: app.store.kv<{ at: number; by: string }>('auth-state'),
    notifications,
    audit: app.store.audit,
    ...(options.now ? { now: options.now } : {}),
  });
  const mfa = new MfaService({
    users,
    challenges: app.store.kv<MfaChallenge>('mfa-challenges'),
    ...(options.now ? { now: options.now } : {}),
  });
  const mfaThrottle = new LoginThrottle(
    { ...(options.now ? { now: options.now } : {}), ...options.throttle },
    sharedBuckets('mfa-throttle'),
  );
  const oidc = new OidcClient(options.now ? { now: options.now } : {});
  app.authenticators.push(auth.authenticator);
  for (const route of [
    ...authRoutes({
      auth,
      throttle,
      gate,
      dsl,
      settings,
      mfa,
      audit: app.store.audit,
      counts: app.counts,
      schoolExists: (id) => schools.exists(id),
    }),
    ...mfaRoutes({ auth, mfa, throttle: mfaThrottle, audit: app.store.audit }),
    ...ssoRoutes({
      auth,
      oidc,
      settings,
      pending: app.store.kv<PendingSsoUser>('sso-pending'),
      notifications,
      audit: app.store.audit,
      ...(options.now ? { now: options.now } : {}),
    }),
    ...dslRoutes({ dsl, notifications, store: app.store }),
    ...auditRoutes({ audit: app.store.audit, store: app.store }),
  ])
    app.router.add(route);

  const first = await users.ensureFirstAdmin();
  if (first) {
    await app.audit('system', 'user.created', 'user:admin', {
      username: 'admin',
      role: 'admin',
      firstAdmin: true,
    });
    // Printed once, on the terminal only (like the admin token banner), never into the JSON log
    // stream: the account exists from now on and the password must be changed at first sign-in.
    if (options.onFirstAdmin) options.onFirstAdmin(first);
    else
      process.stdout.write(
        [
          'custodian-collector: first staff account created, sign in and change this password now (not shown again)',
          `  first admin: ${first.username}  one-time password: ${first.password}`,
          '',
        ].join('\n'),
      );
    app.log.info(
      { username: first.username },
      'first admin account created; one-time password printed on the terminal',
    );
  }
  const sweeper = setInterval(() => {
    // One collector process sweeps the stored records at a time (PostgreSQL sharedWriters).
    app.store
      .runExclusive('auth-sweep', async () => {
        await sessions.sweep().catch((err) => app.log.warn({ err }, 'session sweep failed'));
        await mfa.sweep().catch((err) => app.log.warn({ err }, 'MFA challenge sweep failed'));
        await throttle.sweep().catch((err) => app.log.warn({ err }, 'throttle sweep failed'));
        await mfaThrottle.sweep().catch((err) => app.log.warn({ err }, 'throttle sweep failed'));
      })
      .catch((err) => app.log.warn({ err }, 'sweep failed'));
    oidc.sweep();
  }, SWEEP_MS);
  sweeper.unref();
  return {
    auth,
    users,
    sessions,
    throttle,
    gate,
    dsl,
    notifications,
    settings,
    mfa,
    oidc,
    stop: () => clearInterval(sweeper),
  };
}

export function createAuthModule(options: AuthModuleOptions = {}): AppModule {
  return {
    name: 'auth',
    async install(app) {
      const installed = await installAuth(app, options);
      app.onStop(installed.stop);
    },
  };
}

export const authModule: AppModule = createAuthModule();
