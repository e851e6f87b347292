// bridge.ts: what this process's hub emits is published once; what another process published is
// replayed here and never published again (loop prevention); alerts and devices cross by id;
// a flagged event's content does not cross; a status for a device held here is not overwritten
// by another process's message. A recording bus stands in for NATS (the real one:
// test/e2e/multi-process.test.ts).
import { describe, expect, it } from 'vitest';
import { bridgeBus } from '../../src/bus/bridge.ts';
import type { Bus, BusHandlers, BusMessages, BusTopic } from '../../src/bus/bus.ts';
import type { IngestServer } from '../../src/ingest/server.ts';
import { LiveHub } from '../../src/live/hub.ts';
import { StatusTracker } from '../../src/live/status.ts';
import { createLogger } from '../../src/log.ts';
import { openMemoryStore } from '../../src/store/index.ts';
import { alertOps } from '../../src/store/records.ts';
import type { Alert, DeviceLiveStatus } from '../../src/store/types.ts';

function setup(local: string[] = []) {
  const published: [BusTopic, unknown][] = [];
  let handlers: BusHandlers | undefined;
  const bus: Bus = {
    kind: 'nats',
    processId: 'p1',
    start: (h) => {
      handlers = h;
    },
    publish: <K extends BusTopic>(topic: K, data: BusMessages[K]) => {
      published.push([topic, data]);
    },
    claim: async () => undefined,
    release: async () => undefined,
    locate: () => undefined,
    command: async () => false,
    health: () => ({ kind: 'nats', connected: true }),
    close: async () => undefined,
  };
  const store = openMemoryStore();
  const live = new LiveHub();
  const status = new StatusTracker({ store, live, now: Date.now });
  const ingest = {
    isConnected: (id: string) => local.includes(id),
    localDevices: () => local,
    superseded: () => undefined,
    commands: { deliverLocal: async () => true },
  } as unknown as IngestServer;
  const stop = bridgeBus({ bus, live, status, store, ingest, log: createLogger('silent'), now: Date.now });
  const remote = <K extends BusTopic>(topic: K, data: BusMessages[K]) =>
    (handlers as BusHandlers).message(topic, data);
  return { published, live, status, store, remote, stop };
}

const st = (deviceId: string, connected: boolean): DeviceLiveStatus => ({
  deviceId,
  connected,
  usbVolumes: [],
});

describe('bridgeBus', () => {
  it('publishes what this process emits, once, without the recomputed sensitive paths', () => {
    const { published, live } = setup();
    live.emit('status', { ...st('d1', true), sensitive: ['currentWindow.title'] });
    live.emit('policy', { scope: 'default', version: 7 });
    live.emit('alert', { id: 'a1', deviceId: 'd1', term: 'secret-term' } as unknown as Alert);
    expect(published).toEqual([
      ['status', st('d1', true)],
      ['policy', { scope: 'default', version: 7 }],
      ['alert', { id: 'a1' }],
    ]);
  });

  it("replays another process's messages here and never publishes them again", () => {
    const { published, live, status, remote } = setup();
    const seen: string[] = [];
    live.on('status', (s) => seen.push(`status:${s.deviceId}`));
    live.on('policy', (p) => seen.push(`policy:${p.scope}`));
    remote('status', st('d2', true));
    remote('policy', { scope: 'd2', version: 3 });
    remote('event', {
      deviceId: 'd2',
      streamId: 's',
      seq: 1,
      time: 1,
      receivedAt: 1,
      kind: 'heartbeat',
      event: {},
    });
    expect(seen).toEqual(['status:d2', 'policy:d2']);
    expect(status.get('d2').connected).toBe(true);
    expect(published).toEqual([]);
    // The flag is cleared after the replay: this process's own emits go out again.
    live.emit('status', st('d3', false));
    expect(published).toEqual([['status', st('d3', false)]]);
  });

  it('keeps the content of a flagged event here', () => {
    const { published, live } = setup();
    const base = { deviceId: 'd1', streamId: 's', seq: 1, time: 1, receivedAt: 1 };
    live.emit('event', {
      ...base,
      kind: 'flaggedActivity',
      event: { flaggedActivity: { term: 'secret-term' } },
    });
    live.emit('event', { ...base, seq: 2, kind: 'heartbeat', event: {} });
    expect(published.map(([t, d]) => [t, (d as { seq: number }).seq])).toEqual([['event', 2]]);
  });

  it('does not let another process overwrite the status of a device held here', () => {
    const { status, remote } = setup(['d1']);
    status.set(st('d1', true));
    remote('status', st('d1', false));
    expect(status.get('d1').connected).toBe(true);
  });

  it('reads a remote alert from the shared store: only its id crossed', async () => {
    const { live, store, remote } = setup();
    const alert: Alert = {
      id: 'a9',
      deviceId: 'd1',
      event: { streamId: 's', seq: 9 },
      category: 'self-harm',
      severity: 4,
      term: 'secret-term',
      context: 'ctx',
      windowTitle: '',
      windowUrl: '',
      windowApp: '',
      source: 'title',
      educationalContext: false,
      repeatCount: 1,
      screenshotBlobIds: [],
      screenshotUnavailableReason: '',
      status: 'new',
      notes: [],
      history: [],
      occurredAt: 1,
      createdAt: 1,
      updatedAt: 1,
    };
    await store.engine.batch(alertOps(store.cipher, alert), { sync: true });
    const got: Alert[] = [];
    live.on('alert', (a) => got.push(a));
    remote('alert', { id: 'a9' });
    remote('alert', { id: 'unknown' });
    await new Promise((r) => setTimeout(r, 50));
    expect(got.map((a) => [a.id, a.term])).toEqual([['a9', 'secret-term']]);
  });
});
