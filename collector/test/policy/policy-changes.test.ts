// Issue 10 item 7 over plain HTTP with each role: governors get the policy change log without
// names and reasons; the DSL reads the full log; switching capture off or lowering it (on the
// default or on one device) leaves a notification for the DSL, raising it does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthModule } from '../../src/auth/index.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { type Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
const as: Record<'admin' | 'it' | 'dsl' | 'governor', Client> = {} as never;

beforeAll(async () => {
  h = await startHarness({ modules: [createAuthModule({ scrypt: TEST_SCRYPT }), safeguardingModule] });
  for (const role of ['admin', 'it', 'dsl', 'governor'] as const)
    as[role] = await createStaffClient(h.url, h.adminToken, `pc.${role}`, role);
});
afterAll(async () => {
  await h?.close();
});

const SECRET_REASON = 'Year 9 pupil Jamie asked us to stop';

async function captureNotices(): Promise<
  { subject: string; details: { scope: string; changes: string[] } }[]
> {
  const r = await as.dsl.req('GET', '/api/v1/notifications');
  expect(r.status).toBe(200);
  return r.json.notifications.filter((n: { kind: string }) => n.kind === 'capture.lowered');
}

async function waitForNotices(count: number) {
  await expect.poll(async () => (await captureNotices()).length, { timeout: 10_000 }).toBe(count);
  return captureNotices();
}

describe('policy change log and capture notifications (issue 10 item 7)', () => {
  it('notifies the DSL when the default capture is lowered, and not when it is raised', async () => {
    const lowered = await as.it.req('PUT', '/api/v1/policy', {
      policy: { capture: { minSeverity: 5, categories: ['self-harm'] } },
      reason: SECRET_REASON,
    });
    expect(lowered.status).toBe(200);
    const [notice] = await waitForNotices(1);
    expect(notice?.details.scope).toBe('default');
    expect(notice?.details.changes).toEqual([
      'minimum severity raised from 3 to 5',
      'categories narrowed from all to self-harm',
    ]);
    expect(notice?.subject).toContain('pc.it');

    const raised = await as.admin.req('PUT', '/api/v1/policy', {
      policy: { capture: { minSeverity: 2, categories: [] } },
      reason: 'back to normal',
    });
    expect(raised.status).toBe(200);
    // A marker change after it: once the marker's notice is in, the raise would have been too.
    const dev = await h.enrol();
    expect(
      (
        await as.it.req('PUT', `/api/v1/devices/${dev.deviceId}/policy`, {
          policy: { capture: { enabled: false } },
          reason: 'exam laptop',
        })
      ).status,
    ).toBe(200);
    const notices = await waitForNotices(2);
    expect(notices[0]?.details.scope).toBe(dev.deviceId);
    expect(notices[0]?.details.changes).toEqual(['capture switched off']);
  });

  it('gives governors the change log without names or reasons; DSL, IT and admin see it all', async () => {
    const gov = await as.governor.req('GET', '/api/v1/policy/changes');
    expect(gov.status).toBe(200);
    expect(gov.json.anonymised).toBe(true);
    expect(gov.json.records.length).toBeGreaterThanOrEqual(3);
    for (const r of gov.json.records) {
      expect(r.reason).toBeNull();
      expect(['staff', 'system']).toContain(r.actor);
    }
    expect(gov.text).not.toContain('Jamie');
    expect(gov.text).not.toContain('pc.it');
    for (const role of ['dsl', 'it', 'admin'] as const) {
      const full = await as[role].req('GET', '/api/v1/policy/changes');
      expect(full.status, role).toBe(200);
      expect(full.json.records.map((r: { reason: string }) => r.reason)).toContain(SECRET_REASON);
      expect(full.json.records.map((r: { actor: string }) => r.actor)).toContain('pc.it');
    }
    // The capture notices are the DSL's: IT and governors read only what is addressed to their role.
    for (const role of ['it', 'governor', 'admin'] as const) {
      const r = await as[role].req('GET', '/api/v1/notifications');
      expect(r.status, role).toBe(200);
      expect(
        r.json.notifications.filter((n: { kind: string }) => n.kind === 'capture.lowered'),
        role,
      ).toEqual([]);
      expect(r.text, role).not.toContain(SECRET_REASON);
    }
  });

  it('notifies the DSL when a school or group layer lowers capture, merged over the layers above', async () => {
    const layer = await as.admin.req('PUT', '/api/v1/policy/schools/default', {
      policy: { capture: { enabled: false } },
      reason: 'school wants it off',
    });
    expect(layer.status).toBe(200);
    const notices = await waitForNotices(3);
    expect(notices[0]?.details.scope).toBe('school:default');
    expect(notices[0]?.details.changes).toEqual(['capture switched off']);
    expect(notices[0]?.subject).toContain('the school default layer');
    // Governors read the layer's log anonymised.
    const gov = await as.governor.req('GET', '/api/v1/policy/schools/default/changes');
    expect(gov.status).toBe(200);
    expect(gov.json.anonymised).toBe(true);
    expect(gov.json.records[0]).toMatchObject({ scope: 'school:default', actor: 'staff', reason: null });
  });
});
