// Notifications end to end in one process with real parts: a real agent-protocol client flags
// activity, ingest opens the alert, and the notify module sends the DSL an email through a
// real SMTP server and a signed webhook to a real HTTP receiver. The email carries none of the
// flagged content; its link opens the alert after sign-in. Settings over HTTP per role. In a
// trust, a school's own notify layer routes that school's alerts to its own DSLs.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.ts';
import { type App, createApp } from '../../src/app.ts';
import { createAuthModule } from '../../src/auth/index.ts';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../../src/auth/notifications.ts';
import { defaultConfig } from '../../src/config.ts';
import { consoleModule } from '../../src/console/index.ts';
import { createLogger } from '../../src/log.ts';
import { createNotifyModule } from '../../src/notify/index.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { AgentClient, flagged } from '../helpers/agent-client.ts';
import { metricValue, scrapeMetrics } from '../helpers/metrics-scrape.ts';
import { passwordOnly } from '../helpers/password-only.ts';
import { decodedMail, startSmtp, startWebhookReceiver } from './receivers.ts';

const ADMIN_TOKEN = randomBytes(32).toString('base64url');
const ENROL_SECRET = randomBytes(32).toString('base64url');
let app: App;
let url: string;
let wsUrl: string;
let dir: string;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let admin: Client;
let dsl: Client;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custodian-notify-'));
  smtp = await startSmtp();
  const config = {
    ...passwordOnly(defaultConfig(join(dir, 'data'))),
    port: 0,
    screenshotKeyFile: join(dir, 'screenshot.key'),
  };
  app = await createApp({
    config,
    env: { CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN, CUSTODIAN_ENROL_SECRET: ENROL_SECRET },
    log: createLogger('silent'),
    modules: [
      createAuthModule({ scrypt: TEST_SCRYPT, onFirstAdmin: () => undefined }),
      safeguardingModule,
      createNotifyModule({ tickMs: 100 }),
      consoleModule,
    ],
  });
  ({ url, wsUrl } = await app.start());
  admin = new Client(url, ADMIN_TOKEN);
  dsl = await createStaffClient(url, ADMIN_TOKEN, 'dsl.one', 'dsl');
  const put = await admin.req('PUT', '/api/v1/notify/settings', {
    alertMinSeverity: 4,
    smtp: {
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      user: '',
      password: 'relay-pass-123',
      from: 'custodian@school.test',
    },
    contacts: [
      { id: 'dsl1', name: 'Dee Lead', email: 'dsl1@school.test', role: 'dsl' },
      { id: 'dsl2', name: 'Deputy', email: 'dsl2@school.test', role: 'dsl' },
      { id: 'it1', name: 'Network Manager', email: 'it1@school.test', role: 'it' },
    ],
    rota: {
      escalateAfterMinutes: 15,
      stopOn: 'acknowledged',
      bands: [{ minSeverity: 1, window: 'any', contacts: ['dsl1', 'dsl2'] }],
    },
    delivery: { retryBaseSeconds: 1, maxAttempts: 10 },
  });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await app?.stop();
  await smtp?.close();
  await rm(dir, { recursive: true, force: true });
});

async function enrolAndFlag(term: string, secret = ENROL_SECRET): Promise<{ deviceId: string }> {
  const enrol = await fetch(`${url}/api/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      secret,
      machineId: randomUUID(),
      hostname: 'lap-1',
      os: 'linux',
      serial: 'S1',
    }),
  });
  const { deviceId, deviceKey } = (await enrol.json()) as { deviceId: string; deviceKey: string };
  const agent = new AgentClient(wsUrl);
  const stream = randomUUID();
  await agent.hello(deviceId, deviceKey, stream);
  const ack = await agent.batch(stream, [flagged(1, term)]);
  expect(Number(ack.seq)).toBe(1);
  agent.close();
  return { deviceId };
}

describe('alert → email to the first DSL on the rota', () => {
  it('arrives with no flagged content, and its link opens the alert after sign-in', async () => {
    const term = `zqx${randomBytes(4).toString('hex')}`;
    const before = smtp.mails.length;
    const { deviceId } = await enrolAndFlag(term);
    const mails = await smtp.waitFor(before + 1);
    const mail = mails[before]!;
    expect(mail.to).toEqual(['dsl1@school.test']);
    expect(mail.raw).not.toMatch(/Content-Transfer-Encoding: base64/i);
    const text = decodedMail(mail.raw);
    // What the agent flagged (flagged() in agent-client.ts): term, context "... term ...",
    // window title "how to term", URL https://example.test/?q=x.
    for (const secret of [term, `how to ${term}`, `... ${term} ...`, 'example.test', 'pupil1'])
      expect(text).not.toContain(secret);
    expect(text).toContain('severity 4');
    expect(text).toContain('self-harm');
    expect(text).toContain(deviceId);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/#\/alerts\/([A-Za-z0-9_-]+))/.exec(text);
    expect(link?.[1]?.startsWith(url)).toBe(true);
    const linkUrl = link?.[1] ?? '';
    const alertId = link?.[2] ?? '';

    // The link's alert: refused without a session, opened by the DSL once signed in.
    expect((await new Client(url).req('GET', `/api/v1/alerts/${alertId}`)).status).toBe(401);
    const opened = await dsl.req('GET', `/api/v1/alerts/${alertId}`);
    expect(opened.status).toBe(200);
    expect(opened.json.alert.term).toBe(term);
    // The console shell at the link's address is served.
    expect((await fetch(linkUrl.split('#')[0] ?? '')).status).toBe(200);

    // The notification is in the alert's history and the audit log.
    const stored = await waitFor(
      async () => {
        const a = await app.store.alerts.get(alertId);
        return a?.history.some((h) => h.action === 'notified') ? a : undefined;
      },
      'notified in history',
      10_000,
    );
    expect(stored.history.find((h) => h.action === 'notified')).toMatchObject({
      to: 'contact:dsl1',
      from: 'email',
    });
    const trail = await app.store.audit.list({ target: `alert:${alertId}` });
    expect(trail.records.map((r) => r.action)).toContain('alert.notified');

    // Opening in the console and acknowledging are recorded; acknowledgement stops the rota.
    expect((await dsl.req('POST', `/api/v1/alerts/${alertId}/viewed`, {})).status).toBe(200);
    const ack = await dsl.req('POST', `/api/v1/alerts/${alertId}/acknowledge`, {});
    expect(ack.status).toBe(200);
    expect(ack.json.alert.history.map((h: { action: string }) => h.action)).toEqual(
      expect.arrayContaining(['viewed', 'acknowledged', 'notified']),
    );
    await waitFor(
      async () =>
        (await app.store.kv<{ ended: { reason: string } | null }>('notify-rota').get(alertId))?.ended
          ?.reason === 'acknowledged',
      'rota ended',
      10_000,
    );
    const actions = (await app.store.audit.list({ target: `alert:${alertId}` })).records.map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['view.alert', 'alert.acknowledged']));
  });
});

describe('webhooks', () => {
  it('signed; fails twice then succeeds: one delivery, the retries in the delivery log', async () => {
    let secret = '';
    const receiver = await startWebhookReceiver({ secret: () => secret, failFirst: 2 });
    try {
      const created = await admin.req('POST', '/api/v1/notify/webhooks', {
        name: 'DSL channel',
        url: receiver.url,
        events: ['alert'],
      });
      expect(created.status).toBe(201);
      secret = created.json.secret;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const hookId = created.json.webhook.id as string;
      // The secret is shown once: never again in the settings.
      const got = await admin.req('GET', '/api/v1/notify/settings');
      expect(got.text).not.toContain(secret);
      expect(got.json.settings.webhooks[0].secret).toBeUndefined();

      const term = `whk${randomBytes(4).toString('hex')}`;
      await enrolAndFlag(term);
      await waitFor(async () => receiver.accepted().length === 1, 'a delivery accepted', 30_000);
      // Give a wrongly repeated send the time to show up (retries come 1 s, 2 s apart).
      await waitFor(
        async () => {
          const ob = await admin.req('GET', '/api/v1/notify/outbox');
          return ob.json.pending.length === 0;
        },
        'outbox drained',
        10_000,
      );
      await new Promise((r) => setTimeout(r, 2500));
      expect(receiver.hits.map((h) => h.status)).toEqual([500, 500, 200]);
      expect(receiver.hits.every((h) => h.signatureOk)).toBe(true);
      // The same delivery id on every retry.
      expect(new Set(receiver.hits.map((h) => h.deliveryId)).size).toBe(1);
      const body = receiver.accepted()[0]!.body;
      expect(body).toMatchObject({ type: 'alert', severity: 4, category: 'self-harm' });
      expect(JSON.stringify(body)).not.toContain(term);
      expect(JSON.stringify(body)).not.toContain('example.test');

      const log = await admin.req('GET', `/api/v1/notify/deliveries?endpoint=webhook-${hookId}`);
      expect(log.status).toBe(200);
      expect(log.json.deliveries.map((d: { ok: boolean; attempt: number }) => [d.attempt, d.ok])).toEqual([
        [3, true],
        [2, false],
        [1, false],
      ]);
      // /metrics counts the two failed attempts (none given up).
      const metrics = await scrapeMetrics(url, { authorization: `Bearer ${ADMIN_TOKEN}` });
      const delivered = (result: string) =>
        metricValue(metrics, 'custodian_notify_deliveries_total', { result });
      expect(delivered('failed-attempt')).toBe(2);
      expect(delivered('given-up')).toBe(0);
      expect(delivered('sent')).toBeGreaterThanOrEqual(2);
      const ob = await admin.req('GET', '/api/v1/notify/outbox');
      const sent = ob.json.done.filter((e: { endpoint: string }) => e.endpoint === `webhook-${hookId}`);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ state: 'sent', attempts: 3 });
      expect((await admin.req('DELETE', `/api/v1/notify/webhooks/${hookId}`)).status).toBe(200);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver with the wrong secret refuses the signature', async () => {
    let secret = '';
    const receiver = await startWebhookReceiver({ secret: () => `${secret}x` });
    try {
      const created = await admin.req('POST', '/api/v1/notify/webhooks', {
        name: 'x',
        url: receiver.url,
        events: ['staff'],
      });
      secret = created.json.secret;
      const test = await admin.req('POST', '/api/v1/notify/test', {
        channel: 'webhook',
        webhookId: created.json.webhook.id,
      });
      expect(test.status).toBe(502);
      expect(test.json.error.code).toBe('CUST_ERR_DELIVERY_FAILED');
      expect(receiver.hits.map((h) => h.signatureOk)).toEqual([false]);
      await admin.req('DELETE', `/api/v1/notify/webhooks/${created.json.webhook.id}`);
    } finally {
      await receiver.close();
    }
  });
});

describe('staff notifications (Notifications.notify) reach the role by email', () => {
  it('an IT notice goes to the IT contact and gets deliveredAt', async () => {
    const before = smtp.mails.length;
    const notices = new Notifications({
      kv: app.store.kv<StaffNotification>(NOTIFICATIONS_NS),
      audit: app.store.audit,
    });
    const n = await notices.notify(
      'it',
      'health.offline',
      'Device d_123 has been offline for 30 minutes in school hours',
      {
        deviceId: 'd_123',
      },
    );
    const mails = await smtp.waitFor(before + 1);
    expect(mails[before]!.to).toEqual(['it1@school.test']);
    expect(decodedMail(mails[before]!.raw)).toContain('offline for 30 minutes');
    const stored = await waitFor(
      async () => {
        const v = await app.store.kv<StaffNotification>(NOTIFICATIONS_NS).get(n.id);
        return v?.deliveredAt ? v : undefined;
      },
      'deliveredAt',
      10_000,
    );
    expect(stored.deliveredAt).toBeGreaterThanOrEqual(n.at);
    // Sent once: a later pass does not send it again.
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.mails.slice(before).filter((m) => m.to.includes('it1@school.test'))).toHaveLength(1);
  });
});

describe('settings', () => {
  it('the SMTP password is stored but never answered; bad rota and time zone are refused', async () => {
    const got = await dsl.req('GET', '/api/v1/notify/settings');
    expect(got.status).toBe(200);
    expect(got.text).not.toContain('relay-pass-123');
    expect(got.json.settings.smtp).toMatchObject({ host: '127.0.0.1', passwordSet: true });
    // A change without the password keeps the stored one.
    const put = await dsl.req('PUT', '/api/v1/notify/settings', {
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: '', from: 'custodian@school.test' },
    });
    expect(put.status).toBe(200);
    expect(put.json.settings.smtp.passwordSet).toBe(true);
    const badRota = await dsl.req('PUT', '/api/v1/notify/settings', {
      rota: {
        escalateAfterMinutes: 5,
        stopOn: 'viewed',
        bands: [{ minSeverity: 4, window: 'any', contacts: ['nobody'] }],
      },
    });
    expect(badRota.status).toBe(400);
    expect(badRota.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.rota' });
    const badZone = await dsl.req('PUT', '/api/v1/notify/settings', { timeZone: 'Mars/Olympus' });
    expect(badZone.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.timeZone' });
    for (const bad of [
      'http://hooks.example.test/x',
      'ftp://127.0.0.1/x',
      'https://user:pw@hooks.example.test/x',
    ]) {
      const hook = await dsl.req('POST', '/api/v1/notify/webhooks', {
        name: 'x',
        url: bad,
        events: ['alert'],
      });
      expect(hook.status).toBe(400);
      expect(hook.json.error.field).toBe('body.url');
    }
    const unknownField = await dsl.req('PUT', '/api/v1/notify/settings', { threshold: 3 });
    expect(unknownField.status).toBe(400);
    const audit = await app.store.audit.list({ target: 'notify:settings' });
    expect(audit.records.length).toBeGreaterThanOrEqual(2);
  });

  it('send test: an email arrives; with the relay down the answer is 502 CUST_ERR_DELIVERY_FAILED', async () => {
    const before = smtp.mails.length;
    // Each channel names what it needs: the schema (a union of the two shapes) refuses it first.
    const noTo = await dsl.req('POST', '/api/v1/notify/test', { channel: 'email' });
    expect(noTo.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.to' });
    const noHook = await dsl.req('POST', '/api/v1/notify/test', { channel: 'webhook' });
    expect(noHook.json.error).toMatchObject({ code: 'CUST_ERR_INVALID_INPUT', field: 'body.webhookId' });
    const mixed = await dsl.req('POST', '/api/v1/notify/test', { channel: 'email', webhookId: 'w1' });
    expect(mixed.status).toBe(400);
    const ok = await dsl.req('POST', '/api/v1/notify/test', { channel: 'email', to: 'check@school.test' });
    expect(ok.status).toBe(200);
    expect((await smtp.waitFor(before + 1))[before]!.to).toEqual(['check@school.test']);
    const down = await startSmtp();
    await down.close();
    await dsl.req('PUT', '/api/v1/notify/settings', {
      smtp: { host: '127.0.0.1', port: down.port, security: 'none', user: '', from: 'custodian@school.test' },
    });
    const failed = await dsl.req('POST', '/api/v1/notify/test', {
      channel: 'email',
      to: 'check@school.test',
    });
    expect(failed.status).toBe(502);
    expect(failed.json.error.code).toBe('CUST_ERR_DELIVERY_FAILED');
    await dsl.req('PUT', '/api/v1/notify/settings', {
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: '', from: 'custodian@school.test' },
    });
  });
});

describe("per-school routing: a school's alerts go to its own notify layer", () => {
  it("school A's alert emails A's DSL (not B's); a school without a layer uses the trust's rota", async () => {
    const secrets = new Map<string, string>();
    for (const id of ['school-a', 'school-b', 'school-c']) {
      expect((await admin.req('POST', '/api/v1/schools', { id, name: id })).status).toBe(201);
      const rotated = await admin.req('POST', '/api/v1/enrol/secret/rotate', { schoolId: id });
      expect(rotated.status, rotated.text).toBe(200);
      secrets.set(id, rotated.json.secret);
    }
    // School A's DSL, limited to school A, sets A's layer; B's is set by the trust's admin.
    const dslA = await createStaffClient(url, ADMIN_TOKEN, 'dsl.a', 'dsl');
    const users = (await admin.req('GET', '/api/v1/users')).json.users as { id: string; username: string }[];
    const limited = await admin.req(
      'PATCH',
      `/api/v1/users/${users.find((u) => u.username === 'dsl.a')?.id}`,
      {
        schools: ['school-a'],
        reason: 'school A DSL',
      },
    );
    expect(limited.status, limited.text).toBe(200);
    const layer = (id: string, email: string) => ({
      contacts: [{ id: 'school-dsl', name: `${id} DSL`, email, role: 'dsl' }],
      rota: {
        escalateAfterMinutes: 15,
        stopOn: 'acknowledged',
        bands: [{ minSeverity: 1, window: 'any', contacts: ['school-dsl'] }],
      },
    });
    const putA = await dslA.req('PUT', '/api/v1/notify/schools/school-a/settings', layer('a', 'dsl@a.test'));
    expect(putA.status, putA.text).toBe(200);
    expect(
      (await dslA.req('PUT', '/api/v1/notify/schools/school-b/settings', layer('b', 'x@a.test'))).status,
    ).toBe(404);
    const putB = await admin.req('PUT', '/api/v1/notify/schools/school-b/settings', layer('b', 'dsl@b.test'));
    expect(putB.status, putB.text).toBe(200);

    const before = smtp.mails.length;
    const a = await enrolAndFlag(`sca${randomBytes(4).toString('hex')}`, secrets.get('school-a'));
    const c = await enrolAndFlag(`scc${randomBytes(4).toString('hex')}`, secrets.get('school-c'));
    // Who was emailed about each device's alert (staff notices, e.g. the DSL account made above, also arrive).
    const to = (deviceId: string) =>
      smtp.mails
        .slice(before)
        .filter((m) => decodedMail(m.raw).includes(deviceId))
        .flatMap((m) => m.to);
    await waitFor(
      async () => to(a.deviceId).length > 0 && to(c.deviceId).length > 0,
      'both alerts emailed',
      30_000,
    );
    // Give a wrong extra send the time to show up: B's DSL never hears of A's alert.
    await new Promise((r) => setTimeout(r, 500));
    expect(to(a.deviceId)).toEqual(['dsl@a.test']);
    expect(to(c.deviceId)).toEqual(['dsl1@school.test']);
    expect(smtp.mails.slice(before).flatMap((m) => m.to)).not.toContain('dsl@b.test');
  });
});
