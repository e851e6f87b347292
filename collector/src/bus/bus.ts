// What crosses collector processes (issue 20): live status and alert fan-out to every console
// feed whichever process holds the device, policy pushes and revocations, staff commands to a
// device held by another process (and the result, which comes back as that device's status), and
// device presence (device → process + session). Two implementations: `none` (none.ts: one
// process, everything stays in-process as before) and `nats` (nats.ts: NATS core subjects for the
// fan-out and commands, JetStream KV buckets for presence). bridge.ts connects a Bus to the live
// hub, the status tracker and ingest; nothing else talks to it.
//
// What travels: statuses and timeline events as the console's live feed shows them (device text
// included: run NATS on a private network with TLS and credentials); devices, alerts by id only —
// the receiver reads them from the shared store, so alert content (terms, contexts, screenshots)
// never crosses the bus. Nothing on the bus is kept by NATS past delivery except the presence
// buckets (device id, process, session, stream id, time).
import type { BusKind } from '../config.ts';
import type { LiveEvent } from '../live/hub.ts';
import type { DeviceCommandRecord, DeviceLiveStatus } from '../store/types.ts';

/** Who holds a device's live session: one entry per device in the presence bucket. */
export interface PresenceEntry {
  /** The holding process's bus id (Bus.processId). */
  process: string;
  /** The session's random id (Session.sessionId). */
  session: string;
  streamId: string;
  since: number;
}

export interface BusMessages {
  status: DeviceLiveStatus;
  /** Read from the store by the receiver. */
  alert: { id: string };
  /** Read from the store by the receiver (enrolled, revoked, replaced). */
  device: { id: string };
  policy: { scope: string; version: number };
  event: LiveEvent;
}
export type BusTopic = keyof BusMessages;
export const BUS_TOPICS: readonly BusTopic[] = ['status', 'alert', 'device', 'policy', 'event'];

export interface BusHandlers {
  /** A message published by another process (never this one's own). */
  message<K extends BusTopic>(topic: K, data: BusMessages[K]): void;
  /** A staff command for a device this process holds: true once sent to its session. */
  command(deviceId: string, record: DeviceCommandRecord): Promise<boolean>;
  /** Another process claimed a device after this one did: this process's session is the older. */
  superseded(deviceId: string, session: string, by: PresenceEntry): void;
  /**
   * The process holding this device stopped renewing its presence (killed, cut off). `persist`:
   * this process removed the presence entry, so it (and only it) records the device offline.
   */
  deviceGone(deviceId: string, entry: PresenceEntry, persist: boolean): void;
  /** A device held by another process when this one (re)connected to the bus (its watch's first snapshot). */
  present(deviceId: string, entry: PresenceEntry): void;
  /** (Re)connected to the bus after it was unreachable: republish what others may have missed. */
  reconnected(): void;
}

export interface BusHealth {
  kind: BusKind;
  /** False while NATS is unreachable (the collector keeps serving; see docs/deployment.md). */
  connected: boolean;
}

export interface Bus {
  readonly kind: BusKind;
  /** This process's id on the bus: its name plus a random suffix per start. */
  readonly processId: string;
  start(handlers: BusHandlers): void;
  /** Fire and forget; dropped while the bus is unreachable. */
  publish<K extends BusTopic>(topic: K, data: BusMessages[K]): void;
  /**
   * Records that this process holds the device's session. Resolves with the entry it replaced
   * when that was a session on another live process (the device is connected twice).
   */
  claim(deviceId: string, entry: PresenceEntry): Promise<PresenceEntry | undefined>;
  /** The session ended: its presence entry goes, unless another session claimed the device since. */
  release(deviceId: string, session: string): Promise<void>;
  /** The device's session on another live process, if any. */
  locate(deviceId: string): PresenceEntry | undefined;
  /** Asks the holding process to send a command to the device; false if it could not. */
  command(holder: PresenceEntry, deviceId: string, record: DeviceCommandRecord): Promise<boolean>;
  health(): BusHealth;
  close(): Promise<void>;
}
