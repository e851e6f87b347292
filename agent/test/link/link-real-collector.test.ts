// The agent's link against a real collector process (custodian-collector serve) for the paths
// link.test.ts drives with the fake collector's switches: a wrong key, a collector that stops
// answering (SIGSTOP), a blob the collector refuses, a blob corrupted on the way (the
// collector's own hash check), and a policy the agent cannot apply. Where a real collector
// never misbehaves on its own, a relay between the two alters one message (tamper-proxy.ts);
// everything the collector answers is its own.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPolicy } from '@custodian/policy';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStaff, staffSession } from '../../../test/e2e/console-helpers.ts';
import { type CollectorProcess, startCollector } from '../../../test/support/collector-process.ts';
import { silentLogger } from '../../src/config/logger.ts';
import { PolicyStore } from '../../src/config/policy-store.ts';
import { Link, type LinkState } from '../../src/link/link.ts';
import { BlobStore } from '../../src/outbox/blob-store.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import { TamperProxy } from '../support/tamper-proxy.ts';
import { waitUntil } from '../support/wait.ts';

let collector: CollectorProcess;
let dir: string;
let outbox: Outbox;
let blobs: BlobStore;
let policy: PolicyStore;
const links: Link[] = [];
const proxies: TamperProxy[] = [];

beforeAll(async () => {
  collector = await startCollector();
});
afterAll(async () => {
  await collector?.cleanup();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'link-real-'));
  outbox = await Outbox.open({ dir: join(dir, 'outbox'), log: silentLogger });
  blobs = new BlobStore({ dir: join(dir, 'blobs'), log: silentLogger });
  await blobs.init();
  policy = await PolicyStore.load({
    path: join(dir, 'policy.json'),
    log: silentLogger,
    demo: false,
    enforce: false,
  });
});
afterEach(async () => {
  for (const l of links.splice(0)) await l.stop();
  for (const p of proxies.splice(0)) await p.stop();
  await outbox.close();
  await rm(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: tests read API JSON fields directly
async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${collector.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
  return res.json();
}

async function enrol(): Promise<{ deviceId: string; deviceKey: string }> {
  const res = await fetch(`${collector.url}/api/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      secret: collector.enrolSecret,
      machineId: randomBytes(16).toString('hex'),
      hostname: 'link-real',
      os: 'linux',
      serial: `SN-${randomUUID().slice(0, 8)}`,
    }),
  });
  if (!res.ok) throw new Error(`enrol → ${res.status} ${await res.text()}`);
  return (await res.json()) as { deviceId: string; deviceKey: string };
}

/** The collector's JSON log lines that carry this message (and this device, if given). */
function logLines(msg: string, deviceId?: string): Record<string, unknown>[] {
  return collector
    .logs()
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => String(l['msg']).includes(msg) && (deviceId === undefined || l['deviceId'] === deviceId));
}

function startLink(
  dev: { deviceId: string; deviceKey: string },
  opts: { serverUrl?: string; pingIntervalMs?: number; states?: LinkState[] } = {},
): Link {
  const link = new Link({
    serverUrl: opts.serverUrl ?? collector.url,
    ...(opts.pingIntervalMs ? { pingIntervalMs: opts.pingIntervalMs } : {}),
    deviceId: dev.deviceId,
    deviceKey: dev.deviceKey,
    agentVersion: '0.1.0-test',
    os: 'linux',
    outbox,
    blobs,
    policy,
    log: silentLogger,
    capabilities: () => [],
    onCommand: async () => ({ ok: false, error: 'unsupported' }),
    onState: (s) => opts.states?.push(s),
    initialBackoffMs: 20,
    maxBackoffMs: 200,
    authRetryMs: 60_000,
  });
  links.push(link);
  link.start();
  return link;
}

const connected = (link: Link) => () => link.current().status === 'connected';

describe('Link against a real collector process', () => {
  it('a wrong key: the collector closes with AUTH_FAILED and the link waits the long retry, not a fast loop', async () => {
    const dev = await enrol();
    const refusals = () =>
      logLines('closing agent session').filter((l) => l['code'] === 'CUST_ERR_AUTH_FAILED');
    const before = refusals().length;
    const link = startLink({ deviceId: dev.deviceId, deviceKey: randomBytes(32).toString('base64url') });
    await waitUntil(() => link.current().status === 'auth-failed', 'auth-failed state');
    expect(link.current().lastError).toMatch(/AUTH_FAILED/);
    expect(link.current().nextAttemptAt! - Date.now()).toBeGreaterThan(30_000);
    await waitUntil(() => refusals().length > before, 'the refusal in the collector log');
    // 50 periods of the 20 ms reconnect backoff: a fast loop would have tried again many times.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(refusals().length - before).toBe(1);
    expect(link.current().status).toBe('auth-failed');
  });

  it('reconnects after the collector stops answering pings (process paused with SIGSTOP)', async () => {
    const dev = await enrol();
    const states: LinkState[] = [];
    // 1 s: well above how late a loaded collector answers, well below a test's patience.
    const link = startLink(dev, { pingIntervalMs: 1_000, states });
    await waitUntil(connected(link), 'connected');
    const sessions = () => logLines('agent connected', dev.deviceId).length;
    await waitUntil(() => sessions() >= 1, 'the session in the collector log');
    const before = sessions();
    const since = link.current().since;
    const seen = states.length;
    process.kill(collector.pid, 'SIGSTOP');
    let offline: LinkState | undefined;
    try {
      offline = await waitUntil(
        () => states.slice(seen).find((s) => s.status === 'offline'),
        'dead connection noticed',
      );
    } finally {
      process.kill(collector.pid, 'SIGCONT');
    }
    expect(offline.lastError).toMatch(/closed|1006/);
    await waitUntil(() => connected(link)() && link.current().since > since, 'connected again', 30_000);
    await waitUntil(() => sessions() > before, 'a new session in the collector log', 30_000);
  });

  it('reconnects at once when told the network changed, instead of waiting for two missed pings', async () => {
    const dev = await enrol();
    // Pings every 60 s: a dead connection would take two minutes to notice; only reconnectNow
    // explains a new session within the wait below.
    const link = startLink(dev, { pingIntervalMs: 60_000 });
    await waitUntil(connected(link), 'connected');
    const sessions = () => logLines('agent connected', dev.deviceId).length;
    await waitUntil(() => sessions() >= 1, 'the session in the collector log');
    const before = sessions();
    const since = link.current().since;
    link.reconnectNow('left the school network');
    await waitUntil(() => sessions() > before, 'a new session in the collector log', 20_000);
    await waitUntil(() => connected(link)() && link.current().since > since, 'connected again', 20_000);
  });

  it('reconnectNow leaves a refused key to its long retry', async () => {
    const dev = await enrol();
    const link = startLink({ deviceId: dev.deviceId, deviceKey: randomBytes(32).toString('base64url') });
    await waitUntil(() => link.current().status === 'auth-failed', 'auth-failed state');
    const next = link.current().nextAttemptAt;
    link.reconnectNow('entered the school network');
    await new Promise((r) => setTimeout(r, 300));
    expect(link.current()).toMatchObject({ status: 'auth-failed', nextAttemptAt: next });
  });

  it('drops a blob the collector REJECTED (content type not accepted) and stays connected', async () => {
    const dev = await enrol();
    await blobs.putBlob(Buffer.from('GIF89a not a screenshot format we take'), 'image/gif');
    const link = startLink(dev);
    await waitUntil(async () => (await blobs.list()).length === 0, 'blob dropped');
    const rejected = logLines('blob chunk rejected', dev.deviceId);
    expect(rejected.map((l) => l['reason'])).toEqual(['content type not accepted']);
    expect(link.current().status).toBe('connected');
    expect(logLines('agent connected', dev.deviceId)).toHaveLength(1);
  });

  it('resends a blob after the collector answered HASH_MISMATCH; the stored screenshot is the original', async () => {
    const dev = await enrol();
    const corrupted = new Set<string>();
    const proxy = new TamperProxy(collector.wsUrl, {
      // The first upload of each blob loses a bit on the way; the resend passes untouched.
      toCollector: (msg) => {
        const c = msg.blobChunk;
        if (!c || corrupted.has(c.blobId ?? '')) return undefined;
        corrupted.add(c.blobId ?? '');
        const data = Buffer.from(c.data ?? []);
        data[0] = (data[0] ?? 0) ^ 0xff;
        return { blobChunk: { ...c, data } };
      },
    });
    proxies.push(proxy);
    await proxy.start();
    const png = randomBytes(3000);
    const id = await blobs.putBlob(png, 'image/png');
    await outbox.emit({
      flaggedActivity: {
        category: 'self-harm',
        severity: 4,
        matchedTerm: 'test term',
        context: 'test term in a title',
        window: { app: 'xterm', title: 'test term', url: '', pid: 1 },
        screenshotBlobIds: [id],
        source: 'title',
      },
    });
    startLink(dev, { serverUrl: proxy.url });
    await waitUntil(async () => (await blobs.list()).length === 0, 'blob stored and deleted locally');
    const uploads = proxy.fromAgent.filter((m) => m.blobChunk?.blobId === id);
    expect(uploads).toHaveLength(2);
    expect(logLines('blob hash mismatch', dev.deviceId)).toHaveLength(1);

    const dsl = await createStaff(collector, `dsl-${randomUUID().slice(0, 8)}`, 'dsl');
    const call = await staffSession(collector, dsl);
    const alert = await waitUntil(async () => {
      const { data } = await call('GET', `/alerts?device=${dev.deviceId}`);
      return data.alerts[0];
    }, 'the alert');
    const shot = await fetch(`${collector.url}/api/v1/alerts/${alert.id}/screenshots/${id}`, {
      headers: await sessionHeaders(dsl),
    });
    expect(shot.status).toBe(200);
    expect(Buffer.from(await shot.arrayBuffer()).equals(png)).toBe(true);
  });

  it('a policy the agent cannot apply: it keeps its own, and the collector shows the refusal', async () => {
    const dev = await enrol();
    const proxy = new TamperProxy(collector.wsUrl, {
      // As an older agent would see a newer collector's policy: a value it does not accept.
      toAgent: (msg) => (msg.policy ? { policy: { ...msg.policy, windowSampleMs: 5 } } : undefined),
    });
    proxies.push(proxy);
    await proxy.start();
    startLink(dev, { serverUrl: proxy.url });
    const { device } = await waitUntil(async () => {
      const d = await admin('GET', `/devices/${dev.deviceId}`);
      return d.device.status.policyRejected ? d : undefined;
    }, 'policyRejected in the live status');
    const sent = device.status.policyVersionSent;
    expect(sent).toBeGreaterThan(0);
    expect(device.status.policyRejected).toMatchObject({ version: sent });
    expect(device.status.policyRejected.error).toMatch(/windowSampleMs/);
    expect(device.status.policyVersionApplied ?? 0).toBe(0);
    expect(policy.version()).toBe(0);
    expect(policy.current().windowSampleMs).toBe(defaultPolicy().windowSampleMs);
    const items = await waitUntil(async () => {
      const t = await admin('GET', `/devices/${dev.deviceId}/timeline?kinds=policyApplied`);
      return t.events.length > 0 ? t.events : undefined;
    }, 'policyApplied in the timeline');
    expect(items.map((e: { event: { policyApplied: unknown } }) => e.event.policyApplied)).toEqual([
      { version: sent, error: expect.stringMatching(/windowSampleMs/) },
    ]);
  });
});

/** Cookie and CSRF headers of a fresh sign-in (for a raw fetch of image bytes). */
async function sessionHeaders(who: { username: string; password: string }): Promise<Record<string, string>> {
  const res = await fetch(`${collector.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  if (!res.ok) throw new Error(`login → ${res.status}`);
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}
