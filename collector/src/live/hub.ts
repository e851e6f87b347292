// Post-commit notifications for the console's live feeds. Everything emitted here is already
// durable: ingest emits only after its group commit resolved, so a listener never shows
// something a crash could take back. Listeners must not throw (errors are logged and dropped
// by the emitter wrapper) and must not block: they run on the ingest path.
import { EventEmitter } from 'node:events';
import type { Alert, Device, DeviceLiveStatus } from '../store/types.ts';
import { SseStreamLimiter } from './sse.ts';

/** One stored event, decoded for JSON APIs (same shape as a timeline API item). */
export interface LiveEvent {
  deviceId: string;
  streamId: string;
  seq: number;
  time: number;
  receivedAt: number;
  kind: string;
  /** eventToJson() of the stored event. flaggedActivity content and `sensitive` text are here: filter by role before sending (devices/views.ts). */
  event: Record<string, unknown>;
  alertId?: string;
  truncated?: string[];
  /** Paths of device text that matched the safeguarding library (TimelineRecord.sensitive). */
  sensitive?: string[];
}

/**
 * A policy change. `scope`: 'default' (every device), a device id, or `school:<id>` /
 * `group:<id>` with `devices`, the ids of every device that layer covers.
 */
export interface PolicyEvent {
  scope: string;
  version: number;
  devices?: readonly string[];
}

export interface LiveEventMap {
  /** A new (non-duplicate) event was stored. */
  event: [LiveEvent];
  /** An alert was opened (same commit as its flaggedActivity event). */
  alert: [Alert];
  /** A device's live status changed (connect, disconnect, heartbeat, window, idle, USB, policy). */
  status: [DeviceLiveStatus];
  /** A device was enrolled, re-enrolled or revoked. */
  device: [Device];
  /** Policy changed (see PolicyEvent). */
  policy: [PolicyEvent];
}

export class LiveHub extends EventEmitter<LiveEventMap> {
  /** Open SSE streams per account, shared by every feed (live/sse.ts). */
  readonly streams: SseStreamLimiter;

  constructor(options: { ssePerUser?: number } = {}) {
    super({ captureRejections: false });
    this.streams = new SseStreamLimiter(options.ssePerUser);
    // SSE clients each add listeners; many consoles may be open.
    this.setMaxListeners(0);
  }
}
