// One simulated agent at protocol level (issue 20 item 5): a `ws` client speaking custodian.v1
// the way agent/src/link/link.ts does, without the agent's monitors, OS calls or disk outbox.
// - Hello first (stream id random per outbox, last seq, policy version); on Welcome, events up to
//   its acked seq are dropped and everything after is (re)sent;
// - events go out in batches of what is waiting (at most MAX_BATCH_EVENTS), at most
//   maxInflightEvents unacked on the wire (the agent's default: 4 batches); acks drop them;
// - each flag's screenshot is uploaded as a blob (one chunk at this size) and kept until its
//   BlobAck says STORED; a pushed policy is answered with PolicyApplied, a command with a result;
// - a closed or failed connection is retried after backoffDelay() — the agent's own function, with
//   its defaults (1 s doubling to 60 s, equal jitter), reset by a Welcome; AUTH_FAILED and
//   DEVICE_REVOKED stop it (counted as problems: the simulator's devices are all valid);
// - activity goes on while offline (the outbox grows, heartbeats report its depth).
// Not simulated: the agent's ping (the collector pings; ws answers), TLS, the disk outbox.
import { createHash, randomUUID } from 'node:crypto';
import {
  BLOB_CHUNK_BYTES,
  CloseCode,
  type CollectorMessage,
  decodeCollectorMessage,
  encodeAgentMessage,
  type IAgentMessage,
  type IEvent,
  MAX_BATCH_EVENTS,
  SUBPROTOCOL,
} from '@custodian/protocol';
import WebSocket from 'ws';
import { backoffDelay } from '../../agent/src/link/backoff.ts';
import {
  bootEvents,
  flagEvent,
  heartbeatEvent,
  heartbeatEveryMs,
  nextActivity,
  type SchoolDayProfile,
  usbAttachedEvent,
  usbRemovedEvent,
  windowEvent,
} from './profile.ts';

/** Counters shared by every agent of one simulator process. */
export interface SimCounters {
  connected: number;
  welcomes: number;
  attempts: number;
  failedAttempts: number;
  generated: number;
  acked: number;
  batches: number;
  blobsStored: number;
  /** Batch sent → Ack covering it, ms (cleared by the caller per phase). */
  ackLatencies: number[];
  /** Boot (or collector back) → Welcome, ms, one per connection made. */
  connectLatencies: number[];
  problems: string[];
  closeCodes: Record<string, number>;
}

export function newCounters(): SimCounters {
  return {
    connected: 0,
    welcomes: 0,
    attempts: 0,
    failedAttempts: 0,
    generated: 0,
    acked: 0,
    batches: 0,
    blobsStored: 0,
    ackLatencies: [],
    connectLatencies: [],
    problems: [],
    closeCodes: {},
  };
}

export interface SimAgentOptions {
  wsUrl: string;
  deviceId: string;
  deviceKey: string;
  hostname: string;
  profile: SchoolDayProfile;
  random: () => number;
  counters: SimCounters;
  /** Called for every event as it is put on the wire (the probe times the live feed with it). */
  onSent?: (e: IEvent, at: number) => void;
  /** Activity off: only boot events and heartbeats (the probe drives its own events). */
  quietActivity?: boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  connectTimeoutMs?: number;
  maxInflightEvents?: number;
}

interface PendingBlob {
  blobId: string;
  data: Uint8Array;
  sha256: Uint8Array;
  sending: boolean;
}

export class SimAgent {
  readonly streamId = randomUUID();
  private readonly o: Required<Omit<SimAgentOptions, 'onSent' | 'quietActivity'>> &
    Pick<SimAgentOptions, 'onSent' | 'quietActivity'>;
  private ws: WebSocket | undefined;
  private ready = false;
  private stopped = false;
  private activityOn = false;
  private attempt = 0;
  private seq = 0;
  private sentSeq = 0;
  ackedSeq = 0;
  private outbox: IEvent[] = [];
  private readonly inflight: { lastSeq: number; at: number }[] = [];
  private readonly blobs = new Map<string, PendingBlob>();
  private heartbeatMs = 60_000;
  private bootAt = 0;
  private connectStartedAt = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private usbSerial = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: SimAgentOptions) {
    this.o = {
      initialBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      connectTimeoutMs: 15_000,
      maxInflightEvents: 4 * MAX_BATCH_EVENTS,
      ...options,
    };
  }

  get deviceId(): string {
    return this.o.deviceId;
  }

  /** Highest seq this agent has assigned. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Connected and nothing waiting: every event and screenshot acknowledged. */
  get settled(): boolean {
    return this.ready && this.outbox.length === 0 && this.blobs.size === 0;
  }

  /** Events not yet acked, screenshots not yet STORED. */
  get waiting(): { events: number; blobs: number } {
    return { events: this.outbox.length, blobs: this.blobs.size };
  }

  get isConnected(): boolean {
    return this.ready;
  }

  /** The laptop boots: the agent's start events, its heartbeat timer, its activity, then connects. */
  boot(): void {
    this.bootAt = Date.now();
    for (const e of bootEvents(this.seq + 1, this.o.hostname)) this.emit(e);
    this.activityOn = !this.o.quietActivity;
    this.scheduleHeartbeat(true);
    this.scheduleActivity();
    this.connect();
  }

  /** Stops producing new events (the harness then waits for everything to be acked). */
  quiesce(): void {
    this.activityOn = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  stop(): void {
    this.stopped = true;
    this.quiesce();
    clearTimeout(this.reconnectTimer);
    this.ws?.terminate();
  }

  /** A new event with the next seq (as the agent's outbox.emit does). */
  emitNow(make: (seq: number) => IEvent): void {
    this.emit(make(this.seq + 1));
  }

  private emit(e: IEvent): void {
    this.seq = Number(e.seq);
    this.outbox.push(e);
    this.o.counters.generated++;
    this.pump();
  }

  private later(ms: number, fn: () => void): void {
    if (ms > 2 ** 31 - 1) return; // past a timer's range: never, for a simulation
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /**
   * The first heartbeat comes at a random point of the period: a fleet's laptops boot over ten
   * minutes, so their heartbeats are spread over the period, not bunched after a compressed storm.
   */
  private scheduleHeartbeat(first = false): void {
    const every = heartbeatEveryMs(this.o.profile, this.heartbeatMs, this.o.random);
    this.later(first ? Math.floor(this.o.random() * every) : every, () => {
      if (this.stopped) return;
      this.emitNow((seq) =>
        heartbeatEvent(seq, Math.round((Date.now() - this.bootAt) / 1000), this.outbox.length),
      );
      this.scheduleHeartbeat();
    });
  }

  private scheduleActivity(): void {
    if (!this.activityOn) return;
    const { inMs, kind } = nextActivity(this.o.profile, this.o.random);
    this.later(inMs, () => {
      if (!this.activityOn) return;
      if (kind === 'window') this.emitNow((seq) => windowEvent(seq, this.o.random));
      else if (kind === 'flag') this.flag();
      else {
        const serial = `${this.o.hostname}-usb-${++this.usbSerial}`;
        this.emitNow((seq) => usbAttachedEvent(seq, serial));
        // Removed a few (school) minutes later.
        this.later(Math.round((60_000 + this.o.random() * 600_000) / this.o.profile.speed), () =>
          this.emitNow((seq) => usbRemovedEvent(seq, serial)),
        );
      }
      this.scheduleActivity();
    });
  }

  private flag(): void {
    const data = new Uint8Array(this.o.profile.screenshotBytes);
    data.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    for (let i = 8; i < data.length; i += 97) data[i] = Math.floor(this.o.random() * 256);
    const blobId = randomUUID();
    this.blobs.set(blobId, {
      blobId,
      data,
      sha256: createHash('sha256').update(data).digest(),
      sending: false,
    });
    this.emitNow((seq) => flagEvent(seq, blobId));
    this.uploadBlobs();
  }

  private connect(): void {
    if (this.stopped) return;
    this.o.counters.attempts++;
    this.connectStartedAt = this.connectStartedAt || Date.now();
    const ws = new WebSocket(this.o.wsUrl, [SUBPROTOCOL], { perMessageDeflate: false });
    this.ws = ws;
    const timeout = setTimeout(() => ws.terminate(), this.o.connectTimeoutMs);
    ws.on('open', () => {
      this.send({
        hello: {
          deviceId: this.o.deviceId,
          deviceKey: this.o.deviceKey,
          agentVersion: 'sim-1',
          streamId: this.streamId,
          lastSeq: this.seq,
          policyVersion: 0,
          os: 'linux',
        },
      });
    });
    ws.on('message', (data: Buffer) => {
      let msg: CollectorMessage;
      try {
        msg = decodeCollectorMessage(new Uint8Array(data));
      } catch (err) {
        this.problem(`undecodable frame from the collector: ${(err as Error).message}`);
        return;
      }
      if (msg.body === 'welcome') clearTimeout(timeout);
      this.handle(msg);
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      clearTimeout(timeout);
      this.onClosed(ws, code);
    });
  }

  private onClosed(ws: WebSocket, code: number): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    const c = this.o.counters;
    c.closeCodes[code] = (c.closeCodes[code] ?? 0) + 1;
    if (this.ready) c.connected--;
    else c.failedAttempts++;
    this.ready = false;
    for (const b of this.blobs.values()) b.sending = false;
    this.inflight.length = 0;
    if (this.stopped) return;
    if (code === CloseCode.AUTH_FAILED || code === CloseCode.DEVICE_REVOKED) {
      this.problem(`${this.o.deviceId}: closed with ${code} (a valid device refused); not retrying`);
      return;
    }
    if (!this.connectStartedAt) this.connectStartedAt = Date.now();
    const delay = backoffDelay(this.attempt++, {
      initialMs: this.o.initialBackoffMs,
      maxMs: this.o.maxBackoffMs,
      random: this.o.random,
    });
    // Not in `timers`: quiesce() stops activity, never a reconnect.
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private handle(msg: CollectorMessage): void {
    const c = this.o.counters;
    switch (msg.body) {
      case 'welcome': {
        const w = msg.welcome!;
        const acked = Number(w.ackedSeq ?? 0);
        if (acked > this.seq)
          this.problem(`${this.o.deviceId}: Welcome acks ${acked}, above ${this.seq} sent`);
        if (acked < this.ackedSeq)
          this.problem(`${this.o.deviceId}: Welcome acks ${acked}, below the ${this.ackedSeq} acked before`);
        this.dropAcked(acked);
        this.sentSeq = this.ackedSeq;
        if (w.heartbeatIntervalMs) this.heartbeatMs = Number(w.heartbeatIntervalMs);
        this.ready = true;
        this.attempt = 0;
        c.connected++;
        c.welcomes++;
        c.connectLatencies.push(Date.now() - (this.connectStartedAt || this.bootAt));
        this.connectStartedAt = 0;
        this.pump();
        this.uploadBlobs();
        return;
      }
      case 'ack': {
        const a = msg.ack!;
        if (a.streamId !== this.streamId) return;
        const seq = Number(a.seq ?? 0);
        const now = Date.now();
        while (this.inflight.length > 0 && this.inflight[0]!.lastSeq <= seq)
          c.ackLatencies.push(now - this.inflight.shift()!.at);
        this.dropAcked(seq);
        this.pump();
        return;
      }
      case 'blobAck': {
        const b = msg.blobAck!;
        const pending = this.blobs.get(b.blobId ?? '');
        if (!pending) return;
        pending.sending = false;
        if (b.status === 1) {
          this.blobs.delete(pending.blobId);
          c.blobsStored++;
        } else this.problem(`${this.o.deviceId}: blob ${pending.blobId} answered ${b.status} ${b.reason}`);
        return;
      }
      case 'policy':
        this.send({ policyApplied: { version: msg.policy!.version ?? 0, ok: true, error: '' } });
        return;
      case 'command':
        this.send({ commandResult: { commandId: msg.command!.commandId ?? '', ok: true, error: '' } });
        return;
      case 'error':
        this.problem(`${this.o.deviceId}: collector error ${msg.error?.code}: ${msg.error?.message}`);
        return;
      default:
        return;
    }
  }

  private dropAcked(seq: number): void {
    if (seq <= this.ackedSeq) return;
    this.o.counters.acked += seq - this.ackedSeq;
    this.ackedSeq = seq;
    let n = 0;
    while (n < this.outbox.length && Number(this.outbox[n]!.seq) <= seq) n++;
    if (n > 0) this.outbox.splice(0, n);
  }

  private pump(): void {
    if (!this.ready) return;
    for (;;) {
      // The outbox is in seq order and holds only unacked events.
      let from = 0;
      while (from < this.outbox.length && Number(this.outbox[from]!.seq) <= this.sentSeq) from++;
      const room = this.o.maxInflightEvents - (this.sentSeq - this.ackedSeq);
      if (from === this.outbox.length || room <= 0) return;
      const events = this.outbox.slice(from, from + Math.min(room, MAX_BATCH_EVENTS));
      const at = Date.now();
      if (!this.send({ batch: { streamId: this.streamId, events } })) return;
      this.sentSeq = Number(events[events.length - 1]!.seq);
      this.inflight.push({ lastSeq: this.sentSeq, at });
      this.o.counters.batches++;
      if (this.o.onSent) for (const e of events) this.o.onSent(e, at);
    }
  }

  private uploadBlobs(): void {
    if (!this.ready) return;
    for (const b of this.blobs.values()) {
      if (b.sending) continue;
      b.sending = true;
      const total = Math.max(1, Math.ceil(b.data.length / BLOB_CHUNK_BYTES));
      for (let i = 0; i < total; i++)
        this.send({
          blobChunk: {
            blobId: b.blobId,
            index: i,
            totalChunks: total,
            totalSize: b.data.length,
            sha256: b.sha256,
            contentType: 'image/png',
            data: b.data.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES),
          },
        });
    }
  }

  private send(msg: IAgentMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeAgentMessage(msg));
    return true;
  }

  private problem(p: string): void {
    if (this.o.counters.problems.length < 50) this.o.counters.problems.push(p);
  }
}
