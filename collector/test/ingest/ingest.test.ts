// Ingest over real WebSockets against an in-process collector with a real level store.
import { CloseCode, MAX_BATCH_EVENTS, MAX_FRAME_BYTES, v1 } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, flagged, heartbeat, newStreamId, windowEvent } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('ingest', () => {
  it('welcomes an enrolled device, pushes its policy, stores and acks a batch', async () => {
    const { dev, client, stream, welcome, policy } = await connectedDevice(h);
    expect(welcome.ackedSeq).toBe(0);
    expect(policy.version).toBe(1); // a fresh collector: the default policy, never changed
    expect(policy.idleLock?.idleLockSeconds).toBe(900);
    const ack = await client.batch(stream, [heartbeat(1), windowEvent(2, 'Maths homework'), heartbeat(3)]);
    expect(ack.seq).toBe(3);
    expect(ack.duplicates).toBe(0);
    const page = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 10 });
    expect(page.records.map((r) => r.seq).sort()).toEqual([1, 2, 3]);
    const status = h.app.status.get(dev.deviceId);
    expect(status.connected).toBe(true);
    expect(status.currentWindow?.title).toBe('Maths homework');
    client.close();
  });

  it('stores duplicates once and acks them again', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    const events = [heartbeat(1), heartbeat(2)];
    expect((await client.batch(stream, events)).duplicates).toBe(0);
    const again = await client.batch(stream, events);
    expect(again.seq).toBe(2);
    expect(again.duplicates).toBe(2);
    // Within one batch too.
    const mixed = await client.batch(stream, [heartbeat(3), heartbeat(3), heartbeat(2)]);
    expect(mixed.seq).toBe(3);
    expect(mixed.duplicates).toBe(2);
    const page = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 100 });
    expect(page.records.map((r) => r.seq).sort()).toEqual([1, 2, 3]);
    const st = await h.app.store.timeline.getStream(dev.deviceId, stream);
    expect(st?.count).toBe(3);
    client.close();
  });

  it('tells a reconnecting agent what it holds, and dedups the resend', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [heartbeat(1), heartbeat(2), heartbeat(3)]);
    client.close();
    await client.closed;
    const again = new AgentClient(h.wsUrl);
    const { welcome } = await again.hello(dev.deviceId, dev.deviceKey, stream);
    expect(welcome.ackedSeq).toBe(3);
    const ack = await again.batch(stream, [heartbeat(2), heartbeat(3), heartbeat(4)]);
    expect(ack).toMatchObject({ seq: 4, duplicates: 2 });
    // Deduplicated in the store, not only in the ack: each seq once.
    const page = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 100 });
    expect(page.records.map((r) => r.seq).sort()).toEqual([1, 2, 3, 4]);
    expect((await h.app.store.timeline.getStream(dev.deviceId, stream))?.count).toBe(4);
    again.close();
  });

  it('records gapped and out-of-order seq instead of accepting them silently', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [heartbeat(1), heartbeat(2), heartbeat(5)]);
    await client.batch(stream, [heartbeat(4)]);
    const st = await h.app.store.timeline.getStream(dev.deviceId, stream);
    expect(st?.gaps).toEqual([expect.objectContaining({ afterSeq: 2, nextSeq: 5 })]);
    expect(st?.outOfOrder).toBe(1);
    expect(st?.maxSeq).toBe(5);
    client.close();
  });

  it('opens one alert per flagged event, in the same commit, never twice on replay', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    const events = [flagged(1, 'unalive')];
    await client.batch(stream, events);
    await client.batch(stream, events);
    const alerts = await h.app.store.alerts.list({ deviceId: dev.deviceId });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      status: 'new',
      term: 'unalive',
      category: 'self-harm',
      severity: 4,
      event: { streamId: stream, seq: 1 },
    });
    const rec = await h.app.store.timeline.get(dev.deviceId, stream, 1);
    expect(rec?.alertId).toBe(alerts[0]?.id);
    client.close();
  });

  it('truncates over-long strings and says so', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [windowEvent(1, 'x'.repeat(10_000))]);
    const rec = await h.app.store.timeline.get(dev.deviceId, stream, 1);
    expect(rec?.truncated).toEqual(['activeWindow.title']);
    expect(v1.Event.decode(rec!.event).activeWindow?.title).toHaveLength(4096);
    client.close();
  });

  it('pushes a policy change to connected agents and records who changed it and why', async () => {
    const { dev, client } = await connectedDevice(h);
    const res = await h.api('PUT', `/api/v1/devices/${dev.deviceId}/policy`, {
      policy: { idleLock: { idleLockSeconds: 300 } },
      reason: 'exam room',
    });
    expect(res.status).toBe(200);
    const pushed = (await client.next('policy')).policy!;
    expect(pushed.idleLock?.idleLockSeconds).toBe(300);
    expect(pushed.version).toBe(res.json.effective.version);
    const changes = await h.api('GET', `/api/v1/policy/changes?scope=${dev.deviceId}`);
    expect(changes.json.records[0]).toMatchObject({
      actor: 'admin-token',
      reason: 'exam room',
      old: null,
      new: { idleLock: { idleLockSeconds: 300 } },
    });
    client.close();
  });
});

describe('ingest refuses bad input with named close codes', () => {
  it('wrong subprotocol', async () => {
    const c = new AgentClient(h.wsUrl, ['custodian.v0']);
    expect((await c.closed).code).toBe(CloseCode.BAD_SUBPROTOCOL);
  });

  it('no Hello within the deadline', async () => {
    const c = new AgentClient(h.wsUrl);
    expect((await c.closed).code).toBe(CloseCode.AUTH_TIMEOUT);
  });

  it('wrong key, unknown device, path-like device id', async () => {
    const dev = await h.enrol();
    for (const [id, key] of [
      [dev.deviceId, 'A'.repeat(43)],
      ['d_nope', dev.deviceKey],
      ['../../etc', dev.deviceKey],
    ] as const) {
      const c = new AgentClient(h.wsUrl);
      await c.opened;
      c.send({ hello: { deviceId: id, deviceKey: key, streamId: newStreamId() } });
      const closed = await c.closed;
      expect(closed.code).toBe(CloseCode.AUTH_FAILED);
      expect(c.messages.find((m) => m.body === 'error')?.error?.code).toBe('CUST_ERR_AUTH_FAILED');
    }
  });

  it('revoked device gets DEVICE_REVOKED with the reason, live sessions are closed', async () => {
    const { dev, client } = await connectedDevice(h);
    const res = await h.api('POST', `/api/v1/devices/${dev.deviceId}/revoke`, { reason: 'lost laptop' });
    expect(res.status).toBe(200);
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.DEVICE_REVOKED);
    expect(closed.reason).toContain('lost laptop');
    const again = new AgentClient(h.wsUrl);
    await again.opened;
    again.send({ hello: { deviceId: dev.deviceId, deviceKey: dev.deviceKey, streamId: newStreamId() } });
    expect(await again.closed).toMatchObject({ code: CloseCode.DEVICE_REVOKED });
    const d = await h.app.store.devices.get(dev.deviceId);
    expect(d?.revokedConnectAttempts?.count).toBe(1);
  });

  it('message before Hello, malformed frame, text frame, unknown kind', async () => {
    const cases: [(c: AgentClient) => void, number][] = [
      [(c) => c.send({ batch: { streamId: 'x', events: [] } }), CloseCode.PROTOCOL_VIOLATION],
      [(c) => c.sendRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), CloseCode.MALFORMED],
      [(c) => c.sendRaw('hello'), CloseCode.MALFORMED],
      [(c) => c.sendRaw(new Uint8Array([0x78, 0x01])), CloseCode.PROTOCOL_VIOLATION], // field 15 varint: no known body
    ];
    for (const [act, code] of cases) {
      const c = new AgentClient(h.wsUrl);
      await c.opened;
      act(c);
      expect((await c.closed).code).toBe(code);
    }
  });

  it('oversize frame and too many events', async () => {
    const big = new AgentClient(h.wsUrl);
    await big.opened;
    big.sendRaw(new Uint8Array(MAX_FRAME_BYTES + 10));
    expect((await big.closed).code).toBe(CloseCode.FRAME_TOO_LARGE);

    const { client, stream } = await connectedDevice(h);
    const events = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => heartbeat(i + 1));
    client.send({ batch: { streamId: stream, events } });
    expect((await client.closed).code).toBe(CloseCode.LIMIT_EXCEEDED);
    expect(client.messages.find((m) => m.body === 'error')?.error?.code).toBe('CUST_ERR_BATCH_TOO_LARGE');
  });

  it('a batch for another stream, seq 0', async () => {
    for (const events of [[heartbeat(0)]]) {
      const { client, stream } = await connectedDevice(h);
      client.send({ batch: { streamId: stream, events } });
      expect((await client.closed).code).toBe(CloseCode.PROTOCOL_VIOLATION);
    }
    const { client } = await connectedDevice(h);
    client.send({ batch: { streamId: 'other', events: [heartbeat(1)] } });
    expect((await client.closed).code).toBe(CloseCode.PROTOCOL_VIOLATION);
  });

  it('a newer session of the same device replaces the older one', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    const second = new AgentClient(h.wsUrl);
    await second.hello(dev.deviceId, dev.deviceKey, stream);
    expect((await client.closed).code).toBe(CloseCode.REPLACED);
    second.close();
  });
});

describe('text that is not UTF-8', () => {
  it('closes MALFORMED for a string field with invalid UTF-8, keeping what was acked', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [heartbeat(1)]);
    const { encodeAgentMessage } = await import('@custodian/protocol');
    const bytes = Buffer.from(
      encodeAgentMessage({ batch: { streamId: stream, events: [windowEvent(2, 'AAAA')] } }),
    );
    const at = bytes.indexOf(Buffer.from('AAAA'));
    bytes[at] = 0xff;
    bytes[at + 1] = 0xfe;
    client.sendRaw(bytes);
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.MALFORMED);
    expect(await h.app.store.timeline.has(dev.deviceId, stream, 1)).toBe(true);
    expect(await h.app.store.timeline.has(dev.deviceId, stream, 2)).toBe(false);
  });
});

// Found by the fuzz campaign (test/soak/fuzz.ts, seed 7, connection 54): an agent clock past
// what Date can show (8.64e15 ms) made the clock note throw, the session failed with
// STORAGE_UNAVAILABLE ("retry later"), and the agent's resend failed the same way forever: every
// later event of that stream stuck behind one bad timestamp.
describe('agent clocks beyond what Date can show', () => {
  it('stores and acks the events, ordered by receive time, and keeps the stream going', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    const before = Date.now();
    const ack = await client.batch(stream, [
      heartbeat(1, Number.MAX_SAFE_INTEGER),
      windowEvent(2, 'far future', 8.64e15 + 1),
      flagged(3, 'knife', [], Number.MAX_SAFE_INTEGER),
    ]);
    expect(ack.seq).toBe(3);
    expect((await client.batch(stream, [heartbeat(4)])).seq).toBe(4);
    const page = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 10 });
    const bySeq = new Map(page.records.map((r) => [r.seq, r]));
    expect([...bySeq.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(bySeq.get(1)?.time).toBeGreaterThanOrEqual(before);
    expect(bySeq.get(1)?.agentTimeMs).toBe(Number.MAX_SAFE_INTEGER);
    expect(bySeq.get(2)?.timeReason).toMatch(/agent clock 8640000000000001 ms is more than/);
    const alert = await h.app.store.alerts.get(bySeq.get(3)!.alertId!);
    expect(alert?.occurredAt).toBeGreaterThanOrEqual(before);
    client.close();
  });
});
