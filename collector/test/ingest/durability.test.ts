// Acks follow durable (synced) writes: the ack never arrives before the synced batch completes,
// a failed write is never acked, and one synced write covers many connections (group commit).

import { CloseCode, CustodianError, ErrorCode } from '@custodian/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { K } from '../../src/store/keys.ts';
import type { KvEngine, KvOp } from '../../src/store/types.ts';
import { AgentClient, heartbeat } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

interface Gate {
  hold: boolean;
  fail: boolean;
  held: (() => void)[];
  syncedBatches: KvOp[][];
}

function gated(gate: Gate) {
  return (e: KvEngine): KvEngine => ({
    get: (k) => e.get(k),
    getMany: (k) => e.getMany(k),
    entries: (r) => e.entries(r),
    close: () => e.close(),
    batch: async (ops, o) => {
      if (o.sync && gate.hold) await new Promise<void>((resolve) => gate.held.push(resolve));
      if (o.sync && gate.fail) throw new CustodianError(ErrorCode.STORAGE, 'disk full (test)');
      await e.batch(ops, o);
      if (o.sync) gate.syncedBatches.push(ops);
    },
  });
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('durability', () => {
  it('does not ack before the synced write has completed', async () => {
    const gate: Gate = { hold: false, fail: false, held: [], syncedBatches: [] };
    h = await startHarness({ wrapEngine: gated(gate) });
    const { dev, client: c, stream } = await connectedDevice(h);
    gate.hold = true;
    c.send({ batch: { streamId: stream, events: [heartbeat(1), heartbeat(2)] } });
    while (gate.held.length === 0) await new Promise((r) => setTimeout(r, 5));
    // The commit is waiting for the disk: give the collector every chance to ack early.
    await new Promise((r) => setTimeout(r, 100));
    expect(c.has('ack')).toBe(false);
    expect(await h.app.store.engine.get(K.eventRef(dev.deviceId, stream, 1))).toBeUndefined();
    gate.hold = false;
    for (const release of gate.held.splice(0)) release();
    const ack = (await c.next('ack')).ack!;
    expect(ack.seq).toBe(2);
    expect(await h.app.store.engine.get(K.eventRef(dev.deviceId, stream, 2))).toBeDefined();
    c.close();
  });

  it('a batch queued behind a failed one is never written: its stream state would claim the failed seqs (soak disk campaign, issue 21)', async () => {
    // Batch A (seqs 2-3) waits for the disk; batch B (4-5) is queued behind it in the next group.
    // A fails. Were B written, the stored stream state (built on A's projection) would say 5 and
    // the agent, told so at its next Welcome, would drop 2-3 from its outbox: lost without a Gap.
    let holdNext = false;
    let settle: ((fail: boolean) => void) | undefined;
    const synced: number[] = [];
    h = await startHarness({
      wrapEngine: (e) => ({
        get: (k) => e.get(k),
        getMany: (k) => e.getMany(k),
        entries: (r) => e.entries(r),
        close: () => e.close(),
        batch: async (ops, o) => {
          if (o.sync && holdNext) {
            holdNext = false;
            if (await new Promise<boolean>((resolve) => (settle = resolve)))
              throw new CustodianError(ErrorCode.STORAGE, 'disk full (test)');
          }
          await e.batch(ops, o);
          if (o.sync) synced.push(ops.length);
        },
      }),
    });
    const { dev, client: c, stream } = await connectedDevice(h);
    await c.batch(stream, [heartbeat(1)]);
    holdNext = true;
    c.send({ batch: { streamId: stream, events: [heartbeat(2), heartbeat(3)] } });
    while (!settle) await new Promise((r) => setTimeout(r, 5));
    c.send({ batch: { streamId: stream, events: [heartbeat(4), heartbeat(5)] } });
    // B is queued for the next group once the collector has read it.
    while (h.app.ingest.committer.queued === 0) await new Promise((r) => setTimeout(r, 5));
    settle(true);
    expect((await c.closed).code).toBe(CloseCode.STORAGE_UNAVAILABLE);
    // Whatever the committer does next, B's events and B's stream state are not on disk.
    await h.app.ingest.committer.drain();
    expect(await h.app.store.engine.get(K.eventRef(dev.deviceId, stream, 4))).toBeUndefined();
    expect((await h.app.store.timeline.getStream(dev.deviceId, stream))?.maxSeq).toBe(1);
    const again = new AgentClient(h.wsUrl);
    const { welcome } = await again.hello(dev.deviceId, dev.deviceKey, stream);
    expect(welcome.ackedSeq).toBe(1);
    expect(await again.batch(stream, [heartbeat(2), heartbeat(3), heartbeat(4), heartbeat(5)])).toMatchObject(
      { seq: 5, duplicates: 0 },
    );
    const page = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 10 });
    expect(page.records.map((r) => r.seq).sort()).toEqual([1, 2, 3, 4, 5]);
    again.close();
  });

  it('never acks a failed write; the resend after reconnect is stored once', async () => {
    const gate: Gate = { hold: false, fail: false, held: [], syncedBatches: [] };
    h = await startHarness({ wrapEngine: gated(gate) });
    const { dev, client: c, stream } = await connectedDevice(h);
    await c.batch(stream, [heartbeat(1)]);
    gate.fail = true;
    c.send({ batch: { streamId: stream, events: [heartbeat(2), heartbeat(3)] } });
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.STORAGE_UNAVAILABLE);
    expect(c.has('ack')).toBe(false);
    gate.fail = false;
    const again = new AgentClient(h.wsUrl);
    const { welcome } = await again.hello(dev.deviceId, dev.deviceKey, stream);
    expect(welcome.ackedSeq).toBe(1);
    expect(await again.batch(stream, [heartbeat(2), heartbeat(3)])).toMatchObject({ seq: 3, duplicates: 0 });
    const page = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 10 });
    expect(page.records.map((r) => r.seq).sort()).toEqual([1, 2, 3]);
    again.close();
  });

  it('writes batches of many connections in fewer synced writes than batches (group commit)', async () => {
    const gate: Gate = { hold: false, fail: false, held: [], syncedBatches: [] };
    h = await startHarness({ wrapEngine: gated(gate), config: (c) => (c.ingest.commitTickMs = 20) });
    const clients = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const { client: c, stream } = await connectedDevice(h!);
        return { c, stream };
      }),
    );
    const before = gate.syncedBatches.length;
    const acks = await Promise.all(
      clients.map(({ c, stream }) => c.batch(stream, [heartbeat(1), heartbeat(2)])),
    );
    expect(acks.every((a) => a.seq === 2)).toBe(true);
    expect(gate.syncedBatches.length - before).toBeLessThan(clients.length);
    for (const { c } of clients) c.close();
  });

  it('graceful stop finishes in-flight batches before closing with GOING_AWAY', async () => {
    const gate: Gate = { hold: false, fail: false, held: [], syncedBatches: [] };
    h = await startHarness({ wrapEngine: gated(gate) });
    const { client: c, stream } = await connectedDevice(h);
    gate.hold = true;
    c.send({ batch: { streamId: stream, events: [heartbeat(1)] } });
    while (gate.held.length === 0) await new Promise((r) => setTimeout(r, 5));
    const stopping = h.app.stop();
    gate.hold = false;
    for (const release of gate.held.splice(0)) release();
    await stopping;
    const closed = await c.closed;
    expect(c.messages.some((m) => m.body === 'ack' && m.ack?.seq === 1)).toBe(true);
    expect(closed.code).toBe(CloseCode.GOING_AWAY);
    h = undefined;
  });
});
