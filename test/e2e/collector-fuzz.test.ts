// Throws more than 10,000 random and mutated frames at a real collector process over many
// connections. The collector must stay up, keep its memory bounded, close every bad connection
// with a named close code, and lose nothing it had acked before.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CloseCode,
  closeCodeName,
  encodeAgentMessage,
  type IAgentMessage,
  SUBPROTOCOL,
} from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AgentClient, heartbeat } from '../../collector/test/helpers/agent-client.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { rng } from '../support/rng.ts';

const CONNECTIONS = 2000;
const FRAMES_PER_CONNECTION = 6;
const CONCURRENCY = 50;
/** How long an unauthenticated connection may wait for the collector to close it. */
const UNAUTHENTICATED_CLOSE_WINDOW_MS = 10_000;
/** RSS ceiling for the collector during the run: far above its idle size, far below unbounded growth. */
const RSS_LIMIT_BYTES = 400 * 1024 * 1024;

let collector: CollectorProcess;
let device: { deviceId: string; deviceKey: string };
const stream = randomUUID();

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

function validCorpus(): IAgentMessage[] {
  return [
    {
      hello: {
        deviceId: device.deviceId,
        deviceKey: randomBytes(32).toString('base64url'),
        streamId: randomUUID(),
        agentVersion: '1',
      },
    },
    { hello: { deviceId: '../../etc/passwd', deviceKey: 'x', streamId: 's' } },
    {
      batch: {
        streamId: stream,
        events: [heartbeat(1), { seq: 2, activeWindow: { title: '\u202e<script>alert(1)</script>' } }],
      },
    },
    {
      blobChunk: {
        blobId: '../x',
        index: 0,
        totalChunks: 1,
        totalSize: 3,
        sha256: randomBytes(32),
        contentType: 'image/png',
        data: new Uint8Array([1, 2, 3]),
      },
    },
    { policyApplied: { version: 3, ok: true } },
    { error: { code: 'X', message: 'y' } },
  ];
}

function mutate(bytes: Uint8Array, r: () => number): Uint8Array {
  const out = Buffer.from(bytes);
  const kind = Math.floor(r() * 4);
  if (kind === 0) {
    for (let i = 0; i < 1 + Math.floor(r() * 8); i++) {
      const at = Math.floor(r() * out.length);
      out[at] = (out[at] ?? 0) ^ (1 << Math.floor(r() * 8));
    }
    return out;
  }
  if (kind === 1) return out.subarray(0, Math.floor(r() * out.length));
  if (kind === 2) return Buffer.concat([out, randomBytes(Math.floor(r() * 64))]);
  const i = Math.floor(r() * out.length);
  return Buffer.concat([out.subarray(0, i), randomBytes(1 + Math.floor(r() * 16)), out.subarray(i)]);
}

function frame(r: () => number, corpus: Uint8Array[]): Uint8Array | string {
  const pick = r();
  if (pick < 0.3) return randomBytes(Math.floor(r() * 2048));
  if (pick < 0.35) return 'not binary';
  return mutate(corpus[Math.floor(r() * corpus.length)] as Uint8Array, r);
}

interface Outcome {
  serverClosed: boolean;
  code: number;
  authenticated: boolean;
}

async function fuzzConnection(seed: number, corpus: Uint8Array[]): Promise<Outcome> {
  const r = rng(seed);
  // A third of the connections authenticate first, so the fuzz reaches the post-Hello paths.
  const authenticated = r() < 0.33;
  const ws = new WebSocket(collector.wsUrl, r() < 0.03 ? ['custodian.v0'] : [SUBPROTOCOL]);
  ws.on('error', () => undefined);
  let clientClosing = false;
  const closed = new Promise<{ code: number }>((resolve) => ws.once('close', (code) => resolve({ code })));
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  if (ws.readyState === WebSocket.OPEN) {
    if (authenticated) {
      ws.send(
        encodeAgentMessage({
          hello: {
            deviceId: device.deviceId,
            deviceKey: device.deviceKey,
            streamId: randomUUID(),
            agentVersion: 'fuzz',
          },
        }),
      );
    }
    for (let i = 0; i < FRAMES_PER_CONNECTION && ws.readyState === WebSocket.OPEN; i++)
      ws.send(frame(r, corpus));
  }
  // An authenticated connection may stay open (the client then closes it). An unauthenticated one
  // must be closed by the collector (Hello deadline 500 ms): give it a window far above the
  // scheduler's noise with 50 connections on two loaded cores, so only a hanging one fails.
  const timer = setTimeout(
    () => {
      clientClosing = true;
      ws.close(1000);
    },
    authenticated ? 1_500 : UNAUTHENTICATED_CLOSE_WINDOW_MS,
  );
  const { code } = await closed;
  clearTimeout(timer);
  return { serverClosed: !clientClosing, code, authenticated };
}

beforeAll(async () => {
  collector = await startCollector({
    env: { CUSTODIAN_HELLO_DEADLINE_MS: '500', CUSTODIAN_LOG_LEVEL: 'warn' },
  });
  const res = await fetch(`${collector.url}/api/v1/enrol`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      secret: collector.enrolSecret,
      machineId: 'fuzz-machine',
      hostname: 'fz',
      os: 'linux',
      serial: 'FZ',
    }),
  });
  device = (await res.json()) as { deviceId: string; deviceKey: string };
  const c = new AgentClient(collector.wsUrl);
  await c.hello(device.deviceId, device.deviceKey, stream);
  const ack = await c.batch(
    stream,
    Array.from({ length: 100 }, (_, i) => heartbeat(i + 1)),
  );
  expect(ack.seq).toBe(100);
  c.close();
  await c.closed;
});

afterAll(async () => {
  await collector?.cleanup();
});

describe('fuzzing the ingest endpoint', () => {
  it(`survives ${CONNECTIONS * FRAMES_PER_CONNECTION} random and mutated frames`, async () => {
    const corpus = validCorpus().map((m) => encodeAgentMessage(m));
    const outcomes: Outcome[] = [];
    let peakRss = rss(collector.pid);
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rss(collector.pid));
    }, 100);
    try {
      for (let start = 0; start < CONNECTIONS; start += CONCURRENCY) {
        const wave = Array.from({ length: Math.min(CONCURRENCY, CONNECTIONS - start) }, (_, i) =>
          fuzzConnection(0x5eed + start + i, corpus),
        );
        outcomes.push(...(await Promise.all(wave)));
      }
    } finally {
      clearInterval(sampler);
    }
    expect(outcomes).toHaveLength(CONNECTIONS); // every connection ran to its end: 12,000 frames

    // Every connection the collector closed got a named close code.
    const serverClosed = outcomes.filter((o) => o.serverClosed);
    const unnamed = serverClosed.filter((o) => closeCodeName(o.code) === undefined).map((o) => o.code);
    expect(unnamed).toEqual([]);
    // Every unauthenticated connection was closed by the collector, not left hanging.
    expect(outcomes.filter((o) => !o.authenticated && !o.serverClosed)).toEqual([]);
    const codes = new Set(serverClosed.map((o) => closeCodeName(o.code)));
    const tally: Record<string, number> = {};
    for (const o of outcomes)
      tally[o.serverClosed ? String(closeCodeName(o.code)) : 'client-closed'] =
        (tally[String(o.serverClosed ? closeCodeName(o.code) : 'client-closed')] ?? 0) + 1;
    console.log(
      `fuzz: ${outcomes.length} connections, close codes ${JSON.stringify(tally)}, peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`,
    );
    expect(codes.has('MALFORMED')).toBe(true);
    expect(codes.has('AUTH_FAILED') || codes.has('PROTOCOL_VIOLATION')).toBe(true);

    // Still up, memory bounded, nothing acked lost.
    const health = await fetch(`${collector.url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(peakRss).toBeLessThan(RSS_LIMIT_BYTES);
    const timeline = await fetch(
      `${collector.url}/api/v1/devices/${device.deviceId}/timeline?kinds=heartbeat&limit=1000`,
      {
        headers: { authorization: `Bearer ${collector.adminToken}` },
      },
    );
    const body = (await timeline.json()) as { events: { streamId: string; seq: number }[] };
    const mine = body.events.filter((e) => e.streamId === stream).map((e) => e.seq);
    expect(mine.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(CloseCode.MALFORMED).toBe(4004);
  }, 120_000);
});
