// Shared pieces of the console browser tests: staff accounts made through the real users API,
// sign-in through the real login page, and a small but real agent client (`ws`, protocol v1)
// that enrols, says Hello, streams events and uploads screenshot blobs to a running collector.
import { createHash, randomUUID } from 'node:crypto';
import {
  type CollectorMessage,
  decodeCollectorMessage,
  encodeAgentMessage,
  type IAgentMessage,
  type IEvent,
  SUBPROTOCOL,
} from '@custodian/protocol';
import type { Page } from 'playwright-core';
import WebSocket from 'ws';

export interface CollectorLike {
  url: string;
  wsUrl: string;
  adminToken: string;
  enrolSecret: string;
}

/** Parsed API JSON as tests read it: the shape is what the test asserts, so it stays loose here. */
// biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary API JSON and asserts on it
export type Json = any;

async function api(c: CollectorLike, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${c.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export const adminApi = api;

/** Per collector (keyed by admin token): the first DSL, who approves the later DSL accounts. */
const dslApprovers = new Map<string, { username: string; password: string }>();

/**
 * Creates a staff account with a known password (no forced change unless asked). A `dsl` account
 * cannot be given a password by an admin (issue 10 item 6): the first is the bootstrap (one-time
 * password in the 201), later ones are approved by the first DSL; either way this helper signs in
 * with the one-time password and changes it to the returned one.
 */
export async function createStaff(
  c: CollectorLike,
  username: string,
  role: 'admin' | 'it' | 'dsl' | 'governor',
  opts: { mustChangePassword?: boolean } = {},
): Promise<{ username: string; password: string }> {
  const password = `Pw-${randomUUID()}`;
  if (role !== 'dsl') {
    await api(c, 'POST', '/users', {
      username,
      displayName: `${role} ${username}`,
      role,
      password,
      mustChangePassword: opts.mustChangePassword ?? false,
    });
    return { username, password };
  }
  const res = await fetch(`${c.url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username, displayName: `${role} ${username}`, role }),
  });
  const created = (await res.json()) as Json;
  let oneTime: string;
  if (res.status === 201) oneTime = created.oneTimePassword;
  else if (res.status === 202) {
    const approver = dslApprovers.get(c.adminToken);
    if (!approver) throw new Error(`create ${username}: request queued, no DSL known to approve it`);
    const ok = await (await staffSession(c, approver))('POST', `/dsl-requests/${created.request.id}/approve`);
    if (ok.status !== 200) throw new Error(`approve ${username} → ${ok.status} ${JSON.stringify(ok.data)}`);
    oneTime = ok.data.oneTimePassword;
  } else throw new Error(`create ${username} → ${res.status} ${JSON.stringify(created)}`);
  if (opts.mustChangePassword) return { username, password: oneTime };
  const first = await staffSession(c, { username, password: oneTime });
  const changed = await first('POST', '/auth/password', { currentPassword: oneTime, newPassword: password });
  if (changed.status !== 200) throw new Error(`password change ${username} → ${changed.status}`);
  if (!dslApprovers.has(c.adminToken)) dslApprovers.set(c.adminToken, { username, password });
  return { username, password };
}

/** Signs in through the console's login page and waits for the signed-in shell. */
export async function signIn(
  page: Page,
  baseUrl: string,
  who: { username: string; password: string },
): Promise<void> {
  // One browser profile serves several tests: start every sign-in from no session.
  await page.context().clearCookies();
  await page.goto(`${baseUrl}/#/login`);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A real agent-protocol client: one enrolled device, one stream, one WebSocket. */
export class TestAgent {
  readonly streamId = randomUUID();
  private seq = 0;
  private ws: WebSocket | undefined;
  private waiters: { match: (m: CollectorMessage) => boolean; resolve: (m: CollectorMessage) => void }[] = [];
  readonly received: CollectorMessage[] = [];
  /** Version of the last Policy the collector pushed (0 before any). */
  policyVersion = 0;

  readonly collector: CollectorLike;
  readonly deviceId: string;
  readonly hostname: string;
  private readonly deviceKey: string;

  private constructor(collector: CollectorLike, deviceId: string, deviceKey: string, hostname: string) {
    this.collector = collector;
    this.deviceId = deviceId;
    this.deviceKey = deviceKey;
    this.hostname = hostname;
  }

  static async enrol(c: CollectorLike, hostname: string): Promise<TestAgent> {
    const res = await fetch(`${c.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: c.enrolSecret,
        machineId: randomUUID().replace(/-/g, ''),
        hostname,
        os: 'linux',
        serial: `SN-${randomUUID().slice(0, 8)}`,
      }),
    });
    if (!res.ok) throw new Error(`enrol → ${res.status} ${await res.text()}`);
    const { deviceId, deviceKey } = (await res.json()) as { deviceId: string; deviceKey: string };
    return new TestAgent(c, deviceId, deviceKey, hostname);
  }

  async connect(): Promise<void> {
    const ws = new WebSocket(this.collector.wsUrl, SUBPROTOCOL, { perMessageDeflate: false });
    this.ws = ws;
    ws.on('message', (data: Buffer) => {
      const msg = decodeCollectorMessage(new Uint8Array(data));
      this.received.push(msg);
      if (msg.body === 'policy') this.policyVersion = Number(msg.policy?.version ?? 0);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const welcome = this.waitFor((m) => m.body === 'welcome');
    ws.send(
      encodeAgentMessage({
        hello: {
          deviceId: this.deviceId,
          deviceKey: this.deviceKey,
          agentVersion: '0.1.0-test',
          streamId: this.streamId,
          lastSeq: this.seq,
          policyVersion: 0,
          os: 'linux',
          capabilities: [
            { name: 'active_window', available: true },
            { name: 'screenshot', available: true },
            { name: 'usb_control', available: false, reason: 'not root' },
          ],
        },
      }),
    );
    await welcome;
    // The collector pushes the current policy at session start; an agent reports what it applied.
    if (!this.received.some((m) => m.body === 'policy'))
      await this.waitFor((m) => m.body === 'policy', 5_000);
  }

  private waitFor(match: (m: CollectorMessage) => boolean, timeoutMs = 15_000): Promise<CollectorMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('timed out waiting for a collector message')),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Sends events (seq and time filled in) and resolves when the collector acked them durable. */
  async send(...payloads: Omit<IEvent, 'seq' | 'timeMs'>[]): Promise<void> {
    const events = payloads.map((p) => ({ ...p, seq: ++this.seq, timeMs: Date.now() }));
    const last = this.seq;
    const acked = this.waitFor((m) => m.body === 'ack' && Number(m.ack?.seq) >= last);
    this.socket().send(encodeAgentMessage({ batch: { streamId: this.streamId, events } }));
    await acked;
  }

  /** Sends any agent message as is (no waiting): error reports, command results, raw frames. */
  sendMessage(msg: IAgentMessage): void {
    this.socket().send(encodeAgentMessage(msg));
  }

  /**
   * Sends events exactly as given (seq and agent time chosen by the caller: replays, backdated
   * clocks) and resolves with the collector's next Ack.
   */
  async sendExact(events: IEvent[]): Promise<{ seq: number; duplicates: number }> {
    const acked = this.waitFor((m) => m.body === 'ack');
    this.socket().send(encodeAgentMessage({ batch: { streamId: this.streamId, events } }));
    const ack = (await acked).ack;
    this.seq = Math.max(this.seq, ...events.map((e) => Number(e.seq)));
    return { seq: Number(ack?.seq ?? 0), duplicates: Number(ack?.duplicates ?? 0) };
  }

  /** Uploads one blob in 256 KiB chunks (any size the protocol allows); resolves once stored. */
  async uploadBlobChunked(data: Uint8Array, contentType = 'image/png'): Promise<string> {
    const blobId = randomUUID();
    const size = 256 * 1024;
    const totalChunks = Math.ceil(data.byteLength / size);
    const sha256 = createHash('sha256').update(data).digest();
    const stored = this.waitFor((m) => m.body === 'blobAck' && m.blobAck?.blobId === blobId, 120_000);
    for (let index = 0; index < totalChunks; index++)
      this.socket().send(
        encodeAgentMessage({
          blobChunk: {
            blobId,
            index,
            totalChunks,
            totalSize: data.byteLength,
            sha256,
            contentType,
            data: data.subarray(index * size, (index + 1) * size),
          },
        }),
      );
    const ack = await stored;
    if (ack.blobAck?.status !== 1) throw new Error(`blob not stored: ${JSON.stringify(ack.blobAck)}`);
    return blobId;
  }

  /** Uploads one blob in one chunk and resolves when the collector stored it. */
  async uploadBlob(data: Uint8Array, contentType = 'image/png'): Promise<string> {
    const blobId = randomUUID();
    const stored = this.waitFor((m) => m.body === 'blobAck' && m.blobAck?.blobId === blobId);
    this.socket().send(
      encodeAgentMessage({
        blobChunk: {
          blobId,
          index: 0,
          totalChunks: 1,
          totalSize: data.byteLength,
          sha256: createHash('sha256').update(data).digest(),
          contentType,
          data,
        },
      }),
    );
    const ack = await stored;
    if (ack.blobAck?.status !== 1) throw new Error(`blob not stored: ${JSON.stringify(ack.blobAck)}`);
    return blobId;
  }

  private socket(): WebSocket {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) throw new Error('TestAgent is not connected');
    return this.ws;
  }

  /** Closes the connection as an agent that stops would. */
  async disconnect(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(1000, 'agent stopping');
    });
  }
}

/** A real PNG (Chromium renders and encodes it), so "reveal" shows an actual image. */
export async function makePng(page: Page, text: string): Promise<Buffer> {
  await page.setViewportSize({ width: 640, height: 360 });
  await page.setContent(
    `<body style="margin:0;background:#1e3a5f;color:#fff;font:28px sans-serif;display:grid;place-items:center;height:100vh"><div id="t"></div></body>`,
  );
  await page.locator('#t').evaluate((el, t) => {
    el.textContent = t;
  }, text);
  return page.screenshot({ type: 'png' });
}

/** Signs in over HTTP (no browser) and returns a caller with the session cookie and CSRF token. */
export async function staffSession(
  c: CollectorLike,
  who: { username: string; password: string },
): Promise<(method: string, path: string, body?: unknown) => Promise<{ status: number; data: Json }>> {
  const res = await fetch(`${c.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  if (!res.ok) throw new Error(`login → ${res.status} ${await res.text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return async (method, path, body) => {
    const r = await fetch(`${c.url}/api/v1${path}`, {
      method,
      headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let data: Json = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (evidence export, images)
    }
    return { status: r.status, data };
  };
}
