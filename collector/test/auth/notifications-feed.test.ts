// GET /api/v1/notifications over plain HTTP with each role: every role reads the notifications
// addressed to it (notify(role, …)) and never another role's. Before this stop the route was the
// DSL's only, so what the collector told admins (an SSO sign-in waiting for a role) and IT (the
// device health digest) was stored but could not be read in the console; a school without an
// email relay never saw it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../../src/auth/notifications.ts';
import { Client, createStaffClient, type Harness, startHarness } from './harness.ts';

let h: Harness;
const as: Record<'admin' | 'it' | 'dsl' | 'governor', Client> = {} as never;
let token: Client;

beforeAll(async () => {
  h = await startHarness();
  for (const role of ['admin', 'it', 'dsl', 'governor'] as const)
    as[role] = await createStaffClient(h.url, h.adminToken, `nf.${role}`, role);
  token = new Client(h.url, h.adminToken);
  const n = new Notifications({ kv: h.store.kv<StaffNotification>(NOTIFICATIONS_NS), audit: h.store.audit });
  await n.notify(
    'admin',
    'sso.pending',
    'bob@school.example signed in with School IdP and waits for a role',
    {
      provider: 'school',
    },
  );
  await n.notify('it', 'health.digest', 'Device health on 2026-11-27: 3 open item(s), 1 stale device(s)');
  await n.notify('dsl', 'capture.lowered', 'Capture was lowered on the default policy');
  await n.notify('governor', 'report.ready', 'The termly report is ready');
});
afterAll(async () => {
  await h?.close();
});

async function kindsFor(c: Client): Promise<string[]> {
  const r = await c.req('GET', '/api/v1/notifications');
  expect(r.status).toBe(200);
  return r.json.notifications.map((x: StaffNotification) => `${x.to}:${x.kind}`);
}

describe("the notifications feed: each role reads its own role's notifications", () => {
  it('admins (session and API token), IT, the DSL and governors each see only theirs', async () => {
    const admin = await kindsFor(as.admin);
    expect(admin).toContain('admin:sso.pending');
    expect(admin.every((k) => k.startsWith('admin:'))).toBe(true);
    expect(await kindsFor(token)).toEqual(admin);
    expect(await kindsFor(as.it)).toEqual(['it:health.digest']);
    const dsl = await kindsFor(as.dsl);
    expect(dsl).toContain('dsl:capture.lowered');
    expect(dsl.every((k) => k.startsWith('dsl:'))).toBe(true);
    expect(await kindsFor(as.governor)).toEqual(['governor:report.ready']);
  });

  it('anonymous callers get 401', async () => {
    const r = await new Client(h.url).req('GET', '/api/v1/notifications');
    expect(r.status).toBe(401);
  });
});
