// SSO accounts in the staff API: no password to reset or guess, and a role a person gives (also
// through a DSL's approval) is kept rather than overwritten by the group mapping at next sign-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingSsoUser } from '../../src/auth/oidc.ts';
import { Client, createStaffClient, type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const link = (subject: string) => ({
  provider: 'school',
  issuer: 'https://idp.school.example',
  subject,
  email: `${subject}@school.example`,
});

describe('SSO accounts', () => {
  it('have no password: reset is refused and password sign-in fails like an unknown user', async () => {
    const u = await h.auth.users.createSso(
      link('ann'),
      { displayName: 'Ann', role: 'it', roleFrom: 'mapping' },
      't',
    );
    const token = new Client(h.url, h.adminToken);
    const reset = await token.req('POST', `/api/v1/users/${u.id}/reset-password`, {});
    expect(reset.status).toBe(409);
    expect((await new Client(h.url).login('ann', 'whatever password 123')).status).toBe(401);
    // The same subject cannot be linked twice.
    await expect(
      h.auth.users.createSso(link('ann'), { displayName: 'Ann', role: 'it', roleFrom: 'mapping' }, 't'),
    ).rejects.toThrow(/already has an account/);
  });

  it("a person's role change (direct or a DSL's approval) takes the role away from the mapping", async () => {
    const u = await h.auth.users.createSso(
      link('ben'),
      { displayName: 'Ben', role: 'it', roleFrom: 'mapping' },
      't',
    );
    const token = new Client(h.url, h.adminToken);
    const gov = await token.req('PATCH', `/api/v1/users/${u.id}`, { role: 'governor', reason: 'chair' });
    expect(gov.status).toBe(200);
    expect(gov.json.user.roleFrom).toBe('admin');
    const v = await h.auth.users.createSso(
      link('cat'),
      { displayName: 'Cat', role: 'it', roleFrom: 'mapping' },
      't',
    );
    await createStaffClient(h.url, h.adminToken, 'first-dsl', 'dsl');
    const approver = await createStaffClient(h.url, h.adminToken, 'second-dsl', 'dsl');
    const req = await token.req('PATCH', `/api/v1/users/${v.id}`, { role: 'dsl', reason: 'deputy DSL' });
    expect(req.status).toBe(202);
    const ok = await approver.req('POST', `/api/v1/dsl-requests/${req.json.request.id}/approve`);
    expect(ok.status).toBe(200);
    expect(ok.json.oneTimePassword).toBe('');
    const after = await h.auth.users.get(v.id);
    expect(after).toMatchObject({
      role: 'dsl',
      roleFrom: 'admin',
      mustChangePassword: false,
      passwordHash: '',
    });
  });

  it('an admin refuses a pending SSO user: off the waiting list, no account, reason audited', async () => {
    const pending = h.store.kv<PendingSsoUser>('sso-pending');
    const now = Date.now();
    await pending.put('p-dan', {
      id: 'p-dan',
      provider: 'school',
      issuer: 'https://idp.school.example',
      subject: 'dan',
      email: 'dan@elsewhere.example',
      name: 'Dan',
      firstSeenAt: now,
      lastSeenAt: now,
    });
    const token = new Client(h.url, h.adminToken);
    const noReason = await token.req('POST', '/api/v1/auth/sso/pending/p-dan/refuse', {});
    expect(noReason.status).toBe(400);
    const r = await token.req('POST', '/api/v1/auth/sso/pending/p-dan/refuse', { reason: 'not our staff' });
    expect(r.status).toBe(200);
    expect(r.json.refused).toMatchObject({ id: 'p-dan', email: 'dan@elsewhere.example' });
    expect(await pending.get('p-dan')).toBeUndefined();
    expect((await token.req('GET', '/api/v1/auth/sso/pending')).json.pending).toEqual([]);
    expect((await h.auth.users.list()).some((u) => u.sso?.subject === 'dan')).toBe(false);
    const audit = await token.req('GET', '/api/v1/audit?action=auth.sso-pending-refused');
    expect(audit.json.records[0]).toMatchObject({
      target: 'sso-pending:p-dan',
      details: { reason: 'not our staff', email: 'dan@elsewhere.example' },
    });
    expect(
      (await token.req('POST', '/api/v1/auth/sso/pending/p-dan/refuse', { reason: 'again' })).status,
    ).toBe(404);
  });

  it('a provider that cannot be reached: /start sends the browser back to the login page, audited once', async () => {
    const token = new Client(h.url, h.adminToken);
    const put = await token.req('PUT', '/api/v1/auth/sign-in-settings', {
      publicUrl: h.url,
      providers: [
        {
          id: 'down',
          label: 'Down IdP',
          preset: 'generic',
          issuer: 'http://127.0.0.1:1',
          clientId: 'c',
          clientSecret: 's',
          scopes: ['openid'],
          groupsClaim: '',
          roleMapping: [],
          allowedDomains: [],
          enabled: true,
        },
      ],
      localLoginDisabledRoles: [],
      mfaRequiredRoles: [],
    });
    expect(put.status).toBe(200);
    const listed = await new Client(h.url).req('GET', '/api/v1/auth/sso/providers');
    expect(listed.json.providers).toEqual([
      { id: 'down', label: 'Down IdP', start: '/api/v1/auth/sso/down/start' },
    ]);
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${h.url}/api/v1/auth/sso/down/start`, { redirect: 'manual' });
      expect(r.status).toBe(302);
      expect(r.headers.get('location')).toBe(`${h.url}/#/login?sso=CUST_ERR_SSO_FAILED`);
    }
    const audit = await token.req('GET', '/api/v1/audit?action=auth.sso-failed');
    expect(
      audit.json.records.filter((r: { details: { reason: string } }) => r.details.reason === 'discovery'),
    ).toHaveLength(1);
    expect((await fetch(`${h.url}/api/v1/auth/sso/nope/start`, { redirect: 'manual' })).status).toBe(404);
  });
});
