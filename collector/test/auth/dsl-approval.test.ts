// Issue 10 item 6, replayed over plain HTTP: an admin (cookie session or the admin API token)
// tries to become a DSL — create a `dsl` account with a password they chose, re-role an account
// whose password they know, reset a DSL's password. Each is now a request that only a DSL can
// approve; the one-time password goes to the approving DSL; the DSLs are told.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client, createStaffClient, type Harness, STRONG, startHarness } from './harness.ts';

let h: Harness;
let token: Client;
beforeEach(async () => {
  h = await startHarness();
  token = new Client(h.url, h.adminToken);
});
afterEach(async () => {
  await h.close();
});

const KNOWN = 'admin chose this password 1';

describe('DSL accounts need a DSL (issue 10 item 6)', () => {
  it('bootstrap: the very first DSL is made by an admin but must change the password before reading anything', async () => {
    const created = await token.req('POST', '/api/v1/users', {
      username: 'first.dsl',
      role: 'dsl',
      password: KNOWN,
      mustChangePassword: false,
    });
    expect(created.status).toBe(201);
    expect(created.json.user.mustChangePassword).toBe(true);
    const c = new Client(h.url);
    expect((await c.login('first.dsl', KNOWN)).json.mustChangePassword).toBe(true);
    const alerts = await c.req('GET', '/api/v1/alerts');
    expect(alerts.status).toBe(403);
    expect(alerts.json.error.code).toBe('CUST_ERR_PASSWORD_CHANGE_REQUIRED');
    const audit = await token.req('GET', '/api/v1/audit?action=user.dsl-bootstrap');
    expect(audit.json.records).toHaveLength(1);
  });

  it('an admin (token or session) cannot create a DSL with a known password; a DSL approves and gets the password', async () => {
    const lead = await createStaffClient(h.url, h.adminToken, 'dsl.lead', 'dsl');
    const admin = await createStaffClient(h.url, h.adminToken, 'net.manager', 'admin');

    for (const [who, c] of [
      ['token', token],
      ['admin', admin],
    ] as const) {
      const withPassword = await c.req('POST', '/api/v1/users', {
        username: `mole.${who}`,
        role: 'dsl',
        password: KNOWN,
        mustChangePassword: false,
      });
      expect(withPassword.status, who).toBe(400);
      const asked = await c.req('POST', '/api/v1/users', {
        username: `mole.${who}`,
        role: 'dsl',
        reason: 'cover',
      });
      expect(asked.status, who).toBe(202);
      expect(asked.json.request.state).toBe('pending');
      expect(asked.json.oneTimePassword).toBeUndefined();
      // Nothing exists yet.
      const users = await token.req('GET', '/api/v1/users');
      expect(users.json.users.map((u: { username: string }) => u.username)).not.toContain(`mole.${who}`);
    }
    // The admin cannot approve their own request.
    const requests = await admin.req('GET', '/api/v1/dsl-requests');
    expect(requests.json.requests).toHaveLength(2);
    const reqId = requests.json.requests.find((r: { username: string }) => r.username === 'mole.admin').id;
    const selfApprove = await admin.req('POST', `/api/v1/dsl-requests/${reqId}/approve`);
    expect(selfApprove.status).toBe(403);
    expect(selfApprove.json.error.code).toBe('CUST_ERR_FORBIDDEN');
    expect((await token.req('POST', `/api/v1/dsl-requests/${reqId}/approve`)).status).toBe(403);

    // The DSL was told, and approves one; the one-time password is in the DSL's answer only.
    const told = await lead.req('GET', '/api/v1/notifications');
    expect(
      told.json.notifications.filter((n: { kind: string }) => n.kind === 'dsl-account.requested'),
    ).toHaveLength(2);
    const approved = await lead.req('POST', `/api/v1/dsl-requests/${reqId}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.json.user.role).toBe('dsl');
    const fresh = new Client(h.url);
    expect((await fresh.login('mole.admin', approved.json.oneTimePassword)).json.mustChangePassword).toBe(
      true,
    );
    expect((await fresh.req('GET', '/api/v1/alerts')).json.error.code).toBe(
      'CUST_ERR_PASSWORD_CHANGE_REQUIRED',
    );
    // Decided once.
    expect((await lead.req('POST', `/api/v1/dsl-requests/${reqId}/approve`)).status).toBe(409);
    const audit = await token.req('GET', '/api/v1/audit?actionPrefix=user.dsl-');
    const actions = audit.json.records.map((r: { action: string }) => r.action);
    expect(actions.filter((a: string) => a === 'user.dsl-requested')).toHaveLength(2);
    expect(actions.filter((a: string) => a === 'user.dsl-approved')).toHaveLength(1);
  });

  it('re-roling an account the admin knows the password of to dsl is a request; approval also replaces the password', async () => {
    const lead = await createStaffClient(h.url, h.adminToken, 'dsl.lead', 'dsl');
    await createStaffClient(h.url, h.adminToken, 'sock.puppet', 'it', KNOWN);
    const id = (await token.req('GET', '/api/v1/users')).json.users.find(
      (u: { username: string }) => u.username === 'sock.puppet',
    ).id;
    const asked = await token.req('PATCH', `/api/v1/users/${id}`, { role: 'dsl', reason: 'deputy DSL' });
    expect(asked.status).toBe(202);
    const puppet = new Client(h.url);
    expect((await puppet.login('sock.puppet', KNOWN)).json.role).toBe('it');
    expect((await puppet.req('GET', '/api/v1/alerts')).status).toBe(403);

    const approved = await lead.req('POST', `/api/v1/dsl-requests/${asked.json.request.id}/approve`);
    expect(approved.status).toBe(200);
    // The password the admin knew is gone with the old role.
    expect((await new Client(h.url).login('sock.puppet', KNOWN)).status).toBe(401);
    const login = await new Client(h.url).login('sock.puppet', approved.json.oneTimePassword);
    expect(login.json.role).toBe('dsl');
    expect(login.json.mustChangePassword).toBe(true);
  });

  it('resetting a DSL password is a request: the admin never receives the new password', async () => {
    const lead = await createStaffClient(h.url, h.adminToken, 'dsl.lead', 'dsl');
    const deputy = await createStaffClient(h.url, h.adminToken, 'dsl.deputy', 'dsl');
    const deputyId = (await deputy.req('GET', '/api/v1/auth/me')).json.user.id;
    const reset = await token.req('POST', `/api/v1/users/${deputyId}/reset-password`);
    expect(reset.status).toBe(202);
    expect(reset.json.oneTimePassword).toBeUndefined();
    // Nothing changed yet: the deputy's password and session still hold.
    expect((await new Client(h.url).login('dsl.deputy', STRONG)).status).toBe(200);
    expect((await deputy.req('GET', '/api/v1/alerts')).status).toBe(200);
    // The deputy cannot approve a reset of their own account; the lead can.
    expect((await deputy.req('POST', `/api/v1/dsl-requests/${reset.json.request.id}/approve`)).status).toBe(
      403,
    );
    const approved = await lead.req('POST', `/api/v1/dsl-requests/${reset.json.request.id}/approve`);
    expect(approved.status).toBe(200);
    expect((await deputy.req('GET', '/api/v1/alerts')).status).toBe(401);
    expect((await new Client(h.url).login('dsl.deputy', STRONG)).status).toBe(401);
  });

  it('two DSLs approving one reset at once: one gets the one-time password, the other 409; only that password works', async () => {
    const lead = await createStaffClient(h.url, h.adminToken, 'dsl.lead', 'dsl');
    const second = await createStaffClient(h.url, h.adminToken, 'dsl.second', 'dsl');
    const deputy = await createStaffClient(h.url, h.adminToken, 'dsl.deputy', 'dsl');
    const deputyId = (await deputy.req('GET', '/api/v1/auth/me')).json.user.id;
    const reset = await token.req('POST', `/api/v1/users/${deputyId}/reset-password`);
    expect(reset.status).toBe(202);
    const path = `/api/v1/dsl-requests/${reset.json.request.id}/approve`;
    // Before the claim, both passed the pending check and each reset the password: two one-time
    // passwords handed out, the first already dead.
    const answers = await Promise.all([lead.req('POST', path), second.req('POST', path)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const won = answers.find((a) => a.status === 200);
    expect((await new Client(h.url).login('dsl.deputy', won?.json.oneTimePassword)).status).toBe(200);
    const audit = await token.req('GET', `/api/v1/audit?action=user.dsl-approved&target=user:${deputyId}`);
    const forThis = audit.json.records.filter(
      (r: { details: { requestId?: string } }) => r.details.requestId === reset.json.request.id,
    );
    expect(forThis).toHaveLength(1);
  });

  it('the bootstrap does not reopen when every DSL is disabled; a DSL can reject', async () => {
    const lead = await createStaffClient(h.url, h.adminToken, 'dsl.lead', 'dsl');
    const leadId = (await lead.req('GET', '/api/v1/auth/me')).json.user.id;
    const rejected = await token.req('POST', '/api/v1/users', { username: 'mole', role: 'dsl' });
    expect(rejected.status).toBe(202);
    expect(
      (await lead.req('POST', `/api/v1/dsl-requests/${rejected.json.request.id}/reject`, { reason: 'no' }))
        .json.request.state,
    ).toBe('rejected');
    expect(
      (await token.req('PATCH', `/api/v1/users/${leadId}`, { disabled: true, reason: 'left' })).status,
    ).toBe(200);
    const again = await token.req('POST', '/api/v1/users', {
      username: 'mole2',
      role: 'dsl',
      password: KNOWN,
    });
    expect(again.status).toBe(400);
    expect((await token.req('POST', '/api/v1/users', { username: 'mole2', role: 'dsl' })).status).toBe(202);
    const users = (await token.req('GET', '/api/v1/users')).json.users.map(
      (u: { username: string }) => u.username,
    );
    expect(users).not.toContain('mole2');
  });
});
