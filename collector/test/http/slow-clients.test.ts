// Issue 10 item 9, replayed from outside: a header trickle (slowloris) is cut off; one account
// cannot hold more than its share of live feeds (device feed and DSL alert feed count together);
// WebSocket connections that never say Hello are capped.
import { connect } from 'node:net';
import { encodeAgentMessage, SUBPROTOCOL } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAuthModule } from '../../src/auth/index.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { type Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

const SSE_PER_USER = 2;
const UNAUTH_WS = 3;
let h: Harness;
let dsl: Client;

beforeAll(async () => {
  h = await startHarness({
    modules: [createAuthModule({ scrypt: TEST_SCRYPT }), safeguardingModule],
    config: (c) => {
      c.http.headersTimeoutMs = 1000;
      c.http.requestTimeoutMs = 2000;
      c.http.maxSseStreamsPerUser = SSE_PER_USER;
      c.http.maxUnauthenticatedWs = UNAUTH_WS;
      c.ingest.helloDeadlineMs = 30_000;
    },
  });
  dsl = await createStaffClient(h.url, h.adminToken, 'dsl.slow', 'dsl');
});
afterAll(async () => {
  await h?.close();
});

describe('slow clients (issue 10 item 9)', () => {
  it('closes a connection that trickles its headers (slowloris)', async () => {
    const { port } = new URL(h.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d) => {
      received += d.toString();
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /api/v1/health HTTP/1.1\r\nHost: collector\r\n');
    let n = 0;
    // One more header line every 200 ms, never the blank line that ends the headers.
    const trickle = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${n++}: a\r\n`);
    }, 200);
    const closedAfter = await new Promise<number | null>((resolve) => {
      const started = Date.now();
      const give = setTimeout(() => resolve(null), 20_000);
      socket.once('close', () => {
        clearTimeout(give);
        resolve(Date.now() - started);
      });
    });
    clearInterval(trickle);
    socket.destroy();
    expect(closedAfter, 'the trickling connection was still open after 20 s').not.toBeNull();
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('refuses the N+1th live feed of one account with a clear error; a closed one frees its slot', async () => {
    const open = (path: string, c: Client) => {
      const ac = new AbortController();
      return fetch(h.url + path, { headers: { cookie: c.cookie as string }, signal: ac.signal }).then(
        (res) => ({
          res,
          close: () => ac.abort(),
        }),
      );
    };
    // Listeners other than feeds (metrics) stay; the feeds' own must all go when they close.
    const baseAlertListeners = h.app.live.listenerCount('alert');
    // The device feed and the alert feed share the account's allowance.
    const first = await open('/api/v1/live', dsl);
    const second = await open('/api/v1/alerts/live', dsl);
    expect([first.res.status, second.res.status]).toEqual([200, 200]);
    const third = await open('/api/v1/alerts/live', dsl);
    expect(third.res.status).toBe(429);
    const body = (await third.res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CUST_ERR_RATE_LIMITED');
    expect(body.error.message).toContain(`${SSE_PER_USER} live feeds`);
    // Another account is not affected.
    const it1 = await createStaffClient(h.url, h.adminToken, 'it.slow', 'it');
    const other = await open('/api/v1/live', it1);
    expect(other.res.status).toBe(200);
    other.close();
    // Closing a feed gives the slot back.
    first.close();
    await expect
      .poll(async () => {
        const again = await open('/api/v1/live', dsl);
        const status = again.res.status;
        if (status === 200) again.close();
        else await again.res.text();
        return status;
      })
      .toBe(200);
    second.close();
    await expect.poll(() => h.app.live.listenerCount('alert')).toBe(baseAlertListeners);
  });

  it('drops a DSL alert feed that stops reading, instead of buffering without bound', async () => {
    const base = h.app.live.listenerCount('alert');
    const { port } = new URL(h.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET /api/v1/alerts/live HTTP/1.1\r\nHost: collector\r\nCookie: ${dsl.cookie}\r\n\r\n`);
    let head = '';
    socket.once('data', (d) => {
      head = d.toString();
    });
    await expect.poll(() => head).toMatch(/^HTTP\/1\.1 \d+/);
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    await expect.poll(() => h.app.live.listenerCount('alert')).toBe(base + 1);
    // The browser tab hangs: nothing is read from now on.
    socket.pause();
    const big = 'x'.repeat(200_000);
    const alert = (i: number) =>
      ({
        id: `al_slow_${i}`,
        deviceId: 'no-such-device',
        event: { streamId: 's', seq: i },
        category: 'test',
        severity: 5,
        term: 'slow',
        context: big,
        windowTitle: big,
        windowUrl: '',
        windowApp: 'x',
        source: 'title',
        educationalContext: false,
        repeatCount: 0,
        screenshotBlobIds: [],
        screenshotUnavailableReason: '',
        status: 'new',
        notes: [],
        history: [],
        occurredAt: 1,
        createdAt: 1,
        updatedAt: 1,
      }) as const;
    // ~80 MB of events for a reader that takes none: far past the 4 MiB cap and the kernel buffers.
    for (let i = 0; i < 200 && h.app.live.listenerCount('alert') > base; i++) {
      h.app.live.emit('alert', alert(i) as never);
      await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => h.app.live.listenerCount('alert'), { timeout: 15_000 }).toBe(base);
    socket.destroy();
  });

  it('caps WebSocket connections that have not said Hello; an authenticated one frees its place', async () => {
    const dev = await h.enrol();
    const opened: WebSocket[] = [];
    for (let i = 0; i < UNAUTH_WS; i++) {
      const ws = new WebSocket(h.wsUrl, SUBPROTOCOL);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      opened.push(ws);
    }
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(h.wsUrl, SUBPROTOCOL);
      ws.once('open', () => reject(new Error('the connection over the cap was accepted')));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error.code).toBe('CUST_ERR_RATE_LIMITED');

    // One of them proves a device key: it no longer counts, and a new connection is accepted.
    const first = opened[0] as WebSocket;
    const welcomed = new Promise<void>((resolve) => first.once('message', () => resolve()));
    first.send(
      encodeAgentMessage({
        hello: {
          deviceId: dev.deviceId,
          deviceKey: dev.deviceKey,
          streamId: crypto.randomUUID(),
          agentVersion: 't',
        },
      }),
    );
    await welcomed;
    const next = new WebSocket(h.wsUrl, SUBPROTOCOL);
    await new Promise<void>((resolve, reject) => {
      next.once('open', () => resolve());
      next.once('unexpected-response', () => reject(new Error('refused after a place was freed')));
    });
    for (const ws of [...opened, next]) ws.terminate();
  });
});
