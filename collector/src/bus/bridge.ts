// Connects a Bus (bus.ts) to this process's live hub, status tracker and ingest. Outgoing: what
// this process's hub emits (statuses, events, alerts and devices by id, policy changes) is
// published. Incoming: what another process published is replayed on this hub, so every console
// feed here sees it and ingest here acts on it (a policy change pushes the policy to the devices
// connected here, a revocation closes the session here). Loop prevention: while a message from
// the bus is replayed (emit is synchronous) nothing is published, so a message crosses once.

import type { IngestServer } from '../ingest/server.ts';
import type { LiveEvent, LiveHub } from '../live/hub.ts';
import type { StatusTracker } from '../live/status.ts';
import type { Logger } from '../log.ts';
import type { Alert, Device, DeviceLiveStatus, Store } from '../store/types.ts';
import type { Bus, BusMessages, BusTopic, PresenceEntry } from './bus.ts';

export interface BridgeOptions {
  bus: Bus;
  live: LiveHub;
  status: StatusTracker;
  store: Store;
  ingest: IngestServer;
  log: Logger;
  now: () => number;
}

/** Starts the bus with handlers wired to this process; returns the unsubscribe function. */
export function bridgeBus(o: BridgeOptions): () => void {
  const { bus, live, status, store, ingest, log } = o;
  let replaying = false;
  const replay = (fn: () => void) => {
    replaying = true;
    try {
      fn();
    } finally {
      replaying = false;
    }
  };
  const onStatus = (s: DeviceLiveStatus) => {
    if (replaying) return;
    // `sensitive` is recomputed by each receiver against the device's library.
    const { sensitive: _s, ...plain } = s;
    bus.publish('status', plain);
  };
  const onEvent = (e: LiveEvent) => {
    // A flagged event's content (term, context) stays in this process: the alert goes by id.
    if (!replaying && e.kind !== 'flaggedActivity') bus.publish('event', e);
  };
  const onAlert = (a: Alert) => {
    if (!replaying) bus.publish('alert', { id: a.id });
  };
  const onDevice = (d: Device) => {
    if (!replaying) bus.publish('device', { id: d.id });
  };
  const onPolicy = (p: { scope: string; version: number }) => {
    if (!replaying) bus.publish('policy', p);
  };
  live.on('status', onStatus);
  live.on('event', onEvent);
  live.on('alert', onAlert);
  live.on('device', onDevice);
  live.on('policy', onPolicy);

  const failed = (what: string) => (err: unknown) =>
    log.warn({ err: (err as Error).message }, `bus: ${what}`);
  const message = <K extends BusTopic>(topic: K, data: BusMessages[K]) => {
    switch (topic) {
      case 'status': {
        const s = data as DeviceLiveStatus;
        if (typeof s.deviceId !== 'string') return;
        // This process holds the device: its own status is the truth (a late message from a
        // process the device left must not show it offline).
        if (ingest.isConnected(s.deviceId)) return;
        replay(() => status.set(s));
        return;
      }
      case 'event':
        replay(() => live.emit('event', data as LiveEvent));
        return;
      case 'policy':
        replay(() => live.emit('policy', data as BusMessages['policy']));
        return;
      case 'alert':
        store.alerts
          .get((data as BusMessages['alert']).id)
          .then((a) => a && replay(() => live.emit('alert', a)), failed('could not read a remote alert'));
        return;
      case 'device':
        store.devices
          .get((data as BusMessages['device']).id)
          .then((d) => d && replay(() => live.emit('device', d)), failed('could not read a remote device'));
        return;
    }
  };
  const offline = (deviceId: string, persist: boolean) => {
    if (ingest.isConnected(deviceId)) return;
    const change = { connected: false, lastDisconnect: { at: o.now(), code: 1006 } };
    if (persist) status.patch(deviceId, change).catch(failed('could not record a device offline'));
    else replay(() => status.set({ ...status.get(deviceId), ...change }));
  };
  bus.start({
    message,
    command: (deviceId, record) => ingest.commands.deliverLocal(deviceId, record),
    superseded: (deviceId, session) => ingest.superseded(deviceId, session),
    deviceGone: (deviceId, _entry: PresenceEntry, persist) => {
      log.info({ deviceId }, 'bus: the collector holding this device is gone; shown offline');
      offline(deviceId, persist);
    },
    present: (deviceId) => {
      if (status.get(deviceId).connected || ingest.isConnected(deviceId)) return;
      // Connected to another process before this one joined: its last committed snapshot.
      store.status.get(deviceId).then((s) => {
        if (!s || status.get(deviceId).connected || ingest.isConnected(deviceId)) return;
        replay(() => status.set({ ...s, connected: true }));
      }, failed('could not read a remote status'));
    },
    reconnected: () => {
      for (const id of ingest.localDevices()) onStatus(status.get(id));
    },
  });
  return () => {
    live.off('status', onStatus);
    live.off('event', onEvent);
    live.off('alert', onAlert);
    live.off('device', onDevice);
    live.off('policy', onPolicy);
  };
}
