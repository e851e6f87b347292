// Per-route access test (issue 7): every route of the REAL app (all teams' modules) × every
// kind of caller, checked twice — the declared rule against the table below, and the server's
// actual answer over HTTP. A route missing from the table fails the test, so a new route
// cannot ship without someone deciding who may call it.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../test/support/test-store.ts';
import { type App, createApp } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import { mayCall, type Principal, type Route } from '../src/http/router.ts';
import { createLogger } from '../src/log.ts';
import { createStaffClient } from './auth/harness.ts';
import { passwordOnly } from './helpers/password-only.ts';

type Who = 'anonymous' | 'token' | 'admin' | 'it' | 'dsl' | 'governor';
const CALLERS: readonly Who[] = ['anonymous', 'token', 'admin', 'it', 'dsl', 'governor'];
const STAFF = ['admin', 'it', 'dsl', 'governor'] as const;

// `token` is the admin API token (an admin principal for automation).
const P = 'public' as const;
const ADMIN: Who[] = ['admin', 'token'];
const IT_ADMIN: Who[] = ['admin', 'token', 'it'];
const DEVICE_READERS: Who[] = ['admin', 'token', 'it', 'dsl'];
const SIGNED_IN: Who[] = ['admin', 'token', 'it', 'dsl', 'governor'];
const DSL: Who[] = ['dsl'];
const NOTIFY: Who[] = ['admin', 'token', 'dsl'];

/** Who may call each route. Decide here when you add a route. */
export const ACCESS_TABLE: Record<string, typeof P | readonly Who[]> = {
  // collector-core: health, enrolment, devices, policy, live feed, retention
  'GET /api/v1/health': P,
  'GET /api/v1/openapi.json': P, // the API contract: routes and schemas, no data
  'GET /api/v1/agreement': P,
  // the agreement's text is the school's: an admin publishes versions; admin and DSL export who accepted
  'PUT /api/v1/agreement': ADMIN,
  'GET /api/v1/agreement/versions': ['admin', 'token', 'dsl'],
  'GET /api/v1/agreement/acceptances': ['admin', 'token', 'dsl'],
  'POST /api/v1/enrol': P,
  'POST /api/v1/enrol/codes': ADMIN,
  'GET /api/v1/enrol/codes': ADMIN,
  'POST /api/v1/enrol/secret/rotate': ADMIN,
  'POST /api/v1/enrol/claim': P,
  'GET /api/v1/enrol/replacements': IT_ADMIN,
  'POST /api/v1/enrol/replacements/:id/approve': IT_ADMIN,
  'POST /api/v1/enrol/replacements/:id/deny': IT_ADMIN,
  'GET /api/v1/devices': DEVICE_READERS,
  'GET /api/v1/devices/:id': DEVICE_READERS,
  'GET /api/v1/devices/:id/timeline': DEVICE_READERS,
  'GET /api/v1/devices/:id/streams': IT_ADMIN,
  'POST /api/v1/devices/:id/revoke': IT_ADMIN,
  'POST /api/v1/devices/:id/commands': IT_ADMIN,
  'POST /api/v1/devices/:id/retire': IT_ADMIN,
  'GET /api/v1/policy': DEVICE_READERS,
  'PUT /api/v1/policy': IT_ADMIN,
  'GET /api/v1/devices/:id/policy': DEVICE_READERS,
  'PUT /api/v1/devices/:id/policy': IT_ADMIN,
  'GET /api/v1/policy/changes': ['admin', 'token', 'it', 'dsl', 'governor'], // governors: anonymised
  // tenancy: school and group policy layers, device groups (school-scoped staff: their schools only)
  'GET /api/v1/policy/schools/:schoolId': DEVICE_READERS,
  'PUT /api/v1/policy/schools/:schoolId': ADMIN,
  'GET /api/v1/policy/schools/:schoolId/changes': SIGNED_IN, // governors: anonymised
  'GET /api/v1/policy/groups/:groupId': DEVICE_READERS,
  'PUT /api/v1/policy/groups/:groupId': ADMIN,
  'GET /api/v1/policy/groups/:groupId/changes': SIGNED_IN, // governors: anonymised
  'GET /api/v1/devices/:id/policy/layers': DEVICE_READERS,
  'GET /api/v1/groups': DEVICE_READERS,
  'POST /api/v1/groups': ADMIN,
  'PATCH /api/v1/groups/:groupId': ADMIN,
  'DELETE /api/v1/groups/:groupId': ADMIN,
  'PUT /api/v1/devices/:id/group': ADMIN,
  'GET /api/v1/live': DEVICE_READERS,
  'POST /api/v1/retention/purge': ADMIN,
  'GET /api/v1/retention/runs': ADMIN,
  // tenancy (src/tenancy): every staff role lists the schools in its scope; creating, renaming and
  // moving a device between schools are a trust-wide admin's (tenancy-access.test.ts)
  'GET /api/v1/schools': SIGNED_IN,
  'POST /api/v1/schools': ADMIN,
  'PATCH /api/v1/schools/:id': ADMIN,
  'POST /api/v1/devices/:id/school': ADMIN,
  // device health queue and settings, stale devices and bulk leaver actions (src/health, issue 18)
  'GET /api/v1/device-health/alerts': IT_ADMIN,
  'POST /api/v1/device-health/alerts/:id/acknowledge': IT_ADMIN,
  'POST /api/v1/device-health/alerts/:id/resolve': IT_ADMIN,
  'POST /api/v1/device-health/check': IT_ADMIN,
  'GET /api/v1/device-health/settings': IT_ADMIN,
  'PUT /api/v1/device-health/settings': IT_ADMIN,
  'GET /api/v1/lifecycle/stale': IT_ADMIN,
  'GET /api/v1/lifecycle/stale/report': IT_ADMIN,
  'POST /api/v1/lifecycle/bulk': IT_ADMIN,
  // Prometheus scrape (metrics/metrics.ts): the admin token only, no staff session (tokenOnly);
  // config metrics.allowFrom also opens it to listed addresses (collector/test/metrics/metrics.test.ts)
  'GET /metrics': ['token'],
  // auth: sign-in, users, audit
  'POST /api/v1/auth/login': P,
  'POST /api/v1/auth/logout': SIGNED_IN,
  'GET /api/v1/auth/me': SIGNED_IN,
  'POST /api/v1/auth/password': SIGNED_IN,
  'GET /api/v1/users': ADMIN,
  'POST /api/v1/users': ADMIN,
  'GET /api/v1/users/:id': ADMIN,
  'PATCH /api/v1/users/:id': ADMIN,
  'POST /api/v1/users/:id/reset-password': ADMIN,
  'GET /api/v1/audit': ADMIN,
  // SSO (issue 19): start and callback are public — the browser arrives from the provider with no
  // session; state, nonce, PKCE and the browser-binding cookie are the checks (auth/oidc.ts)
  'GET /api/v1/auth/sso/providers': P, // ids and button labels only
  'GET /api/v1/auth/sso/:provider/start': P,
  'GET /api/v1/auth/sso/:provider/callback': P,
  'GET /api/v1/auth/sso/pending': ADMIN,
  'POST /api/v1/auth/sso/pending/:id/assign': ADMIN,
  'POST /api/v1/auth/sso/pending/:id/refuse': ADMIN,
  'GET /api/v1/auth/sign-in-settings': ADMIN,
  'PUT /api/v1/auth/sign-in-settings': ADMIN,
  // TOTP: the second step is public (its one-use token from the password step is the credential)
  'POST /api/v1/auth/mfa/verify': P,
  'POST /api/v1/auth/mfa/enrol': SIGNED_IN, // the API token gets 400 (staff accounts only)
  'POST /api/v1/auth/mfa/confirm': SIGNED_IN,
  'POST /api/v1/auth/mfa/recovery-codes': SIGNED_IN, // own account, a current code (mfa-http.test.ts)
  'POST /api/v1/users/:id/mfa-reset': ADMIN,
  // DSL accounts need a DSL's approval (issue 10 item 6); notifications, each role its own
  'GET /api/v1/dsl-requests': ['dsl', 'admin', 'token'],
  'POST /api/v1/dsl-requests/:id/approve': DSL,
  'POST /api/v1/dsl-requests/:id/reject': DSL,
  'GET /api/v1/notifications': SIGNED_IN, // each role its own (auth/notifications-feed.test.ts)
  // safeguarding: DSL only (not admin, not the admin token: see safeguarding/roles.ts)
  'GET /api/v1/alerts': DSL,
  'GET /api/v1/alerts/live': DSL,
  'GET /api/v1/alerts/:id': DSL,
  'POST /api/v1/alerts/:id/grade': DSL,
  'POST /api/v1/alerts/:id/false-positive': DSL,
  'POST /api/v1/alerts/:id/notes': DSL,
  'POST /api/v1/alerts/:id/escalate': DSL,
  'GET /api/v1/alerts/:id/screenshots/:blobId': DSL,
  'GET /api/v1/alerts/:id/export': DSL,
  'POST /api/v1/alerts/:id/acknowledge': DSL, // stops the notification rota
  'POST /api/v1/alerts/:id/viewed': DSL, // the console records the DSL opening an alert
  'GET /api/v1/incidents': DSL,
  'POST /api/v1/incidents': DSL,
  'GET /api/v1/incidents/:id': DSL,
  'PATCH /api/v1/incidents/:id': DSL,
  'GET /api/v1/incidents/:id/export': DSL,
  // CSV/JSON exports for CPOMS, MyConcern, a chronology (safeguarding/export-routes.ts)
  'GET /api/v1/exports/incidents': DSL,
  'GET /api/v1/exports/incidents/:id': DSL,
  'GET /api/v1/exports/alerts': DSL,
  'GET /api/v1/exports/alerts/:id': DSL,
  // dual control for revealing screenshots (safeguarding/dual-control-routes.ts)
  'GET /api/v1/dual-control/settings': DSL,
  'PUT /api/v1/dual-control/settings': DSL,
  'POST /api/v1/dual-control/settings/approve': DSL,
  'GET /api/v1/dual-control/requests': DSL,
  'GET /api/v1/alerts/:id/reveal-access': DSL,
  'POST /api/v1/alerts/:id/reveal-requests': DSL,
  'POST /api/v1/dual-control/requests/:id/approve': DSL,
  'POST /api/v1/dual-control/requests/:id/reject': DSL,
  // notification settings (notify/routes.ts): the DSL decides where alerts go, admins run the relay;
  // not IT, not governors (the contacts and rota are the DSL's)
  'GET /api/v1/notify/settings': NOTIFY,
  'PUT /api/v1/notify/settings': NOTIFY,
  'POST /api/v1/notify/webhooks': NOTIFY,
  'DELETE /api/v1/notify/webhooks/:id': NOTIFY,
  'POST /api/v1/notify/test': NOTIFY,
  'GET /api/v1/notify/outbox': NOTIFY,
  'GET /api/v1/notify/deliveries': NOTIFY,
  // a school's own notify layer (notify/school-routes.ts): the same people, for their own schools
  'GET /api/v1/notify/schools/:schoolId/settings': NOTIFY,
  'PUT /api/v1/notify/schools/:schoolId/settings': NOTIFY,
  'DELETE /api/v1/notify/schools/:schoolId/settings': NOTIFY,
  // data protection (issue 19): subject access archives — the DSL only (data-protection/README.md
  // "Who runs subject access"); erasure — the DSL and admins (the admin token is an admin
  // principal); content-level checks in data-protection/*.test.ts
  'GET /api/v1/data-protection/subject-access': DSL, // the archive holds alerts and screenshots
  'POST /api/v1/data-protection/erasures': ['dsl', 'admin', 'token'],
  'GET /api/v1/data-protection/erasures': ['dsl', 'admin', 'token'],
  // reports: governors get the anonymised variant (checked in safeguarding/reports.test.ts)
  'GET /api/v1/reports/termly': ['governor', 'dsl', 'admin', 'token'],
  // views of safeguarding content by role and month, no names (safeguarding/read-audit.test.ts)
  'GET /api/v1/reports/reads': ['governor', 'dsl', 'admin', 'token'],
  // the DPIA draft (dpia/): admin and DSL read it; the school's facts for it are the admin's
  'GET /api/v1/dpia': ['admin', 'token', 'dsl'],
  'GET /api/v1/dpia/document': ['admin', 'token', 'dsl'],
  'GET /api/v1/dpia/versions': ['admin', 'token', 'dsl'],
  'PUT /api/v1/dpia/settings': ADMIN,
  // console shell pages (public: the page itself holds no data; the API decides)
  'GET /': P,
  'GET /console': P,
  'GET /enrol': P,
  // browser extension for force-install by policy (browsers fetch without credentials)
  'GET /ext/updates.xml': P,
  'GET /ext/custodian.crx': P,
  'GET /ext/extension-id': P,
};

/**
 * Console static assets: one route per file. Public GETs under /console/ with a file
 * extension are covered by this one rule; anything else under /console/ needs its own entry.
 */
function tableEntry(r: Route): typeof P | readonly Who[] | undefined {
  const key = `${r.method} ${r.path}`;
  if (key in ACCESS_TABLE) return ACCESS_TABLE[key];
  if (r.method === 'GET' && /^\/console\/[A-Za-z0-9/_-]+\.(js|css|svg|html)$/.test(r.path)) return P;
  return undefined;
}

function principalFor(who: Who): Principal | undefined {
  if (who === 'anonymous') return undefined;
  if (who === 'token') return { kind: 'token', role: 'admin', username: 'admin-token' };
  return { kind: 'staff', userId: 'u', username: who, role: who, sessionId: 's', csrfToken: 'c' };
}

const ADMIN_TOKEN = 'access-test-admin-token-0123456789abcdefghij';
const PASSWORD = 'access test password 1234';
let app: App;
let url: string;
let dir: string;
const cookies = new Map<Who, { cookie: string; csrf: string }>();

async function call(route: Route, who: Who, opts: { csrf?: boolean } = {}) {
  const path = route.path.replace(/:[a-zA-Z]+/g, 'access-test-id');
  const headers: Record<string, string> = {};
  if (who === 'token') headers.authorization = `Bearer ${ADMIN_TOKEN}`;
  const session = cookies.get(who);
  if (session) {
    headers.cookie = session.cookie;
    if (opts.csrf !== false) headers['x-csrf-token'] = session.csrf;
  }
  const hasBody = route.method !== 'GET';
  if (hasBody) headers['content-type'] = 'application/json';
  const ac = new AbortController();
  const res = await fetch(url + path, {
    method: route.method,
    headers,
    signal: ac.signal,
    ...(hasBody ? { body: '{}' } : {}),
  });
  let code: string | undefined;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    const body = (await res.json()) as { error?: { code?: string } };
    code = body?.error?.code;
  } else {
    // Streams (SSE) and files: the status and headers are the answer; do not wait for the end.
    ac.abort();
  }
  return { status: res.status, code };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custodian-access-'));
  const config = {
    ...passwordOnly(defaultConfig(join(dir, 'data'))),
    port: 0,
    screenshotKeyFile: join(dir, 'screenshot.key'),
  };
  app = await createApp({
    config,
    // level in the data dir, or PostgreSQL with CUSTODIAN_TEST_POSTGRES_URL (test-store.ts).
    store: await openTestStore(config.dataDir, randomBytes(32)),
    env: {
      CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN,
      CUSTODIAN_ENROL_SECRET: 'access-test-enrol-secret-0123456789abcdef',
    },
    log: createLogger('silent'),
  });
  url = (await app.start()).url;
  for (const role of STAFF) {
    // A dsl account is the bootstrap DSL here: it must change its one-time password first.
    const c = await createStaffClient(url, ADMIN_TOKEN, `access-${role}`, role, PASSWORD);
    cookies.set(role, { cookie: c.cookie as string, csrf: c.csrf as string });
  }
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Routes that end the caller's session run last, so they do not disturb the others. */
const ENDS_SESSION = new Set(['POST /api/v1/auth/logout']);
const ordered = () =>
  [...app.router.routes].sort(
    (a, b) =>
      Number(ENDS_SESSION.has(`${a.method} ${a.path}`)) - Number(ENDS_SESSION.has(`${b.method} ${b.path}`)),
  );

describe('per-route access', () => {
  it('has a table entry for every route, and no stale entries', () => {
    const keys = app.router.routes.map((r) => `${r.method} ${r.path}`);
    const missing = app.router.routes
      .filter((r) => tableEntry(r) === undefined)
      .map((r) => `${r.method} ${r.path}`);
    expect(missing, 'routes without an ACCESS_TABLE entry: decide who may call them').toEqual([]);
    const stale = Object.keys(ACCESS_TABLE).filter((k) => !keys.includes(k));
    expect(stale, 'ACCESS_TABLE entries with no route').toEqual([]);
    expect(new Set(keys).size, 'duplicate routes').toBe(keys.length);
  });

  it('declares on each route exactly the access in the table', () => {
    for (const route of app.router.routes) {
      const entry = tableEntry(route);
      for (const who of CALLERS) {
        const expected = entry === 'public' || (entry?.includes(who) ?? false);
        expect(mayCall(route, principalFor(who)), `${route.method} ${route.path} as ${who}`).toBe(expected);
      }
    }
  });

  it('enforces it on the server for every route × caller', async () => {
    const failures: string[] = [];
    for (const who of CALLERS) {
      for (const route of ordered()) {
        const entry = tableEntry(route);
        const allowed = entry === 'public' || (entry?.includes(who) ?? false);
        const { status, code } = await call(route, who);
        const label = `${route.method} ${route.path} as ${who}: ${status} ${code ?? ''}`;
        if (allowed) {
          // Allowed means the handler ran and answered: not refused, and not a server error either.
          if (
            code === 'CUST_ERR_FORBIDDEN' ||
            code === 'CUST_ERR_UNAUTHENTICATED' ||
            code === 'CUST_ERR_CSRF' ||
            status >= 500
          )
            failures.push(`expected allowed — ${label}`);
        } else if (who === 'anonymous') {
          if (status !== 401 || code !== 'CUST_ERR_UNAUTHENTICATED') failures.push(`expected 401 — ${label}`);
        } else if (status !== 403 || code !== 'CUST_ERR_FORBIDDEN') failures.push(`expected 403 — ${label}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses every state-changing cookie request without the CSRF token', async () => {
    // Fresh sessions: the previous test signed everyone out at the end.
    for (const role of STAFF) {
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `access-${role}`, password: PASSWORD }),
      });
      const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
      cookies.set(role, {
        cookie: (login.headers.getSetCookie()[0] as string).split(';')[0] as string,
        csrf,
      });
    }
    const failures: string[] = [];
    let checked = 0;
    for (const route of app.router.routes) {
      if (route.method === 'GET' || route.csrf === false || route.access === 'public') continue;
      for (const role of STAFF) {
        if (!route.access.includes(role)) continue;
        const { status, code } = await call(route, role, { csrf: false });
        checked++;
        if (status !== 403 || code !== 'CUST_ERR_CSRF')
          failures.push(`${route.method} ${route.path} as ${role}: ${status} ${code}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });
});
