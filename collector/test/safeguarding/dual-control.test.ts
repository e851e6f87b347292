// Dual control (issue 18 item 5) from outside, over plain HTTP: with it on, the screenshot of a
// severity ≥ threshold alert is refused to every caller — each role, the requester alone, a
// pending, rejected, expired or used approval, the approving DSL — until a SECOND DSL approves,
// and the audit record of the reveal names both. Evidence exports (which embed the images) are
// held to the same rule. The clock is the harness's (moved with h.advance).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_DUAL_CONTROL,
  decideApproval,
  decideReveal,
  type RevealRequest,
} from '../../src/safeguarding/dual-control-rules.ts';
import type { Alert, Device } from '../../src/store/types.ts';
import { Client, type Harness, startHarness, userClient } from '../auth/harness.ts';
import { makePng, seedAlert, seedDevice } from './seed.ts';

const ON = { ...DEFAULT_DUAL_CONTROL, enabled: true, minSeverity: 4 };
const MIN = 60_000;

describe('dual control decisions (pure)', () => {
  const alert = { id: 'a', severity: 5, screenshotBlobIds: ['b'] } as Alert;
  const req = (over: Partial<RevealRequest>): RevealRequest => ({
    id: 'r',
    alertId: 'a',
    severity: 5,
    reason: 'x',
    requestedBy: 'one',
    requestedAt: 0,
    expiresAt: 30 * MIN,
    state: 'pending',
    reveals: 0,
    ...over,
  });

  it('applies only when on, at or above the threshold, and with screenshots', () => {
    expect(decideReveal(DEFAULT_DUAL_CONTROL, alert, [], 0).ok).toBe(true);
    expect(decideReveal(ON, { ...alert, severity: 3 } as Alert, [], 0).ok).toBe(true);
    expect(decideReveal(ON, { ...alert, screenshotBlobIds: [] } as Alert, [], 0).ok).toBe(true);
    // Grading down does not lift it.
    expect(decideReveal(ON, { ...alert, grade: 1 } as Alert, [], 0)).toMatchObject({
      ok: false,
      code: 'CUST_ERR_DUAL_CONTROL_REQUIRED',
    });
  });

  it('names each state of a request with its own code', () => {
    const approved = req({ state: 'approved', decidedBy: 'two', decidedAt: MIN, revealUntil: 16 * MIN });
    expect(decideReveal(ON, alert, [req({})], MIN)).toMatchObject({ code: 'CUST_ERR_DUAL_CONTROL_PENDING' });
    expect(decideReveal(ON, alert, [req({})], 30 * MIN)).toMatchObject({ code: 'CUST_ERR_APPROVAL_EXPIRED' });
    expect(decideReveal(ON, alert, [approved], 2 * MIN)).toMatchObject({ ok: true, request: approved });
    expect(decideReveal(ON, alert, [approved], 16 * MIN)).toMatchObject({
      code: 'CUST_ERR_APPROVAL_EXPIRED',
    });
    expect(decideReveal(ON, alert, [{ ...approved, reveals: 1 }], 16 * MIN)).toMatchObject({
      code: 'CUST_ERR_APPROVAL_USED',
    });
    expect(decideReveal(ON, alert, [req({ state: 'rejected', decidedBy: 'two' })], MIN)).toMatchObject({
      code: 'CUST_ERR_DUAL_CONTROL_REQUIRED',
    });
    expect(decideApproval(req({}), 'one', MIN)).toMatchObject({ code: 'CUST_ERR_APPROVAL_OWN_REQUEST' });
    expect(decideApproval(req({}), 'two', 30 * MIN)).toMatchObject({ code: 'CUST_ERR_APPROVAL_EXPIRED' });
    expect(decideApproval(approved, 'three', 2 * MIN)).toMatchObject({ code: 'CUST_ERR_CONFLICT' });
    expect(decideApproval(req({}), 'two', MIN)).toEqual({ ok: true });
  });
});

describe('dual control with one DSL', () => {
  it('cannot be switched on: nobody could approve', async () => {
    const h = await startHarness();
    try {
      const solo = await userClient(h, 'dsl.solo', 'dsl');
      const r = await solo.req('PUT', '/api/v1/dual-control/settings', {
        enabled: true,
        minSeverity: 4,
        approvalWindowMinutes: 10,
        revealWindowMinutes: 5,
        reason: 'policy',
      });
      expect([r.status, r.json.error.code]).toEqual([409, 'CUST_ERR_CONFLICT']);
      expect((await solo.req('GET', '/api/v1/dual-control/settings')).json.settings.enabled).toBe(false);
    } finally {
      await h.close();
    }
  });
});

describe('dual control over HTTP', () => {
  let h: Harness;
  let one: Client;
  let two: Client;
  let itStaff: Client;
  let governor: Client;
  let admin: Client;
  let token: Client;
  let device: Device;
  let grave: Alert;
  let minor: Alert;
  const png = makePng(8, 8, [200, 10, 10]);
  const REASON = 'Pupil X disclosed to form tutor; need to see what was on screen';

  const shot = (c: Client, a: Alert) =>
    c.req('GET', `/api/v1/alerts/${a.id}/screenshots/${a.screenshotBlobIds[0]}`);
  const refused = async (c: Client, a: Alert, status: number, code: string) => {
    const r = await shot(c, a);
    expect(r.status, `${code}: ${r.text}`).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  };
  const ask = async (c: Client, a: Alert) => {
    const r = await c.req('POST', `/api/v1/alerts/${a.id}/reveal-requests`, { reason: REASON });
    expect(r.status, r.text).toBe(201);
    return r.json.request.id as string;
  };

  beforeAll(async () => {
    h = await startHarness();
    one = await userClient(h, 'dsl.one', 'dsl');
    two = await userClient(h, 'dsl.two', 'dsl');
    itStaff = await userClient(h, 'it.tech', 'it');
    governor = await userClient(h, 'gov.chair', 'governor');
    admin = await userClient(h, 'head.admin', 'admin');
    token = new Client(h.url, h.adminToken);
    device = await seedDevice(h.store);
    grave = await seedAlert(h.store, { device, severity: 5, screenshot: png });
    minor = await seedAlert(h.store, { device, severity: 2, screenshot: png, seq: 10 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is off by default: a DSL reveals directly', async () => {
    expect((await one.req('GET', '/api/v1/dual-control/settings')).json.settings).toMatchObject({
      enabled: false,
    });
    expect((await shot(one, grave)).status).toBe(200);
  });

  it('once on, refuses the screenshot to every role and to each DSL alone', async () => {
    const set = await one.req('PUT', '/api/v1/dual-control/settings', {
      enabled: true,
      minSeverity: 4,
      approvalWindowMinutes: 10,
      revealWindowMinutes: 5,
      reason: 'Belmont policy: do not view misuse alone',
    });
    expect(set.status, set.text).toBe(200);
    const rec = (await h.store.audit.list({ action: 'dual-control.changed' })).records[0];
    expect(rec?.details).toMatchObject({ to: { enabled: true, minSeverity: 4 }, from: { enabled: false } });

    for (const c of [itStaff, governor, admin, token]) await refused(c, grave, 403, 'CUST_ERR_FORBIDDEN');
    await refused(new Client(h.url), grave, 401, 'CUST_ERR_UNAUTHENTICATED');
    await refused(one, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    await refused(two, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    // The evidence exports embed the image: held to the same rule.
    const ex = await one.req('GET', `/api/v1/alerts/${grave.id}/export`);
    expect([ex.status, ex.json.error.code]).toEqual([403, 'CUST_ERR_DUAL_CONTROL_REQUIRED']);
    const esc = await one.req('POST', `/api/v1/alerts/${grave.id}/escalate`, {
      incident: { title: 'Concern' },
    });
    expect(esc.status).toBe(200);
    const inc = await one.req('GET', `/api/v1/incidents/${esc.json.incident.id}/export`);
    expect([inc.status, inc.json.error.code]).toEqual([403, 'CUST_ERR_DUAL_CONTROL_REQUIRED']);
    // Grading it down does not lift the rule; below the threshold nothing changes.
    expect((await one.req('POST', `/api/v1/alerts/${grave.id}/grade`, { grade: 1 })).status).toBe(200);
    await refused(one, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    expect((await shot(one, minor)).status).toBe(200);
    const access = await one.req('GET', `/api/v1/alerts/${grave.id}/reveal-access`);
    expect(access.json).toMatchObject({
      required: true,
      allowed: false,
      code: 'CUST_ERR_DUAL_CONTROL_REQUIRED',
    });
    // No view was recorded for the refused attempts.
    const views = await h.store.audit.list({ action: 'screenshot.viewed', target: `alert:${grave.id}` });
    expect(views.records).toHaveLength(1); // the one before dual control was on
  });

  it('refuses the requester alone: pending, own approval, not approved in time', async () => {
    const id = await ask(one, grave);
    await refused(one, grave, 403, 'CUST_ERR_DUAL_CONTROL_PENDING');
    const own = await one.req('POST', `/api/v1/dual-control/requests/${id}/approve`, {});
    expect([own.status, own.json.error.code]).toEqual([403, 'CUST_ERR_APPROVAL_OWN_REQUEST']);
    // A second request while one is open is a conflict, not a second chance.
    const again = await one.req('POST', `/api/v1/alerts/${grave.id}/reveal-requests`, { reason: REASON });
    expect([again.status, again.json.error.code]).toEqual([409, 'CUST_ERR_CONFLICT']);
    // The other DSLs are told, without the reason or any alert content.
    const notes = (await two.req('GET', '/api/v1/notifications')).json.notifications;
    const told = notes.find((n: { kind: string }) => n.kind === 'dual-control.requested');
    expect(told.details).toMatchObject({ requestId: id, alertId: grave.id, requestedBy: 'dsl.one' });
    expect(JSON.stringify(told)).not.toContain('disclosed');
    expect(JSON.stringify(told)).not.toContain('kms');

    h.advance(11 * MIN);
    await refused(one, grave, 403, 'CUST_ERR_APPROVAL_EXPIRED');
    const late = await two.req('POST', `/api/v1/dual-control/requests/${id}/approve`, {});
    expect([late.status, late.json.error.code]).toEqual([409, 'CUST_ERR_APPROVAL_EXPIRED']);
    await refused(one, grave, 403, 'CUST_ERR_APPROVAL_EXPIRED');
  });

  it('a rejected request reveals nothing', async () => {
    const id = await ask(one, grave);
    const r = await two.req('POST', `/api/v1/dual-control/requests/${id}/reject`, {
      reason: 'talk to me first',
    });
    expect(r.status).toBe(200);
    expect(r.json.request.stateNow).toBe('rejected');
    await refused(one, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    const rec = (await h.store.audit.list({ action: 'reveal.rejected' })).records[0];
    expect(rec).toMatchObject({ actor: 'dsl.two', details: { requestId: id, requestedBy: 'dsl.one' } });
  });

  it('approved by a second DSL: the requester (only) reveals, and the audit record names both', async () => {
    const id = await ask(one, grave);
    const ok = await two.req('POST', `/api/v1/dual-control/requests/${id}/approve`, {});
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.request).toMatchObject({ stateNow: 'approved', decidedBy: 'dsl.two' });
    const twice = await two.req('POST', `/api/v1/dual-control/requests/${id}/approve`, {});
    expect([twice.status, twice.json.error.code]).toEqual([409, 'CUST_ERR_CONFLICT']);

    const r = await shot(one, grave);
    expect(r.status).toBe(200);
    expect(Buffer.from(r.bytes).equals(Buffer.from(png))).toBe(true);
    const view = (await h.store.audit.list({ action: 'screenshot.viewed', target: `alert:${grave.id}` }))
      .records[0];
    expect(view).toMatchObject({
      actor: 'dsl.one',
      details: {
        dualControl: { requestId: id, requestedBy: 'dsl.one', approvedBy: 'dsl.two', reason: REASON },
      },
    });
    // The approver did not ask: the approval is not theirs.
    await refused(two, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    const ex = await one.req('GET', `/api/v1/alerts/${grave.id}/export`);
    expect(ex.status).toBe(200);
    const exRec = (await h.store.audit.list({ action: 'evidence.exported', target: `alert:${grave.id}` }))
      .records[0];
    expect(exRec?.details).toMatchObject({
      dualControl: [{ alertId: grave.id, requestedBy: 'dsl.one', approvedBy: 'dsl.two' }],
    });

    h.advance(6 * MIN);
    await refused(one, grave, 403, 'CUST_ERR_APPROVAL_USED');
    const ex2 = await one.req('GET', `/api/v1/alerts/${grave.id}/export`);
    expect([ex2.status, ex2.json.error.code]).toEqual([403, 'CUST_ERR_APPROVAL_USED']);
  });

  it('an approval left unused past its window is expired', async () => {
    const id = await ask(one, grave);
    expect((await two.req('POST', `/api/v1/dual-control/requests/${id}/approve`, {})).status).toBe(200);
    h.advance(6 * MIN);
    await refused(one, grave, 403, 'CUST_ERR_APPROVAL_EXPIRED');
    const list = await two.req('GET', '/api/v1/dual-control/requests?state=expired');
    expect(list.json.requests.map((x: { id: string }) => x.id)).toContain(id);
  });

  it('switching it off alone is held for a second DSL, and audited with both names', async () => {
    const offBody = {
      enabled: false,
      minSeverity: 4,
      approvalWindowMinutes: 10,
      revealWindowMinutes: 5,
      reason: 'trial over',
    };
    // One DSL alone: not applied, and the screenshot stays refused to them.
    const asked = await two.req('PUT', '/api/v1/dual-control/settings', offBody);
    expect(asked.status, asked.text).toBe(202);
    expect(asked.json.settings.enabled).toBe(true);
    expect(asked.json.pending).toMatchObject({ requestedBy: 'dsl.two', to: { enabled: false } });
    await refused(two, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    const own = await two.req('POST', '/api/v1/dual-control/settings/approve', {});
    expect([own.status, own.json.error.code]).toEqual([403, 'CUST_ERR_APPROVAL_OWN_REQUEST']);
    const told = (await one.req('GET', '/api/v1/notifications')).json.notifications[0];
    expect(told).toMatchObject({ kind: 'dual-control.change-requested', details: { by: 'dsl.two' } });
    // Not approved in time: refused, still on.
    h.advance(11 * MIN);
    const late = await one.req('POST', '/api/v1/dual-control/settings/approve', {});
    expect([late.status, late.json.error.code]).toEqual([409, 'CUST_ERR_APPROVAL_EXPIRED']);
    expect((await one.req('GET', '/api/v1/dual-control/settings')).json).toMatchObject({
      settings: { enabled: true },
      pending: null,
    });
    // A raised threshold is a loosening too.
    expect(
      (await two.req('PUT', '/api/v1/dual-control/settings', { ...offBody, enabled: true, minSeverity: 5 }))
        .status,
    ).toBe(202);

    // Asked again and approved by the other DSL: applied, both on the audit record.
    expect((await two.req('PUT', '/api/v1/dual-control/settings', offBody)).status).toBe(202);
    const ok = await one.req('POST', '/api/v1/dual-control/settings/approve', {});
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.settings).toMatchObject({ enabled: false, updatedBy: 'dsl.two' });
    const rec = (await h.store.audit.list({ action: 'dual-control.changed' })).records[0];
    expect(rec).toMatchObject({
      actor: 'dsl.one',
      details: {
        requestedBy: 'dsl.two',
        approvedBy: 'dsl.one',
        to: { enabled: false },
        reason: 'trial over',
      },
    });
    const notes = (await one.req('GET', '/api/v1/notifications')).json.notifications;
    expect(notes[0]).toMatchObject({ kind: 'dual-control.loosened', details: { approvedBy: 'dsl.one' } });
    expect((await shot(one, grave)).status).toBe(200);
    // Switching it on (tightening) needs nobody else.
    const on = await one.req('PUT', '/api/v1/dual-control/settings', {
      ...offBody,
      enabled: true,
      reason: 'back on',
    });
    expect(on.status).toBe(200);
    await refused(two, grave, 403, 'CUST_ERR_DUAL_CONTROL_REQUIRED');
    const bad = await one.req('PUT', '/api/v1/dual-control/settings', {
      enabled: true,
      minSeverity: 9,
      approvalWindowMinutes: 10,
      revealWindowMinutes: 5,
      reason: 'x',
    });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'CUST_ERR_INVALID_INPUT']);
  });
});
