// DSL accounts in a trust of schools, over plain HTTP: a school's admin asks for a DSL of their own
// school, a DSL of that school (or the trust's) approves, and another school's DSL neither sees nor
// decides the request. A request whose account was widened meanwhile cannot be approved by a
// school's DSL (it would make a DSL of more than their school).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Schools } from '../../src/tenancy/schools.ts';
import { Client, createStaffClient, type Harness, STRONG, startHarness } from './harness.ts';

const A = 'school-a';
const B = 'school-b';

let h: Harness;
let token: Client;
beforeEach(async () => {
  h = await startHarness();
  token = new Client(h.url, h.adminToken);
  // The schools registry (its routes are not part of this harness).
  const schools = new Schools(h.store);
  for (const id of [A, B]) await schools.create({ id, name: id }, { actor: 'test' });
});
afterEach(async () => {
  await h.close();
});

/** A signed-in account of some schools (not a DSL), made with the admin token. */
function scopedUser(username: string, role: string, schools: string[]): Promise<Client> {
  return createStaffClient(h.url, h.adminToken, username, role, STRONG, schools);
}

/** A DSL of some schools: asked for by the admin token, approved by `approver`, password changed. */
async function scopedDsl(approver: Client, username: string, schools: string[]): Promise<Client> {
  const asked = await token.req('POST', '/api/v1/users', { username, role: 'dsl', schools, reason: 'DSL' });
  expect(asked.status, asked.text).toBe(202);
  const ok = await approver.req('POST', `/api/v1/dsl-requests/${asked.json.request.id}/approve`);
  expect(ok.status, ok.text).toBe(200);
  const c = new Client(h.url);
  expect((await c.login(username, ok.json.oneTimePassword)).status).toBe(200);
  const changed = await c.req('POST', '/api/v1/auth/password', {
    currentPassword: ok.json.oneTimePassword,
    newPassword: STRONG,
  });
  expect(changed.status, changed.text).toBe(200);
  return c;
}

const usernames = (r: { json: { requests: { username: string }[] } }) =>
  r.json.requests.map((x) => x.username);

describe('DSL accounts of a school (tenancy)', () => {
  it("a school's admin asks for a DSL of their school; that school's DSL approves; another school's cannot see or decide it", async () => {
    const trustDsl = await createStaffClient(h.url, h.adminToken, 'dsl.trust', 'dsl');
    const dslA = await scopedDsl(trustDsl, 'dsl.a', [A]);
    const dslB = await scopedDsl(trustDsl, 'dsl.b', [B]);
    const adminA = await scopedUser('admin.a', 'admin', [A]);

    // Another school, or a password the admin would know: refused.
    expect(
      (await adminA.req('POST', '/api/v1/users', { username: 'dsl.x', role: 'dsl', schools: [B] })).status,
    ).toBe(403);
    const withPassword = await adminA.req('POST', '/api/v1/users', {
      username: 'dsl.x',
      role: 'dsl',
      password: 'admin knows this 1',
    });
    expect(withPassword.status).toBe(400);
    expect(withPassword.json.error.message).toContain('send no password');
    const asked = await adminA.req('POST', '/api/v1/users', {
      username: 'dsl.a2',
      role: 'dsl',
      reason: 'deputy DSL for school A',
    });
    expect(asked.status, asked.text).toBe(202);
    expect(asked.json.request.schools).toEqual([A]);
    const id = asked.json.request.id as string;

    // School B's DSL: no such request, no notice of it, cannot decide it.
    expect(usernames(await dslB.req('GET', '/api/v1/dsl-requests'))).not.toContain('dsl.a2');
    expect((await dslB.req('POST', `/api/v1/dsl-requests/${id}/approve`)).status).toBe(404);
    expect((await dslB.req('POST', `/api/v1/dsl-requests/${id}/reject`, { reason: 'no' })).status).toBe(404);
    const noticesB = (await dslB.req('GET', '/api/v1/notifications')).json.notifications as {
      details: { username?: string };
    }[];
    expect(noticesB.map((n) => n.details.username)).not.toContain('dsl.a2');
    // School A's DSL, its admin and the trust's DSL see it; A's DSL is told.
    expect(usernames(await dslA.req('GET', '/api/v1/dsl-requests'))).toContain('dsl.a2');
    expect(usernames(await adminA.req('GET', '/api/v1/dsl-requests'))).toContain('dsl.a2');
    expect(usernames(await trustDsl.req('GET', '/api/v1/dsl-requests'))).toContain('dsl.a2');
    const noticesA = (await dslA.req('GET', '/api/v1/notifications')).json.notifications as {
      kind: string;
      details: { username?: string };
    }[];
    expect(noticesA.some((n) => n.kind === 'dsl-account.requested' && n.details.username === 'dsl.a2')).toBe(
      true,
    );
    // The asking admin cannot approve (DSLs only); A's DSL does, and gets the one-time password.
    expect((await adminA.req('POST', `/api/v1/dsl-requests/${id}/approve`)).status).toBe(403);
    const ok = await dslA.req('POST', `/api/v1/dsl-requests/${id}/approve`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.user.schools).toEqual([A]);
    const fresh = new Client(h.url);
    expect((await fresh.login('dsl.a2', ok.json.oneTimePassword)).json.mustChangePassword).toBe(true);
  });

  it("a re-role asked by a school's admin: widened to the trust before approval, only the trust's DSL can approve it", async () => {
    const trustDsl = await createStaffClient(h.url, h.adminToken, 'dsl.trust', 'dsl');
    const dslA = await scopedDsl(trustDsl, 'dsl.a', [A]);
    const adminA = await scopedUser('admin.a', 'admin', [A]);
    await scopedUser('it.a', 'it', [A]);
    const users = (await token.req('GET', '/api/v1/users')).json.users as { id: string; username: string }[];
    const itA = users.find((u) => u.username === 'it.a') as { id: string };

    // Anything sent with the role would be lost by the request: refused.
    const mixed = await adminA.req('PATCH', `/api/v1/users/${itA.id}`, {
      role: 'dsl',
      schools: [A],
      reason: 'DSL',
    });
    expect(mixed.status).toBe(400);
    const asked = await adminA.req('PATCH', `/api/v1/users/${itA.id}`, { role: 'dsl', reason: 'new DSL' });
    expect(asked.status, asked.text).toBe(202);
    expect(asked.json.request.schools).toEqual([A]);
    const widened = await token.req('PATCH', `/api/v1/users/${itA.id}`, {
      schools: null,
      reason: 'trust role',
    });
    expect(widened.status, widened.text).toBe(200);

    const refused = await dslA.req('POST', `/api/v1/dsl-requests/${asked.json.request.id}/approve`);
    expect(refused.status).toBe(403);
    expect((await token.req('GET', `/api/v1/users/${itA.id}`)).json.user.role).toBe('it');
    const ok = await trustDsl.req('POST', `/api/v1/dsl-requests/${asked.json.request.id}/approve`);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.user.role).toBe('dsl');
  });

  it("the very first DSL is not a school admin's to make", async () => {
    const adminA = await scopedUser('admin.a', 'admin', [A]);
    const first = await adminA.req('POST', '/api/v1/users', { username: 'dsl.first', role: 'dsl' });
    expect(first.status).toBe(403);
    expect(first.json.error.message).toContain('trust-wide admin');
    // The trust-wide admin still can.
    expect((await token.req('POST', '/api/v1/users', { username: 'dsl.first', role: 'dsl' })).status).toBe(
      201,
    );
  });
});
