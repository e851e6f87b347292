// The access matrix's tenant dimension (issue 20): two schools, A and B, with data in both, and
// a staff account of every role limited to school A. Driven from the app's route table: every
// non-public route is called by every A-scoped role its access rule admits, with B's ids in the
// path and B's school/device in the query, and must answer nothing of B — 404 (B's object does
// not exist for A), 403 (a trust-wide route, or a request naming B), or an answer holding no
// B marker. A new route without a `tenancy` declaration is trust-wide (403 to A's staff); one
// that declares `school` must get a valid body below so the school check, not validation, answers.
// Then plain-HTTP attacks as school A's IT and DSL on B's device, alert, timeline, feeds and exports.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore } from '../../test/support/test-store.ts';
import { type App, createApp } from '../src/app.ts';
import { defaultConfig } from '../src/config.ts';
import type { Route } from '../src/http/router.ts';
import { createLogger } from '../src/log.ts';
import type { Alert, Device, DeviceLiveStatus } from '../src/store/types.ts';
import { Client, createStaffClient, STRONG } from './auth/harness.ts';
import { passwordOnly } from './helpers/password-only.ts';
import { makePng, seedAlert, seedDevice } from './safeguarding/seed.ts';

const A = 'school-a';
const B = 'school-b';
const ADMIN_TOKEN = 'tenancy-test-admin-token-0123456789abcdefghij';
const ROLES = ['admin', 'it', 'dsl', 'governor'] as const;
type Role = (typeof ROLES)[number];

let app: App;
let url: string;
let dir: string;
let token: Client;
let dslTrust: Client;
const staffA = new Map<Role, Client>();
let devA: Device;
let devB: Device;
let alertA: Alert;
let alertB: Alert;
let incidentA: string;
let incidentB: string;
let userB: { id: string; username: string };
let enrolledB: string;
let replacementB: string;
let dslRequestB: string;
const GROUP_B = 'group-b-secret';
/** Text that must never reach school A's staff. */
let markers: string[];

/**
 * The tenancy decision of every non-public route, decided here like ACCESS_TABLE in access.test.ts
 * (a route missing from this table fails): `trust` = refused to school-scoped accounts, `school` =
 * keeps to the caller's schools, `none` = holds no school's data (tenancy/README.md).
 */
export const TENANCY_TABLE: Record<string, 'trust' | 'school' | 'none'> = {
  'GET /metrics': 'trust',
  'PUT /api/v1/agreement': 'trust',
  'GET /api/v1/agreement/versions': 'school',
  'GET /api/v1/agreement/acceptances': 'trust',
  'GET /api/v1/enrol/replacements': 'school',
  'POST /api/v1/enrol/replacements/:id/approve': 'school',
  'POST /api/v1/enrol/replacements/:id/deny': 'school',
  'POST /api/v1/enrol/codes': 'school',
  'GET /api/v1/enrol/codes': 'school',
  'POST /api/v1/enrol/secret/rotate': 'school',
  'GET /api/v1/devices': 'school',
  'GET /api/v1/devices/:id': 'school',
  'GET /api/v1/devices/:id/timeline': 'school',
  'GET /api/v1/devices/:id/streams': 'school',
  'POST /api/v1/devices/:id/revoke': 'school',
  'POST /api/v1/devices/:id/retire': 'school',
  'POST /api/v1/devices/:id/commands': 'school',
  'GET /api/v1/policy': 'none',
  'PUT /api/v1/policy': 'trust',
  'GET /api/v1/devices/:id/policy': 'school',
  'PUT /api/v1/devices/:id/policy': 'school',
  'GET /api/v1/policy/changes': 'school',
  'GET /api/v1/devices/:id/policy/layers': 'school',
  'GET /api/v1/policy/schools/:schoolId': 'school',
  'PUT /api/v1/policy/schools/:schoolId': 'school',
  'GET /api/v1/policy/schools/:schoolId/changes': 'school',
  'GET /api/v1/policy/groups/:groupId': 'school',
  'PUT /api/v1/policy/groups/:groupId': 'school',
  'GET /api/v1/policy/groups/:groupId/changes': 'school',
  'GET /api/v1/groups': 'school',
  'POST /api/v1/groups': 'school',
  'PATCH /api/v1/groups/:groupId': 'school',
  'DELETE /api/v1/groups/:groupId': 'school',
  'PUT /api/v1/devices/:id/group': 'school',
  'POST /api/v1/auth/mfa/recovery-codes': 'none',
  'POST /api/v1/auth/sso/pending/:id/refuse': 'trust',
  'GET /api/v1/live': 'school',
  'POST /api/v1/retention/purge': 'trust',
  'GET /api/v1/retention/runs': 'trust',
  'GET /api/v1/schools': 'school',
  'POST /api/v1/schools': 'trust',
  'PATCH /api/v1/schools/:id': 'trust',
  'POST /api/v1/devices/:id/school': 'trust',
  'POST /api/v1/auth/logout': 'none',
  'GET /api/v1/auth/me': 'none',
  'POST /api/v1/auth/password': 'none',
  'GET /api/v1/users': 'school',
  'POST /api/v1/users': 'school',
  'GET /api/v1/users/:id': 'school',
  'PATCH /api/v1/users/:id': 'school',
  'POST /api/v1/users/:id/reset-password': 'school',
  'POST /api/v1/auth/mfa/enrol': 'none',
  'POST /api/v1/auth/mfa/confirm': 'none',
  'POST /api/v1/users/:id/mfa-reset': 'school',
  'GET /api/v1/auth/sign-in-settings': 'trust',
  'PUT /api/v1/auth/sign-in-settings': 'trust',
  'GET /api/v1/auth/sso/pending': 'trust',
  'POST /api/v1/auth/sso/pending/:id/assign': 'trust',
  'GET /api/v1/dsl-requests': 'school',
  'POST /api/v1/dsl-requests/:id/approve': 'school',
  'POST /api/v1/dsl-requests/:id/reject': 'school',
  'GET /api/v1/notifications': 'school',
  'GET /api/v1/audit': 'school',
  'GET /api/v1/alerts': 'school',
  'GET /api/v1/alerts/live': 'school',
  'GET /api/v1/alerts/:id': 'school',
  'POST /api/v1/alerts/:id/grade': 'school',
  'POST /api/v1/alerts/:id/false-positive': 'school',
  'POST /api/v1/alerts/:id/notes': 'school',
  'POST /api/v1/alerts/:id/acknowledge': 'school',
  'POST /api/v1/alerts/:id/viewed': 'school',
  'POST /api/v1/alerts/:id/escalate': 'school',
  'GET /api/v1/alerts/:id/screenshots/:blobId': 'school',
  'GET /api/v1/incidents': 'school',
  'POST /api/v1/incidents': 'school',
  'GET /api/v1/incidents/:id': 'school',
  'PATCH /api/v1/incidents/:id': 'school',
  'GET /api/v1/incidents/:id/export': 'school',
  'GET /api/v1/alerts/:id/export': 'school',
  'GET /api/v1/reports/termly': 'school',
  'GET /api/v1/reports/reads': 'school',
  'GET /api/v1/exports/incidents': 'school',
  'GET /api/v1/exports/incidents/:id': 'school',
  'GET /api/v1/exports/alerts': 'school',
  'GET /api/v1/exports/alerts/:id': 'school',
  'GET /api/v1/dual-control/settings': 'school',
  'PUT /api/v1/dual-control/settings': 'trust',
  'POST /api/v1/dual-control/settings/approve': 'trust',
  'GET /api/v1/dual-control/requests': 'school',
  'GET /api/v1/alerts/:id/reveal-access': 'school',
  'POST /api/v1/alerts/:id/reveal-requests': 'school',
  'POST /api/v1/dual-control/requests/:id/approve': 'school',
  'POST /api/v1/dual-control/requests/:id/reject': 'school',
  'GET /api/v1/notify/settings': 'trust',
  'PUT /api/v1/notify/settings': 'trust',
  'POST /api/v1/notify/webhooks': 'trust',
  'DELETE /api/v1/notify/webhooks/:id': 'trust',
  'POST /api/v1/notify/test': 'trust',
  'GET /api/v1/notify/outbox': 'trust',
  'GET /api/v1/notify/deliveries': 'trust',
  'GET /api/v1/notify/schools/:schoolId/settings': 'school',
  'PUT /api/v1/notify/schools/:schoolId/settings': 'school',
  'DELETE /api/v1/notify/schools/:schoolId/settings': 'school',
  'GET /api/v1/data-protection/subject-access': 'school',
  'POST /api/v1/data-protection/erasures': 'school',
  'GET /api/v1/data-protection/erasures': 'school',
  'GET /api/v1/device-health/alerts': 'school',
  'POST /api/v1/device-health/alerts/:id/acknowledge': 'school',
  'POST /api/v1/device-health/alerts/:id/resolve': 'school',
  'POST /api/v1/device-health/check': 'trust',
  'GET /api/v1/device-health/settings': 'school',
  'PUT /api/v1/device-health/settings': 'trust',
  'GET /api/v1/lifecycle/stale': 'school',
  'GET /api/v1/lifecycle/stale/report': 'school',
  'POST /api/v1/lifecycle/bulk': 'school',
  'GET /api/v1/dpia': 'trust',
  'GET /api/v1/dpia/document': 'trust',
  'GET /api/v1/dpia/versions': 'trust',
  'PUT /api/v1/dpia/settings': 'trust',
};

/** Valid bodies for the school routes that change something: the school check must answer, not validation. */
const BODIES: Record<string, () => unknown> = {
  'POST /api/v1/devices/:id/revoke': () => ({ reason: 'tenancy test' }),
  'PUT /api/v1/devices/:id/policy': () => ({
    policy: { idleLock: { idleLockSeconds: 480 } },
    reason: 'tenancy test',
  }),
  'PUT /api/v1/devices/:id/group': () => ({ groupId: null, reason: 'tenancy test' }),
  'PUT /api/v1/policy/schools/:schoolId': () => ({
    policy: { idleLock: { idleLockSeconds: 480 } },
    reason: 'tenancy test',
  }),
  'PUT /api/v1/policy/groups/:groupId': () => ({
    policy: { idleLock: { idleLockSeconds: 480 } },
    reason: 'tenancy test',
  }),
  'POST /api/v1/groups': () => ({ id: 'made-by-a', schoolId: B, name: 'made by school A' }),
  'PATCH /api/v1/groups/:groupId': () => ({ name: 'renamed by school A' }),
  'DELETE /api/v1/groups/:groupId': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/devices/:id/retire': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/devices/:id/commands': () => ({ kind: 'LOCK_NOW' }),
  'POST /api/v1/lifecycle/bulk': () => ({ action: 'revoke', deviceIds: [devB.id], reason: 'tenancy test' }),
  'POST /api/v1/device-health/alerts/:id/acknowledge': () => ({}),
  'POST /api/v1/device-health/alerts/:id/resolve': () => ({}),
  'POST /api/v1/enrol/replacements/:id/approve': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/enrol/replacements/:id/deny': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/enrol/codes': () => ({ schoolId: B }),
  'POST /api/v1/enrol/secret/rotate': () => ({ schoolId: B }),
  'POST /api/v1/users': () => ({ username: 'made-by-a', role: 'it', password: STRONG, schools: [B] }),
  'PATCH /api/v1/users/:id': () => ({ displayName: 'renamed by school A' }),
  'POST /api/v1/users/:id/reset-password': () => ({}),
  'POST /api/v1/users/:id/mfa-reset': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/alerts/:id/grade': () => ({ grade: 1 }),
  'POST /api/v1/alerts/:id/false-positive': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/alerts/:id/notes': () => ({ text: 'note from school A' }),
  'POST /api/v1/alerts/:id/acknowledge': () => ({}),
  'POST /api/v1/alerts/:id/viewed': () => ({}),
  'POST /api/v1/alerts/:id/escalate': () => ({}),
  'POST /api/v1/alerts/:id/reveal-requests': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/dsl-requests/:id/approve': () => ({}),
  'POST /api/v1/dsl-requests/:id/reject': () => ({ reason: 'tenancy test' }),
  'POST /api/v1/dual-control/requests/:id/approve': () => ({}),
  'POST /api/v1/dual-control/requests/:id/reject': () => ({}),
  'POST /api/v1/incidents': () => ({ title: 'made by school A', schoolId: B }),
  'PUT /api/v1/notify/schools/:schoolId/settings': () => ({
    contacts: [{ id: 'by-a', name: 'Set by school A', email: 'by-a@a.test', role: 'dsl' }],
    rota: {
      escalateAfterMinutes: 5,
      stopOn: 'viewed',
      bands: [{ minSeverity: 1, window: 'any', contacts: ['by-a'] }],
    },
  }),
  'PATCH /api/v1/incidents/:id': () => ({ title: 'changed by school A' }),
  'POST /api/v1/data-protection/erasures': () => ({ device: devB.id, reason: 'tenancy test' }),
};

/** Answers that echo what the caller sent (not a leak): the markers to ignore, and what must hold instead. */
const ECHOES: Record<string, { ignore: () => string[]; check: (json: unknown) => boolean }> = {
  'POST /api/v1/lifecycle/bulk': {
    ignore: () => [devB.id],
    check: (json) =>
      (json as { results: { ok: boolean; error?: { code: string } }[] }).results.every(
        (r) => !r.ok && r.error?.code === 'CUST_ERR_NOT_FOUND',
      ),
  },
};

/** B's id for a path parameter, by the route it is in. */
function idFor(path: string, name: string): string {
  if (name === 'blobId') return alertB.screenshotBlobIds[0] as string;
  if (path.startsWith('/api/v1/devices/')) return devB.id;
  if (path.startsWith('/api/v1/alerts/') || path.startsWith('/api/v1/exports/alerts/')) return alertB.id;
  if (path.startsWith('/api/v1/incidents/') || path.startsWith('/api/v1/exports/incidents/'))
    return incidentB;
  if (path.startsWith('/api/v1/users/')) return userB.id;
  if (
    path.startsWith('/api/v1/schools/') ||
    path.startsWith('/api/v1/policy/schools/') ||
    path.startsWith('/api/v1/notify/schools/')
  )
    return B;
  if (path.startsWith('/api/v1/groups/') || path.startsWith('/api/v1/policy/groups/')) return GROUP_B;
  if (path.startsWith('/api/v1/enrol/replacements/')) return replacementB;
  if (path.startsWith('/api/v1/dsl-requests/')) return dslRequestB;
  return 'tenancy-test-id';
}

/** B's school and device in every query field a route declares for them. */
function queryFor(route: Route): string {
  const props =
    (route.schema?.query as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const q = new URLSearchParams();
  if ('school' in props) q.set('school', B);
  if ('deviceId' in props) q.set('deviceId', devB.id);
  if ('device' in props) q.set('device', devB.id);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Reads an event stream for a while, making B's and A's devices and alerts change meanwhile. */
async function readFeed(client: Client, path: string): Promise<{ status: number; text: string }> {
  const ac = new AbortController();
  const res = await fetch(url + path, { headers: { cookie: client.cookie as string }, signal: ac.signal });
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream'))
    return { status: res.status, text: await res.text() };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const deadline = Date.now() + 1500;
  let emitted = false;
  while (Date.now() < deadline) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)),
    ]);
    if (chunk?.value) text += Buffer.from(chunk.value).toString('utf8');
    if (chunk?.done) break;
    if (!emitted && text.length > 0) {
      emitted = true;
      for (const d of [devB, devA])
        app.live.emit('status', { deviceId: d.id, connected: true, usbVolumes: [] } as DeviceLiveStatus);
      app.live.emit('alert', alertB);
      app.live.emit('alert', alertA);
    }
  }
  ac.abort();
  return { status: res.status, text };
}

function staffUser(username: string, role: Role, schools: string[]): Promise<Client> {
  return createStaffClient(url, ADMIN_TOKEN, username, role, STRONG, schools);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custodian-tenancy-'));
  const config = {
    ...passwordOnly(defaultConfig(join(dir, 'data'))),
    port: 0,
    screenshotKeyFile: join(dir, 'screenshot.key'),
  };
  const store = await openTestStore(config.dataDir, randomBytes(32));
  // Devices and alerts of both schools, written as ingest writes them, before the app starts.
  devA = await seedDevice(store, { schoolId: A, hostname: 'A-LAPTOP-1' });
  devB = await seedDevice(store, { schoolId: B, hostname: 'B-LAPTOP-SECRET' });
  alertA = await seedAlert(store, { device: devA, screenshot: makePng(2, 2, [1, 2, 3]) });
  alertB = await seedAlert(store, { device: devB, screenshot: makePng(2, 2, [4, 5, 6]), term: 'bterm' });
  app = await createApp({
    config,
    store,
    env: {
      CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN,
      CUSTODIAN_ENROL_SECRET: 'tenancy-test-enrol-secret-0123456789abcdef',
    },
    log: createLogger('silent'),
  });
  url = (await app.start()).url;
  token = new Client(url, ADMIN_TOKEN);
  for (const [id, name] of [
    [A, 'Alpha Academy'],
    [B, 'Beta Academy'],
  ] as const)
    expect((await token.req('POST', '/api/v1/schools', { id, name })).status).toBe(201);

  // The first DSL is trust-wide (and approves the next); dsl-a is then limited to school A.
  dslTrust = await createStaffClient(url, ADMIN_TOKEN, 'dsl-trust', 'dsl');
  staffA.set('dsl', await createStaffClient(url, ADMIN_TOKEN, 'dsl-a', 'dsl'));
  const users = (await token.req('GET', '/api/v1/users')).json.users as { id: string; username: string }[];
  const dslA = users.find((u) => u.username === 'dsl-a') as { id: string };
  const scoped = await token.req('PATCH', `/api/v1/users/${dslA.id}`, {
    schools: [A],
    reason: 'school A DSL',
  });
  expect(scoped.status, scoped.text).toBe(200);
  for (const role of ['admin', 'it', 'governor'] as const)
    staffA.set(role, await staffUser(`${role}-a`, role, [A]));
  await staffUser('it-b', 'it', [B]);
  userB = ((await token.req('GET', '/api/v1/users')).json.users as { id: string; username: string }[]).find(
    (u) => u.username === 'it-b',
  ) as { id: string; username: string };
  // A DSL account asked for school B (a DSL of B or of the trust decides it, never A's).
  const askedB = await token.req('POST', '/api/v1/users', {
    username: 'dsl-b-asked',
    role: 'dsl',
    schools: [B],
    reason: 'new DSL for school B',
  });
  expect(askedB.status, askedB.text).toBe(202);
  dslRequestB = askedB.json.request.id;

  // Incidents of both schools (escalated from each school's alert: they take the alert's school).
  incidentA = (await dslTrust.req('POST', `/api/v1/alerts/${alertA.id}/escalate`, {})).json.incident.id;
  const escalatedB = await dslTrust.req('POST', `/api/v1/alerts/${alertB.id}/escalate`, {});
  expect(escalatedB.json.incident.schoolId).toBe(B);
  incidentB = escalatedB.json.incident.id;
  alertB = (await app.store.alerts.get(alertB.id)) as Alert;

  // School B's own enrol secret and code; a device enrolled with the secret joins school B, and
  // enrolling its machine again without proof queues a replacement request in school B.
  expect((await token.req('POST', '/api/v1/enrol/codes', { schoolId: B, note: 'B code' })).status).toBe(201);
  const secretB = (await token.req('POST', '/api/v1/enrol/secret/rotate', { schoolId: B })).json.secret;
  const facts = { machineId: 'b-machine-0001', hostname: 'B-ENROLLED', os: 'linux', serial: 'SNB1' };
  const first = await token.req('POST', '/api/v1/enrol', { secret: secretB, ...facts });
  expect(first.status, first.text).toBe(200);
  enrolledB = first.json.deviceId;
  expect((await app.store.devices.get(enrolledB))?.schoolId).toBe(B);
  const again = await token.req('POST', '/api/v1/enrol', { secret: secretB, ...facts, serial: 'SNB2' });
  expect(again.status, again.text).toBe(202);
  replacementB = again.json.requestId;

  // B's device group with a policy layer, B's school layer, and B's device in the group.
  const group = await token.req('POST', '/api/v1/groups', {
    id: GROUP_B,
    schoolId: B,
    name: 'B Group Secret',
  });
  expect(group.status, group.text).toBe(200);
  for (const path of [`/api/v1/policy/groups/${GROUP_B}`, `/api/v1/policy/schools/${B}`]) {
    const layer = await token.req('PUT', path, {
      policy: { idleLock: { idleLockSeconds: 540 } },
      reason: 'B layer reason secret',
    });
    expect(layer.status, layer.text).toBe(200);
  }
  const moved = await token.req('PUT', `/api/v1/devices/${devB.id}/group`, {
    groupId: GROUP_B,
    reason: 'B move reason secret',
  });
  expect(moved.status, moved.text).toBe(200);

  // B's own notify layer: who is told of B's alerts is B's business.
  const notifyB = await token.req('PUT', `/api/v1/notify/schools/${B}/settings`, {
    contacts: [{ id: 'b-dsl', name: 'B Notify Contact Secret', email: 'b-dsl-secret@b.test', role: 'dsl' }],
    rota: {
      escalateAfterMinutes: 10,
      stopOn: 'viewed',
      bands: [{ minSeverity: 4, window: 'any', contacts: ['b-dsl'] }],
    },
  });
  expect(notifyB.status, notifyB.text).toBe(200);

  markers = [
    'B Notify Contact Secret',
    'b-dsl-secret@b.test',
    GROUP_B,
    'B Group Secret',
    'B layer reason secret',
    'B move reason secret',
    devB.id,
    devB.hostname,
    alertB.id,
    incidentB,
    B,
    'Beta Academy',
    userB.id,
    'it-b',
    enrolledB,
    replacementB,
    dslRequestB,
    'dsl-b-asked',
  ];
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

const ENDS_SESSION = new Set(['POST /api/v1/auth/logout']);

describe('tenancy: every route × every role limited to school A, with school B data', () => {
  it('has a tenancy decision for every non-public route, as each route declares it', () => {
    const routes = app.router.routes.filter((r) => r.access !== 'public');
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    const missing = keys.filter((k) => !(k in TENANCY_TABLE));
    expect(
      missing,
      'routes without a TENANCY_TABLE entry: decide whether a school-scoped account may call them',
    ).toEqual([]);
    expect(
      Object.keys(TENANCY_TABLE).filter((k) => !keys.includes(k)),
      'stale entries',
    ).toEqual([]);
    const differ = routes
      .filter((r) => (r.tenancy ?? 'trust') !== TENANCY_TABLE[`${r.method} ${r.path}`])
      .map((r) => `${r.method} ${r.path}: declares ${r.tenancy ?? 'trust'}`);
    expect(differ).toEqual([]);
  });

  it('answers nothing of school B on any route', async () => {
    const failures: string[] = [];
    let checked = 0;
    const routes = [...app.router.routes].sort(
      (a, b) =>
        Number(ENDS_SESSION.has(`${a.method} ${a.path}`)) - Number(ENDS_SESSION.has(`${b.method} ${b.path}`)),
    );
    for (const route of routes) {
      if (route.access === 'public') continue;
      const key = `${route.method} ${route.path}`;
      for (const role of ROLES) {
        if (!route.access.includes(role)) continue;
        const client = staffA.get(role) as Client;
        const path =
          route.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => idFor(route.path, name)) + queryFor(route);
        let status: number;
        let text: string;
        let json: { error?: { code?: string } } | undefined;
        if (route.method === 'GET' && route.raw) {
          ({ status, text } = await readFeed(client, path));
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        } else {
          const r = await client.req(
            route.method,
            path,
            route.method === 'GET' ? undefined : (BODIES[key]?.() ?? {}),
          );
          ({ status, text, json } = r);
        }
        checked++;
        const label = `${key} as ${role}-a → ${status} ${json?.error?.code ?? ''}`;
        if (route.tenancy === undefined) {
          if (status !== 403 || json?.error?.code !== 'CUST_ERR_FORBIDDEN')
            failures.push(`expected 403 (trust-wide) — ${label}`);
          continue;
        }
        if (status >= 500) failures.push(`server error — ${label}`);
        if (route.tenancy === 'school' && status === 400)
          failures.push(
            `validation answered, not the school check: add a valid body to BODIES — ${label} ${text}`,
          );
        const echo = ECHOES[key];
        if (status < 300) {
          const ignored = new Set(echo?.ignore() ?? []);
          const leaked = markers.filter((m) => !ignored.has(m) && text.includes(m));
          if (leaked.length > 0) failures.push(`school B data (${leaked.join(', ')}) — ${label}`);
          if (echo && !echo.check(json)) failures.push(`unexpected answer — ${label} ${text}`);
        } else if (status === 404 && json?.error?.code !== 'CUST_ERR_NOT_FOUND')
          failures.push(`404 without CUST_ERR_NOT_FOUND — ${label}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  }, 240_000);

  it("left school B's records as they were", async () => {
    const a = (await app.store.alerts.get(alertB.id)) as Alert;
    expect(a.status).toBe('escalated');
    expect(a.grade).toBeUndefined();
    expect(a.notes).toEqual([]);
    expect(a.history.map((h) => h.action)).not.toContain('viewed');
    const d = (await app.store.devices.get(devB.id)) as Device;
    expect(d.revokedAt).toBeUndefined();
    expect(d.retiredAt).toBeUndefined();
    const u = (await token.req('GET', `/api/v1/users/${userB.id}`)).json.user;
    expect(u.displayName).toBe('it-b');
    expect(u.disabled).toBe(false);
    const inc = await dslTrust.req('GET', `/api/v1/incidents/${incidentB}`);
    expect(inc.json.incident.title).not.toContain('school A');
    const r = await app.store.enrol.getReplacement(replacementB);
    expect(r?.state).toBe('pending');
    const notifyB = await token.req('GET', `/api/v1/notify/schools/${B}/settings`);
    expect(notifyB.json.layer.contacts.map((c: { id: string }) => c.id)).toEqual(['b-dsl']);
  });
});

describe('tenancy: school A staff still see school A (the matrix above is not vacuous)', () => {
  // The matrix signed everyone out last (POST /auth/logout): sign in again.
  beforeAll(async () => {
    for (const role of ROLES)
      expect((await (staffA.get(role) as Client).login(`${role}-a`, STRONG)).status).toBe(200);
  });
  it('lists and opens their own school', async () => {
    const it_ = staffA.get('it') as Client;
    const dsl = staffA.get('dsl') as Client;
    const devices = await it_.req('GET', '/api/v1/devices');
    expect(devices.json.devices.map((d: Device) => d.id)).toEqual([devA.id]);
    expect((await it_.req('GET', `/api/v1/devices/${devA.id}`)).status).toBe(200);
    expect((await it_.req('GET', `/api/v1/devices/${devA.id}/timeline`)).status).toBe(200);
    const queue = await dsl.req('GET', '/api/v1/alerts');
    expect(queue.json.alerts.map((a: { id: string }) => a.id)).toEqual([alertA.id]);
    expect(queue.json.alerts[0].schoolId).toBe(A);
    expect((await dsl.req('GET', `/api/v1/alerts/${alertA.id}`)).status).toBe(200);
    expect((await dsl.req('GET', `/api/v1/incidents/${incidentA}`)).status).toBe(200);
    expect((await it_.req('GET', '/api/v1/schools')).json.schools.map((s: { id: string }) => s.id)).toEqual([
      A,
    ]);
    const feed = await readFeed(it_, '/api/v1/live');
    expect(feed.text).toContain(devA.id);
    expect(feed.text).not.toContain(devB.id);
  });

  it("school A's DSL and admin manage school A's own notify layer (audited, seen in A's audit log)", async () => {
    const dsl = staffA.get('dsl') as Client;
    const put = await dsl.req('PUT', `/api/v1/notify/schools/${A}/settings`, {
      contacts: [{ id: 'a-dsl', name: 'A DSL', email: 'a-dsl@a.test', role: 'dsl' }],
      rota: {
        escalateAfterMinutes: 5,
        stopOn: 'viewed',
        bands: [{ minSeverity: 4, window: 'any', contacts: ['a-dsl'] }],
      },
    });
    expect(put.status, put.text).toBe(200);
    const admin = staffA.get('admin') as Client;
    const got = await admin.req('GET', `/api/v1/notify/schools/${A}/settings`);
    expect(got.json.layer).toMatchObject({ schoolId: A, updatedBy: 'dsl-a' });
    const trail = await admin.req('GET', `/api/v1/audit?target=school:${A}`);
    const rec = trail.json.records.find(
      (r: { action: string }) => r.action === 'notify.school-settings-changed',
    );
    expect(rec?.details).toMatchObject({ old: null, new: { contacts: [{ id: 'a-dsl' }] } });
    // The trust's record stays trust-wide.
    expect((await dsl.req('GET', '/api/v1/notify/settings')).status).toBe(403);
  });

  it('trust-wide staff see both schools, and can narrow to one', async () => {
    const all = await token.req('GET', '/api/v1/devices');
    const ids = all.json.devices.map((d: Device) => d.id);
    expect(ids).toEqual(expect.arrayContaining([devA.id, devB.id, enrolledB]));
    const onlyB = await token.req('GET', `/api/v1/devices?school=${B}`);
    expect(onlyB.json.devices.map((d: Device) => d.id).sort()).toEqual([devB.id, enrolledB].sort());
    const queue = await dslTrust.req('GET', '/api/v1/alerts');
    expect(queue.json.alerts.map((a: { id: string }) => a.id).sort()).toEqual([alertA.id, alertB.id].sort());
    const feed = await readFeed(dslTrust, '/api/v1/alerts/live');
    expect(feed.text).toContain(alertB.id);
    expect(feed.text).toContain(alertA.id);
  });
});

describe('tenancy attacks over plain HTTP, as school A staff', () => {
  it("school A's IT asking for B's device, its timeline, streams and a command gets 404 as for no device", async () => {
    const it_ = staffA.get('it') as Client;
    const none = await it_.req('GET', '/api/v1/devices/d_doesnotexist');
    for (const path of [
      `/api/v1/devices/${devB.id}`,
      `/api/v1/devices/${devB.id}/timeline`,
      `/api/v1/devices/${devB.id}/streams`,
    ]) {
      const r = await it_.req('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.json.error.code).toBe(none.json.error.code);
      expect(r.json.error.message).toBe(none.json.error.message.replace('d_doesnotexist', devB.id));
    }
    const cmd = await it_.req('POST', `/api/v1/devices/${devB.id}/commands`, { kind: 'LOCK_NOW' });
    expect(cmd.status).toBe(404);
    const moved = await it_.req('POST', `/api/v1/devices/${devB.id}/school`, {
      schoolId: A,
      reason: 'take it',
    });
    expect(moved.status).toBe(403);
  });

  it("school A's DSL asking for B's alert, screenshot, export and incident gets 404; B's filters give nothing", async () => {
    const dsl = staffA.get('dsl') as Client;
    const blob = alertB.screenshotBlobIds[0] as string;
    for (const path of [
      `/api/v1/alerts/${alertB.id}`,
      `/api/v1/alerts/${alertB.id}/screenshots/${blob}`,
      `/api/v1/alerts/${alertB.id}/export`,
      `/api/v1/exports/alerts/${alertB.id}`,
      `/api/v1/incidents/${incidentB}`,
      `/api/v1/exports/incidents/${incidentB}`,
    ]) {
      const r = await dsl.req('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.text).not.toContain('bterm');
    }
    const range = await dsl.req('GET', `/api/v1/exports/alerts?format=json&school=${B}`);
    expect(range.status).toBe(200);
    expect(range.headers.get('x-export-count')).toBe('0');
    const byDevice = await dsl.req('GET', `/api/v1/alerts?deviceId=${devB.id}`);
    expect(byDevice.json.alerts).toEqual([]);
    const feed = await readFeed(dsl, '/api/v1/alerts/live');
    expect(feed.text).toContain(alertA.id);
    expect(feed.text).not.toContain(alertB.id);
  });

  it("school A's admin cannot reach B's staff nor give trust-wide or B scope", async () => {
    const admin = staffA.get('admin') as Client;
    expect((await admin.req('GET', `/api/v1/users/${userB.id}`)).status).toBe(404);
    const listed = (await admin.req('GET', '/api/v1/users')).json.users.map(
      (u: { username: string }) => u.username,
    );
    expect(listed.sort()).toEqual(['admin-a', 'dsl-a', 'governor-a', 'it-a']);
    const itA = (await admin.req('GET', '/api/v1/users')).json.users.find(
      (u: { username: string }) => u.username === 'it-a',
    );
    const wide = await admin.req('PATCH', `/api/v1/users/${itA.id}`, { schools: null, reason: 'widen' });
    expect(wide.status).toBe(403);
    // The last trust-wide admin cannot be limited to a school (school admins could not undo it).
    const admins = (await token.req('GET', '/api/v1/users')).json.users.filter(
      (u: { role: string; schools?: string[] }) => u.role === 'admin' && !u.schools,
    );
    expect(admins.length).toBe(1);
    const last = await token.req('PATCH', `/api/v1/users/${admins[0].id}`, {
      schools: [A],
      reason: 'narrow',
    });
    expect(last.status).toBe(409);
    const demoted = await token.req('PATCH', `/api/v1/users/${admins[0].id}`, {
      role: 'it',
      reason: 'demote',
    });
    expect(demoted.status).toBe(409);
    const other = await admin.req('PATCH', `/api/v1/users/${itA.id}`, { schools: [A, B], reason: 'widen' });
    expect(other.status).toBe(403);
    const made = await admin.req('POST', '/api/v1/users', {
      username: 'it-a2',
      role: 'it',
      password: STRONG,
    });
    expect(made.status).toBe(201);
    expect(made.json.user.schools).toEqual([A]);
    expect((await admin.req('POST', '/api/v1/schools', { id: 'school-c', name: 'C' })).status).toBe(403);
  });

  it("school A's admin reads the audit entries about school A's objects only", async () => {
    const admin = staffA.get('admin') as Client;
    const mine = (await admin.req('GET', '/api/v1/audit?limit=1000')).json.records as { target: string }[];
    expect(mine.map((r) => r.target)).toContain(`school:${A}`);
    expect(mine.some((r) => r.target.startsWith('user:'))).toBe(true);
    const all = (await token.req('GET', '/api/v1/audit?limit=1000')).json.records as { target: string }[];
    expect(all.map((r) => r.target)).toContain(`school:${B}`);
    expect(all.map((r) => r.target)).toContain(`device:${enrolledB}`);
    const leaked = mine.filter((r) =>
      [`school:${B}`, `device:${enrolledB}`, `user:${userB.id}`].includes(r.target),
    );
    expect(leaked).toEqual([]);
  });

  it("a change of an account's schools applies at its next request, and ends its open feeds", {
    timeout: 30_000,
  }, async () => {
    const it_ = staffA.get('it') as Client;
    const me = (await it_.req('GET', '/api/v1/auth/me')).json.user;
    expect(me.schools).toEqual([A]);
    // An open live feed of the account (authenticated once, at connect).
    const ac = new AbortController();
    const feed = await fetch(`${url}/api/v1/live`, {
      headers: { cookie: it_.cookie as string },
      signal: ac.signal,
    });
    const reader = (feed.body as ReadableStream<Uint8Array>).getReader();
    let feedText = '';
    const ended = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return feedText;
        feedText += Buffer.from(value).toString('utf8');
        if (feedText.includes('event: end')) return feedText;
      }
    })();
    const moved = await token.req('PATCH', `/api/v1/users/${me.id}`, {
      schools: [B],
      reason: 'moved school',
    });
    expect(moved.status).toBe(200);
    const now = (await it_.req('GET', '/api/v1/devices')).json.devices.map((d: Device) => d.id);
    expect(now).toContain(devB.id);
    expect(now).not.toContain(devA.id);
    // The feed opened with school A's scope ends at its next re-check (LIVE_RECHECK_MS).
    const text = await Promise.race([
      ended,
      new Promise<string>((r) => setTimeout(() => r('timed out'), 15_000)),
    ]);
    ac.abort();
    expect(text).toContain('event: end');
    const audit = (await token.req('GET', '/api/v1/audit?action=user.schools-changed')).json.records;
    expect(audit.some((r: { target: string }) => r.target === `user:${me.id}`)).toBe(true);
    expect(
      (await token.req('PATCH', `/api/v1/users/${me.id}`, { schools: [A], reason: 'back' })).status,
    ).toBe(200);
  });

  it("a BYOD code made for a school enrols into it; school A's admin makes codes for A only", async () => {
    const admin = staffA.get('admin') as Client;
    expect((await admin.req('POST', '/api/v1/enrol/codes', { schoolId: B })).status).toBe(404);
    const mine = await admin.req('POST', '/api/v1/enrol/codes', {});
    expect(mine.status).toBe(201);
    const listed = (await admin.req('GET', '/api/v1/enrol/codes')).json.codes as { schoolId: string }[];
    expect(listed.map((c) => c.schoolId)).toEqual([A]);
    const agreement = (await token.req('GET', '/api/v1/agreement')).json;
    const enrolled = await token.req('POST', '/api/v1/enrol', {
      code: mine.json.code,
      machineId: 'byod-a-0001',
      hostname: 'PUPIL-LAPTOP',
      os: 'linux',
      serial: '',
      userName: 'pupil.a',
      acceptAgreement: true,
      agreementVersion: agreement.version,
      agreementSha256: agreement.sha256,
    });
    expect(enrolled.status, enrolled.text).toBe(200);
    expect((await app.store.devices.get(enrolled.json.deviceId))?.schoolId).toBe(A);
    const it_ = staffA.get('it') as Client;
    expect((await it_.req('GET', `/api/v1/devices/${enrolled.json.deviceId}`)).status).toBe(200);
  });

  it('a trust-wide admin moves a device to another school (audited, reason required)', async () => {
    const noReason = await token.req('POST', `/api/v1/devices/${enrolledB}/school`, { schoolId: A });
    expect(noReason.status).toBe(400);
    const unknown = await token.req('POST', `/api/v1/devices/${enrolledB}/school`, {
      schoolId: 'nowhere',
      reason: 'x',
    });
    expect(unknown.status).toBe(400);
    const r = await token.req('POST', `/api/v1/devices/${enrolledB}/school`, {
      schoolId: A,
      reason: 'pupil moved',
    });
    expect(r.status).toBe(200);
    const it_ = staffA.get('it') as Client;
    expect((await it_.req('GET', `/api/v1/devices/${enrolledB}`)).status).toBe(200);
    const audit = (await token.req('GET', '/api/v1/audit?action=device.school-changed')).json.records;
    expect(audit[0].details).toMatchObject({ from: B, to: A, reason: 'pupil moved' });
    await token.req('POST', `/api/v1/devices/${enrolledB}/school`, { schoolId: B, reason: 'back' });
    expect((await it_.req('GET', `/api/v1/devices/${enrolledB}`)).status).toBe(404);
  });
});

describe('tenancy: erasures', () => {
  it("a school-scoped DSL lists the erasures made within its schools, not the trust's or another school's", async () => {
    const dsl = staffA.get('dsl') as Client;
    const enrolWith = async (school: string, host: string) => {
      const { secret } = (await token.req('POST', '/api/v1/enrol/secret/rotate', { schoolId: school })).json;
      const r = await token.req('POST', '/api/v1/enrol', {
        secret,
        machineId: `erase-${host}`,
        hostname: host,
        os: 'linux',
        serial: host,
      });
      expect(r.status, r.text).toBe(200);
      return r.json.deviceId as string;
    };
    const inA = await enrolWith(A, 'ERASE-A');
    const inB = await enrolWith(B, 'ERASE-B');
    expect(
      (await dsl.req('POST', '/api/v1/data-protection/erasures', { device: inB, reason: 'request' })).status,
    ).toBe(404);
    const mine = await dsl.req('POST', '/api/v1/data-protection/erasures', {
      device: inA,
      reason: 'request',
    });
    expect(mine.status, mine.text).toBe(200);
    expect(mine.json.erasure.schools).toEqual([A]);
    const trust = await dslTrust.req('POST', '/api/v1/data-protection/erasures', {
      device: inB,
      reason: 'request',
    });
    expect(trust.status, trust.text).toBe(200);
    const seen = (await dsl.req('GET', '/api/v1/data-protection/erasures')).json.erasures as { id: string }[];
    expect(seen.map((e) => e.id)).toEqual([mine.json.erasure.id]);
    const all = (await dslTrust.req('GET', '/api/v1/data-protection/erasures')).json.erasures as {
      id: string;
    }[];
    expect(all.map((e) => e.id)).toEqual(
      expect.arrayContaining([mine.json.erasure.id, trust.json.erasure.id]),
    );
  });
});

describe('tenancy: the views summary', () => {
  it("counts a school's views for its governor, and every view for the trust", async () => {
    const governor = staffA.get('governor') as Client;
    const total = async (c: Client) => (await c.req('GET', '/api/v1/reports/reads')).json.total as number;
    const [mineBefore, trustBefore] = [await total(governor), await total(token)];
    expect((await dslTrust.req('GET', `/api/v1/alerts/${alertB.id}`)).status).toBe(200);
    expect(await total(governor)).toBe(mineBefore);
    expect(await total(token)).toBe(trustBefore + 1);
    expect((await dslTrust.req('GET', `/api/v1/alerts/${alertA.id}`)).status).toBe(200);
    expect(await total(governor)).toBe(mineBefore + 1);
  });
});
