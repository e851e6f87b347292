// Per-connection limits: idle timeout with ping/pong, and backpressure (reading stops while
// too many received bytes wait for the disk, instead of buffering without bound).
import { CloseCode, type IEvent } from '@custodian/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait-for.ts';
import type { KvEngine } from '../../src/store/types.ts';
import { AgentClient, newStreamId } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('connection limits', () => {
  it('closes a peer that stops answering pings with IDLE_TIMEOUT; a live peer stays', async () => {
    h = await startHarness({
      config: (c) => {
        // Deadlines far above the scheduler's noise on two loaded cores: the live peer's pongs
        // (answered by this same test process) must never be late by chance.
        c.ingest.pingIntervalMs = 250;
        c.ingest.idleTimeoutMs = 2_000;
      },
    });
    const dev = await h.enrol();
    const dead = new AgentClient(h.wsUrl);
    await dead.hello(dev.deviceId, dev.deviceKey, newStreamId());
    const other = await h.enrol();
    const alive = new AgentClient(h.wsUrl);
    await alive.hello(other.deviceId, other.deviceKey, newStreamId());
    // Stop reading: pings go unanswered, as with a laptop that vanished from the network.
    const socket = (dead.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // The collector drops the silent peer (a paused socket cannot see the close frame yet).
    await waitFor(
      async () => !h!.app.ingest.isConnected(dev.deviceId),
      'the silent peer dropped',
      15_000,
      50,
    );
    socket.resume();
    expect((await dead.closed).code).toBe(CloseCode.IDLE_TIMEOUT);
    expect(h.app.ingest.isConnected(other.deviceId)).toBe(true);
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
    alive.close();
  });

  it('stops reading while more than maxInFlightBytes wait for durable storage', async () => {
    const held: (() => void)[] = [];
    let hold = false;
    let heldEvents = 0;
    const wrap = (e: KvEngine): KvEngine => ({
      get: (k) => e.get(k),
      getMany: (k) => e.getMany(k),
      entries: (r) => e.entries(r),
      close: () => e.close(),
      batch: async (ops, o) => {
        if (o.sync && hold) {
          heldEvents += ops.filter((op) => op.key.startsWith('tl!')).length;
          await new Promise<void>((r) => held.push(r));
        }
        await e.batch(ops, o);
      },
    });
    const LIMIT = 64 * 1024;
    h = await startHarness({
      wrapEngine: wrap,
      config: (c) => {
        c.ingest.maxInFlightBytes = LIMIT;
      },
    });
    const { dev, client: c, stream } = await connectedDevice(h);
    hold = true;
    const BATCHES = 100;
    const big = (b: number): IEvent[] =>
      Array.from({ length: 10 }, (_, i) => ({
        seq: b * 10 + i + 1,
        timeMs: Date.now(),
        activeWindow: { title: 'x'.repeat(2000) },
      }));
    for (let b = 0; b < BATCHES; b++) c.send({ batch: { streamId: stream, events: big(b) } });
    try {
      while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 300));
      // ~20 kB per frame: with reading paused past 64 KiB only a handful of frames are taken in
      // (held in the commit or queued for the next), while 100 (about 2 MB) were sent. Bound:
      // the limit, plus what one socket read had already buffered (up to 64 KiB), plus a frame.
      const framesTaken = heldEvents / 10 + h.app.ingest.committer.queued;
      expect(framesTaken).toBeGreaterThan(0);
      expect(framesTaken).toBeLessThanOrEqual(Math.ceil((LIMIT + 64 * 1024) / 20_000) + 1);
    } finally {
      hold = false;
      for (const r of held.splice(0)) r();
    }
    let last = 0;
    while (last < BATCHES * 10) last = Number((await c.next('ack')).ack?.seq);
    const st = await h.app.store.timeline.getStream(dev.deviceId, stream);
    expect(st?.count).toBe(BATCHES * 10);
    c.close();
  });
});

describe('the in-flight bound over every connection', () => {
  it('stops reading every connection while the total waiting for storage is over maxInFlightBytesTotal', async () => {
    const held: (() => void)[] = [];
    let hold = false;
    let heldEvents = 0;
    const wrap = (e: KvEngine): KvEngine => ({
      get: (k) => e.get(k),
      getMany: (k) => e.getMany(k),
      entries: (r) => e.entries(r),
      close: () => e.close(),
      batch: async (ops, o) => {
        if (o.sync && hold) {
          heldEvents += ops.filter((op) => op.key.startsWith('tl!')).length;
          await new Promise<void>((r) => held.push(r));
        }
        await e.batch(ops, o);
      },
    });
    const TOTAL = 64 * 1024;
    h = await startHarness({
      wrapEngine: wrap,
      config: (c) => {
        // Each connection alone could hold 8 MiB (about 400 of these frames): only the total binds.
        c.ingest.maxInFlightBytes = 8 * 1024 * 1024;
        c.ingest.maxInFlightBytesTotal = TOTAL;
      },
    });
    const peers = [await connectedDevice(h), await connectedDevice(h), await connectedDevice(h)];
    hold = true;
    const BATCHES = 60;
    const big = (b: number): IEvent[] =>
      Array.from({ length: 10 }, (_, i) => ({
        seq: b * 10 + i + 1,
        timeMs: Date.now(),
        activeWindow: { title: 'x'.repeat(2000) },
      }));
    for (let b = 0; b < BATCHES; b++)
      for (const p of peers) p.client.send({ batch: { streamId: p.stream, events: big(b) } });
    try {
      while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 500));
      // ~20 kB per frame, 180 sent (about 3.6 MB). Taken in: the total bound, plus what each
      // socket had already read (up to 64 KiB each), plus one frame per connection.
      const framesTaken = heldEvents / 10 + h.app.ingest.committer.queued;
      expect(framesTaken).toBeGreaterThan(0);
      expect(framesTaken).toBeLessThanOrEqual(
        Math.ceil((TOTAL + peers.length * 64 * 1024) / 20_000) + peers.length,
      );
    } finally {
      hold = false;
      for (const r of held.splice(0)) r();
    }
    // Once storage catches up every connection reads again: everything is acked and stored.
    for (const p of peers) {
      let last = 0;
      while (last < BATCHES * 10) last = Number((await p.client.next('ack')).ack?.seq);
      const st = await h.app.store.timeline.getStream(p.dev.deviceId, p.stream);
      expect(st?.count).toBe(BATCHES * 10);
      p.client.close();
    }
  });
});
