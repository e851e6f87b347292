// A real collector process is killed with SIGKILL while a notification waits in its outbox (the
// webhook receiver is down). After the restart the message is sent, once: the outbox survived
// the kill, and the entry that went is never sent again.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentClient, flagged } from '../../collector/test/helpers/agent-client.ts';
import { startWebhookReceiver } from '../../collector/test/notify/receivers.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';

let collector: CollectorProcess | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
afterEach(async () => {
  await collector?.cleanup();
  await receiver?.close();
  collector = undefined;
  receiver = undefined;
});

async function api(c: CollectorProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${c.adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads the JSON it asserts on
  return { status: res.status, json: (await res.json()) as any };
}

describe('collector killed with a notification pending', () => {
  it('sends it after the restart, exactly once', async () => {
    // A port with nothing listening: the receiver is "down" until after the kill.
    const probe = await startWebhookReceiver({ secret: () => '' });
    const port = probe.port;
    await probe.close();

    collector = await startCollector();
    const c = collector;
    expect(
      (await api(c, 'PUT', '/api/v1/notify/settings', { delivery: { retryBaseSeconds: 1, maxAttempts: 50 } }))
        .status,
    ).toBe(200);
    const hook = await api(c, 'POST', '/api/v1/notify/webhooks', {
      name: 'kill9',
      url: `http://127.0.0.1:${port}/hook`,
      events: ['alert'],
    });
    expect(hook.status).toBe(201);
    const secret = hook.json.secret as string;
    const endpoint = `webhook-${hook.json.webhook.id}`;

    const enrol = await fetch(`${c.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: c.enrolSecret,
        machineId: 'notify-k9',
        hostname: 'k9',
        os: 'linux',
        serial: 'K9',
      }),
    });
    const { deviceId, deviceKey } = (await enrol.json()) as { deviceId: string; deviceKey: string };
    const agent = new AgentClient(c.wsUrl);
    const stream = randomUUID();
    await agent.hello(deviceId, deviceKey, stream);
    await agent.batch(stream, [flagged(1, 'killterm')]);
    agent.close();

    // The message waits: at least one attempt failed against the closed port.
    await waitFor(
      async () => {
        const log = await api(c, 'GET', `/api/v1/notify/deliveries?endpoint=${endpoint}`);
        return log.json.deliveries.length >= 1 && log.json.deliveries.every((d: { ok: boolean }) => !d.ok);
      },
      'a failed attempt',
      30_000,
    );
    expect((await api(c, 'GET', '/api/v1/notify/outbox')).json.pending).toHaveLength(1);

    await c.kill9();
    receiver = await startWebhookReceiver({ secret: () => secret, port });
    await c.restart();

    await waitFor(async () => receiver!.accepted().length >= 1, 'the delivery after restart', 60_000);
    await waitFor(
      async () => (await api(c, 'GET', '/api/v1/notify/outbox')).json.pending.length === 0,
      'outbox drained',
      30_000,
    );
    // Time for a wrong second send to arrive (the loop runs every second).
    await new Promise((r) => setTimeout(r, 3000));
    expect(receiver.accepted()).toHaveLength(1);
    expect(receiver.hits.every((h) => h.signatureOk)).toBe(true);
    expect(receiver.accepted()[0]!.body).toMatchObject({ type: 'alert', deviceId });
    const out = await api(c, 'GET', '/api/v1/notify/outbox');
    expect(out.json.done.filter((e: { endpoint: string }) => e.endpoint === endpoint)).toHaveLength(1);
  });
});
