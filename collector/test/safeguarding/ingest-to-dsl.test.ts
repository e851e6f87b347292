// The whole path in one process: a real `ws` agent client uploads a screenshot and a flagged
// event to the real app (ingest opens the alert atomically), the DSL's live feed announces it,
// the queue lists it, the screenshot decrypts to the exact PNG, and the view is audited.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { createAuthModule } from '../../src/auth/index.ts';
import { defaultConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { Client, createStaffClient, STRONG, TEST_SCRYPT } from '../auth/harness.ts';
import { AgentClient, flagged, heartbeat, sha256 } from '../helpers/agent-client.ts';
import { passwordOnly } from '../helpers/password-only.ts';
import { makePng } from './seed.ts';

const ADMIN_TOKEN = randomBytes(32).toString('base64url');
const ENROL_SECRET = randomBytes(32).toString('base64url');
let app: App;
let url: string;
let wsUrl: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custodian-sg-e2e-'));
  const config = {
    ...passwordOnly(defaultConfig(join(dir, 'data'))),
    port: 0,
    screenshotKeyFile: join(dir, 'screenshot.key'),
  };
  app = await createApp({
    config,
    env: { CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN, CUSTODIAN_ENROL_SECRET: ENROL_SECRET },
    log: createLogger('silent'),
    modules: [createAuthModule({ scrypt: TEST_SCRYPT, onFirstAdmin: () => undefined }), safeguardingModule],
  });
  ({ url, wsUrl } = await app.start());
});
afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Reads an SSE response until an `event: alert` frame arrives; returns its JSON. */
async function nextAlertEvent(body: ReadableStream<Uint8Array>): Promise<Record<string, unknown>> {
  const reader = body.getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('feed ended');
    buf += Buffer.from(value).toString('utf8');
    const m = /event: alert\ndata: (.*)\n\n/.exec(buf);
    if (m) {
      await reader.cancel();
      return JSON.parse(m[1] as string);
    }
  }
}

describe('flagged activity from a real ingest session to the DSL', () => {
  it('opens an alert, pushes it live, and serves the screenshot only to the DSL, audited', async () => {
    const admin = new Client(url, ADMIN_TOKEN);
    // The first DSL account (bootstrap): one-time password, changed to STRONG at first sign-in.
    const dsl = await createStaffClient(url, ADMIN_TOKEN, 'dsl.e2e', 'dsl');

    const feed = await fetch(`${url}/api/v1/alerts/live`, { headers: { cookie: dsl.cookie as string } });
    expect(feed.status).toBe(200);
    expect(feed.headers.get('content-type')).toContain('text/event-stream');
    const announced = nextAlertEvent(feed.body as ReadableStream<Uint8Array>);

    const enrol = await fetch(`${url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: ENROL_SECRET,
        machineId: randomUUID(),
        hostname: 'Y9-LAPTOP-07',
        os: 'linux',
        serial: 'SN7',
      }),
    });
    const { deviceId, deviceKey } = (await enrol.json()) as { deviceId: string; deviceKey: string };

    const agent = new AgentClient(wsUrl);
    try {
      const streamId = randomUUID();
      await agent.hello(deviceId, deviceKey, streamId);
      const png = makePng(320, 200, [10, 120, 250]);
      const blobId = randomUUID();
      agent.send({
        blobChunk: {
          blobId,
          index: 0,
          totalChunks: 1,
          totalSize: png.byteLength,
          sha256: sha256(png),
          contentType: 'image/png',
          data: png,
        },
      });
      expect((await agent.next('blobAck')).blobAck?.status).toBe(1); // STORED
      const ack = await agent.batch(streamId, [heartbeat(1), flagged(2, 'unalive', [blobId])]);
      expect(Number(ack.seq)).toBe(2);

      const live = await announced;
      expect(live).toMatchObject({
        term: 'unalive',
        hostname: 'Y9-LAPTOP-07',
        screenshotCount: 1,
        status: 'new',
      });

      const list = await dsl.req('GET', '/api/v1/alerts?status=new');
      expect(list.json.alerts).toHaveLength(1);
      const alertId = list.json.alerts[0].id as string;
      expect(alertId).toBe(live.id);
      const detail = await dsl.req('GET', `/api/v1/alerts/${alertId}`);
      expect(detail.json.user).toBe('pupil1');
      const shotUrl = detail.json.screenshots[0].url as string;

      const it1 = new Client(url);
      await admin.req('POST', '/api/v1/users', {
        username: 'it.e2e',
        role: 'it',
        password: STRONG,
        mustChangePassword: false,
      });
      await it1.login('it.e2e', STRONG);
      expect((await it1.req('GET', shotUrl)).status).toBe(403);
      expect((await it1.req('GET', '/api/v1/alerts/live')).status).toBe(403);

      const shot = await dsl.req('GET', shotUrl);
      expect(shot.status).toBe(200);
      expect(Buffer.from(shot.bytes).equals(Buffer.from(png))).toBe(true);
      const views = await app.store.audit.list({ action: 'screenshot.viewed', target: `alert:${alertId}` });
      expect(views.records).toHaveLength(1);
      expect(views.records[0]?.actor).toBe('dsl.e2e');
    } finally {
      agent.close();
    }
  });

  it('shows logins, screenshot views, exports, policy and role changes in the admin audit API', async () => {
    const admin = new Client(url, ADMIN_TOKEN);
    const dsl = new Client(url);
    expect((await dsl.login('dsl.e2e', STRONG)).status).toBe(200);
    const alertId = (await dsl.req('GET', '/api/v1/alerts')).json.alerts[0].id as string;
    expect((await dsl.req('GET', `/api/v1/alerts/${alertId}/export`)).status).toBe(200);
    const it1 = new Client(url);
    await it1.login('it.e2e', STRONG);
    const policy = await it1.req('PUT', '/api/v1/policy', {
      policy: { idleLock: { idleLockSeconds: 600 } },
      reason: 'Y9 exams',
    });
    expect(policy.status).toBe(200);
    const users = (await admin.req('GET', '/api/v1/users')).json.users as { id: string; username: string }[];
    const itId = users.find((u) => u.username === 'it.e2e')?.id as string;
    expect(
      (await admin.req('PATCH', `/api/v1/users/${itId}`, { role: 'governor', reason: 'moved to governance' }))
        .status,
    ).toBe(200);
    await new Client(url).login('dsl.e2e', 'wrong password here');

    const all = await admin.req('GET', '/api/v1/audit?limit=1000');
    expect(all.status).toBe(200);
    const actions = new Set((all.json.records as { action: string }[]).map((r) => r.action));
    for (const a of [
      'auth.login',
      'auth.login-failed',
      'screenshot.viewed',
      'evidence.exported',
      'policy.change',
      'user.role-changed',
    ])
      expect(actions, a).toContain(a);
    const policyRec = (await admin.req('GET', '/api/v1/audit?action=policy.change')).json.records[0];
    expect(policyRec).toMatchObject({
      actor: 'it.e2e',
      target: 'policy:default',
      details: { reason: 'Y9 exams' },
    });
    const logins = await admin.req('GET', '/api/v1/audit?actionPrefix=auth.');
    expect((logins.json.records as { action: string }[]).every((r) => r.action.startsWith('auth.'))).toBe(
      true,
    );
    // Only admins read the audit log.
    expect((await dsl.req('GET', '/api/v1/audit')).status).toBe(403);
  });
});
