// In-memory state of every (device, stream) seen since start, shared by all connections so a
// replaced session's not-yet-durable batch and the new session's resend are deduplicated
// against each other. Loaded from the store on first use.
import type { Store, StreamState } from '../store/types.ts';

export interface LiveStream {
  /** Highest seq held durably: what Welcome and Ack report. */
  committedMax: number;
  /**
   * The stream record as it will be once everything queued is written. Each batch's commit
   * persists this projection, so concurrent batches of one group never write stale counts.
   */
  queued: StreamState;
  /** Highest seq queued for commit (>= committedMax). */
  maxQueued: number;
  /** Seqs queued for commit but not yet durable. */
  pending: Set<number>;
  /**
   * Set when a commit of this stream failed: every batch queued after it projected that batch's
   * seqs, so none of them may be written (group-commit.ts `stillValid`); the registry forgets this
   * object and the next batch starts again from the disk.
   */
  failed: boolean;
}

/** Gaps kept per stream record (the newest); the count of all is in the timeline anyway. */
export const MAX_GAPS_KEPT = 100;

export class StreamRegistry {
  private readonly streams = new Map<string, Promise<LiveStream>>();
  private readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }

  get(deviceId: string, streamId: string, now: number): Promise<LiveStream> {
    const key = `${deviceId}\n${streamId}`;
    let s = this.streams.get(key);
    if (!s) {
      s = this.store.timeline.getStream(deviceId, streamId).then((stored) => {
        const state: StreamState = stored ?? {
          deviceId,
          streamId,
          maxSeq: 0,
          count: 0,
          firstSeenAt: now,
          lastSeenAt: now,
          gaps: [],
          outOfOrder: 0,
          duplicates: 0,
        };
        return {
          committedMax: state.maxSeq,
          queued: state,
          maxQueued: state.maxSeq,
          pending: new Set<number>(),
          failed: false,
        };
      });
      // A failed load must not stick: the next Hello tries again.
      s.catch(() => this.streams.delete(key));
      this.streams.set(key, s);
    }
    return s;
  }

  /** After a failed commit the in-memory view may be ahead of the disk: reload next time. */
  forget(deviceId: string, streamId: string): void {
    this.streams.delete(`${deviceId}\n${streamId}`);
  }

  /**
   * Drops a stream nobody is sending on and with nothing waiting for the disk, so the map holds
   * active streams only (an enrolled device opening endless streams cannot grow it for ever).
   */
  async forgetIfIdle(deviceId: string, streamId: string): Promise<void> {
    const key = `${deviceId}\n${streamId}`;
    const entry = this.streams.get(key);
    if (!entry) return;
    const s = await entry.catch(() => undefined);
    if (s && s.pending.size === 0 && s.maxQueued === s.committedMax && this.streams.get(key) === entry) {
      this.streams.delete(key);
    }
  }

  get size(): number {
    return this.streams.size;
  }
}
