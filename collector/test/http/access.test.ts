// Role rules of the collector-core routes, with staff principals supplied by a test
// authenticator (the real cookie sessions belong to the auth module and its tests).
import { v1 } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timelineItem } from '../../src/devices/views.ts';
import type { Principal, Role } from '../../src/http/router.ts';
import { AgentClient, flagged, newStreamId } from '../helpers/agent-client.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
let deviceId: string;
beforeAll(async () => {
  h = await startHarness();
  // Test-only staff sessions: `x-test-role: it` (CSRF token "csrf-<role>").
  h.app.hooks.authenticators.push((req) => {
    const role = req.headers['x-test-role'];
    if (typeof role !== 'string') return undefined;
    return {
      kind: 'staff',
      userId: `u-${role}`,
      username: `${role}1`,
      role: role as Role,
      sessionId: 's',
      csrfToken: `csrf-${role}`,
    };
  });
  const dev = await h.enrol();
  deviceId = dev.deviceId;
  const c = new AgentClient(h.wsUrl);
  const stream = newStreamId();
  await c.hello(dev.deviceId, dev.deviceKey, stream);
  await c.batch(stream, [flagged(1, 'unalive')]);
  c.close();
});
afterAll(async () => {
  await h?.close();
});

async function as(role: string, method: string, path: string, body?: unknown, csrf = true) {
  const headers: Record<string, string> = { 'x-test-role': role };
  if (csrf) headers['x-csrf-token'] = `csrf-${role}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(h.url + path, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly
  return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
}

describe('access rules', () => {
  it.each([
    ['governor', 'GET', '/api/v1/devices', 403],
    ['it', 'GET', '/api/v1/devices', 200],
    ['dsl', 'GET', '/api/v1/devices', 200],
    ['it', 'POST', '/api/v1/enrol/codes', 403],
    ['dsl', 'PUT', '/api/v1/policy', 403],
    ['governor', 'GET', '/api/v1/policy/changes', 200],
    ['it', 'POST', '/api/v1/retention/purge', 403],
  ])('%s %s %s → %i', async (role, method, path, status) => {
    expect((await as(role, method, path, method === 'GET' ? undefined : {})).status).toBe(status);
  });

  it('refuses a state-changing staff request without the CSRF token', async () => {
    const res = await as(
      'it',
      'PUT',
      '/api/v1/policy',
      { policy: { heartbeatSeconds: 45 }, reason: 'x' },
      false,
    );
    expect(res).toMatchObject({ status: 403, json: { error: { code: 'CUST_ERR_CSRF' } } });
    const ok = await as('it', 'PUT', '/api/v1/policy', { policy: { heartbeatSeconds: 45 }, reason: 'x' });
    expect(ok.status).toBe(200);
    const change = (await h.api('GET', '/api/v1/policy/changes?limit=1')).json.records[0];
    expect(change.actor).toBe('it1');
  });

  it('IT sees that a flag exists in the timeline, never its content; the DSL sees it', async () => {
    const it = await as('it', 'GET', `/api/v1/devices/${deviceId}/timeline`);
    expect(it.json.events[0].event.flaggedActivity).toEqual({ redacted: true });
    expect(JSON.stringify(it.json)).not.toContain('unalive');
    expect(it.json.events[0].alertId).toMatch(/^al_/);
    const dsl = await as('dsl', 'GET', `/api/v1/devices/${deviceId}/timeline`);
    expect(dsl.json.events[0].event.flaggedActivity.matchedTerm).toBe('unalive');
  });

  it('unauthenticated reads are refused', async () => {
    for (const path of [
      '/api/v1/devices',
      `/api/v1/devices/${deviceId}/timeline`,
      '/api/v1/policy',
      '/api/v1/live',
    ]) {
      expect((await h.api('GET', path, undefined, null)).status).toBe(401);
    }
  });

  it('views: governors and the admin token get flags redacted, the DSL sees them', () => {
    const event = v1.Event.encode(flagged(7, 'kms')).finish();
    const rec = {
      deviceId: 'd',
      streamId: 's',
      seq: 7,
      time: 1,
      agentTimeMs: 1,
      receivedAt: 1,
      kind: 'flaggedActivity',
      event,
    };
    const gov: Principal = {
      kind: 'staff',
      userId: 'g',
      username: 'g',
      role: 'governor',
      sessionId: 's',
      csrfToken: 'c',
    };
    const token: Principal = { kind: 'token', role: 'admin', username: 'admin-token' };
    const as = (principal: Principal) => ({ principal, browsing: 'full-title' as const });
    expect((timelineItem(rec, as(gov)).event as Record<string, unknown>)['flaggedActivity']).toEqual({
      redacted: true,
    });
    expect(JSON.stringify(timelineItem(rec, as(token)))).not.toContain('kms');
    const dsl: Principal = { ...gov, userId: 'd', username: 'd', role: 'dsl' };
    expect(JSON.stringify(timelineItem(rec, as(dsl)))).toContain('kms');
  });
});
