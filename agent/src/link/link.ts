// The live link to the collector (issue 4 §4): one WebSocket session at a time, Hello first,
// events streamed from the outbox in batches and deleted only when acked, blobs uploaded in
// chunks, pushed policy applied and commands dispatched. Reconnects with capped jittered
// backoff; a revoked device stops retrying and says so.
import { createHash } from 'node:crypto';
import {
  BLOB_CHUNK_BYTES,
  CloseCode,
  type CollectorMessage,
  closeCodeName,
  decodeCollectorMessage,
  encodeAgentMessage,
  type IAgentMessage,
  type ICommand,
  type IEvent,
  type IPolicy,
  MAX_BATCH_EVENTS,
  MAX_FRAME_BYTES,
  SUBPROTOCOL,
  v1,
} from '@custodian/protocol';
import WebSocket from 'ws';
import type { PolicyStore } from '../config/policy-store.ts';
import type { AgentLogger, CapabilityStatus } from '../core/contracts.ts';
import type { BlobStore, StoredBlob } from '../outbox/blob-store.ts';
import type { Outbox } from '../outbox/outbox.ts';
import { backoffDelay } from './backoff.ts';
import { type CollectorTrust, explainTlsFailure, tlsOptionsFor } from './transport.ts';
import { ingestUrl } from './ws-url.ts';

export type LinkStatus = 'connecting' | 'connected' | 'offline' | 'auth-failed' | 'revoked' | 'stopped';

export interface LinkState {
  status: LinkStatus;
  since: number;
  lastError?: string;
  /** When the next connection attempt is due (offline / auth-failed). */
  nextAttemptAt?: number;
  /** Highest seq the collector acked in this process's lifetime. */
  ackedSeq: number;
}

export interface CommandOutcome {
  ok: boolean;
  error: string;
}

export interface LinkOptions {
  serverUrl: string;
  deviceId: string;
  deviceKey: string;
  agentVersion: string;
  os: string;
  outbox: Outbox;
  blobs: BlobStore;
  policy: PolicyStore;
  log: AgentLogger;
  capabilities: () => CapabilityStatus[];
  onCommand: (command: ICommand) => Promise<CommandOutcome>;
  onState?: (state: LinkState) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** After AUTH_FAILED: wait this long before trying again (do not hammer). Default 15 min. */
  authRetryMs?: number;
  pingIntervalMs?: number;
  connectTimeoutMs?: number;
  /** Unacked events allowed on the wire. */
  maxInflightEvents?: number;
  /** How long to wait for a BlobAck before giving up for this session. */
  blobAckTimeoutMs?: number;
  /** The CA pinned at enrolment: the only one trusted for wss (undefined: system CAs). */
  trust?: CollectorTrust | undefined;
}

const MAX_HASH_RETRIES = 3;

export class Link {
  private readonly o: Required<Omit<LinkOptions, 'onState' | 'trust'>> &
    Pick<LinkOptions, 'onState' | 'trust'>;
  private ws: WebSocket | undefined;
  private ready = false;
  private sentSeq = 0;
  private lastAcked = 0;
  private pumping = false;
  private pumpAgain = false;
  private uploading = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private alive = true;
  private stopped = false;
  private state: LinkState = { status: 'connecting', since: Date.now(), ackedSeq: 0 };
  private readonly blobWaiters = new Map<string, (status: number, reason: string) => void>();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(options: LinkOptions) {
    this.o = {
      initialBackoffMs: 1_000,
      maxBackoffMs: 60_000,
      authRetryMs: 15 * 60_000,
      pingIntervalMs: 25_000,
      connectTimeoutMs: 15_000,
      maxInflightEvents: 4 * MAX_BATCH_EVENTS,
      blobAckTimeoutMs: 60_000,
      ...options,
    };
    ingestUrl(options.serverUrl); // validate now, not at the first reconnect
  }

  start(): void {
    this.unsubscribe.push(this.o.outbox.onAppend(() => this.pump()));
    this.unsubscribe.push(this.o.blobs.onAdded(() => void this.uploadBlobs()));
    this.connect();
  }

  /**
   * The device's network changed (a BYOD laptop left or reached the school network): the old
   * connection's path is most likely gone, and a dead TCP connection is otherwise found only by
   * two missed pings (~50 s). Drop it and reconnect now; offline, retry now instead of waiting out
   * the backoff. Not after a refused key (its long retry stands) or a revocation.
   */
  reconnectNow(reason: string): void {
    if (this.stopped || this.state.status === 'revoked' || this.state.status === 'auth-failed') return;
    this.attempt = 0;
    if (this.ws) {
      this.o.log.info('reconnecting now', { reason });
      // onClosed schedules the reconnect with the first (shortest) backoff.
      this.ws.terminate();
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), 0);
  }

  current(): LinkState {
    return this.state;
  }

  private setState(status: LinkStatus, extra: Partial<LinkState> = {}): void {
    const changed = status !== this.state.status;
    this.state = {
      status,
      since: changed ? Date.now() : this.state.since,
      ackedSeq: this.lastAcked,
      ...(extra.lastError !== undefined
        ? { lastError: extra.lastError }
        : status === 'connected' || this.state.lastError === undefined
          ? {}
          : { lastError: this.state.lastError }),
      ...(extra.nextAttemptAt !== undefined ? { nextAttemptAt: extra.nextAttemptAt } : {}),
    } as LinkState;
    this.o.onState?.(this.state);
  }

  private connect(): void {
    if (this.stopped) return;
    this.setState('connecting');
    const url = ingestUrl(this.o.serverUrl);
    const ws = new WebSocket(url, SUBPROTOCOL, {
      perMessageDeflate: false,
      handshakeTimeout: this.o.connectTimeoutMs,
      maxPayload: MAX_FRAME_BYTES,
      ...tlsOptionsFor(this.o.trust),
    });
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    let closeCode: number | undefined;
    let failure: string | undefined;

    ws.on('open', () => {
      if (ws.protocol !== SUBPROTOCOL) {
        failure = `collector did not accept subprotocol ${SUBPROTOCOL}`;
        ws.close(CloseCode.BAD_SUBPROTOCOL, 'subprotocol');
        return;
      }
      this.send({
        hello: {
          deviceId: this.o.deviceId,
          deviceKey: this.o.deviceKey,
          agentVersion: this.o.agentVersion,
          streamId: this.o.outbox.streamId,
          lastSeq: this.o.outbox.stats().lastSeq,
          policyVersion: this.o.policy.version(),
          capabilities: this.o.capabilities(),
          os: this.o.os,
        },
      });
      this.startPing(ws);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      let msg: CollectorMessage;
      try {
        msg = decodeCollectorMessage(data);
      } catch (err) {
        this.o.log.warn('undecodable frame from collector; closing', { err });
        ws.close(CloseCode.MALFORMED, 'malformed');
        return;
      }
      this.handle(msg).catch((err) => this.o.log.error('handling collector message failed', { err }));
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('unexpected-response', (_req, res) => {
      closeCode = res.statusCode === 401 || res.statusCode === 403 ? CloseCode.AUTH_FAILED : undefined;
      failure = `collector answered HTTP ${res.statusCode} to the WebSocket upgrade`;
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      const tls = explainTlsFailure(err, this.o.trust);
      if (tls && !failure) this.o.log.error('collector certificate refused', { error: tls });
      failure ??= tls ?? err.message;
    });
    ws.on('close', (code, reasonBuf) => {
      closeCode ??= code;
      const reason = reasonBuf.toString();
      this.onClosed(
        ws,
        closeCode,
        failure ?? (reason ? `${closeCodeName(code) ?? code}: ${reason}` : undefined),
      );
    });
  }

  private onClosed(ws: WebSocket, code: number, why: string | undefined): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.ready = false;
    clearInterval(this.pingTimer);
    for (const waiter of this.blobWaiters.values()) waiter(-1, 'connection closed');
    this.blobWaiters.clear();
    if (this.stopped) return;
    const name = closeCodeName(code);
    const lastError = why ?? `connection closed (${name ?? code})`;
    if (code === CloseCode.DEVICE_REVOKED) {
      this.o.log.error(
        'this device has been revoked by the collector; not reconnecting (re-enrol to resume)',
        {
          code,
        },
      );
      this.setState('revoked', { lastError });
      return;
    }
    if (code === CloseCode.AUTH_FAILED) {
      const at = Date.now() + this.o.authRetryMs;
      this.o.log.error('collector refused this device key; retrying rarely (re-enrol if it persists)', {
        code,
        retryInMs: this.o.authRetryMs,
      });
      this.setState('auth-failed', { lastError, nextAttemptAt: at });
      this.timer = setTimeout(() => this.connect(), this.o.authRetryMs);
      return;
    }
    const delay = backoffDelay(this.attempt++, {
      initialMs: this.o.initialBackoffMs,
      maxMs: this.o.maxBackoffMs,
    });
    this.o.log.info('collector unreachable; will retry', { error: lastError, retryInMs: delay });
    this.setState('offline', { lastError, nextAttemptAt: Date.now() + delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private startPing(ws: WebSocket): void {
    this.alive = true;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        this.o.log.warn('no pong from collector; dropping the connection');
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, this.o.pingIntervalMs);
    this.pingTimer.unref();
  }

  private send(msg: IAgentMessage): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encodeAgentMessage(msg));
    return true;
  }

  private async handle(msg: CollectorMessage): Promise<void> {
    switch (msg.body) {
      case 'welcome': {
        const w = msg.welcome!;
        const acked = Number(w.ackedSeq ?? 0);
        await this.o.outbox.ack(acked);
        this.lastAcked = Math.max(this.lastAcked, acked);
        this.sentSeq = Math.max(acked, this.o.outbox.stats().ackedSeq);
        this.ready = true;
        this.attempt = 0;
        this.failedThisSession.clear();
        this.setState('connected', {});
        this.o.log.info('connected to collector', {
          ackedSeq: acked,
          outboxDepth: this.o.outbox.stats().depth,
        });
        this.pump();
        void this.uploadBlobs();
        return;
      }
      case 'ack': {
        const a = msg.ack!;
        if (a.streamId !== this.o.outbox.streamId) return;
        const seq = Number(a.seq ?? 0);
        await this.o.outbox.ack(seq);
        this.lastAcked = Math.max(this.lastAcked, seq);
        this.state = { ...this.state, ackedSeq: this.lastAcked };
        this.pump();
        return;
      }
      case 'blobAck': {
        const b = msg.blobAck!;
        this.blobWaiters.get(b.blobId ?? '')?.(b.status ?? 0, b.reason ?? '');
        return;
      }
      case 'policy':
        await this.applyPolicy(msg.policy!);
        return;
      case 'command': {
        const c = msg.command!;
        const outcome = await this.o.onCommand(c).catch((err: Error) => ({ ok: false, error: err.message }));
        this.send({ commandResult: { commandId: c.commandId ?? '', ok: outcome.ok, error: outcome.error } });
        return;
      }
      case 'error':
        this.o.log.warn('collector reported an error', {
          code: msg.error?.code,
          message: msg.error?.message,
        });
        return;
      default:
        return;
    }
  }

  private async applyPolicy(wire: IPolicy): Promise<void> {
    const version = Number(wire.version ?? 0);
    const result = await this.o.policy.apply(wire);
    const report = result.ok ? { version, ok: true, error: '' } : { version, ok: false, error: result.error };
    this.send({ policyApplied: report });
    if (!result.ok || result.changed) await this.o.outbox.emit({ policyApplied: report });
  }

  /** Sends outbox events after sentSeq while the in-flight window allows. */
  private pump(): void {
    if (!this.ready) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop()
      .catch((err) => this.o.log.error('sending events failed', { err }))
      .finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async pumpLoop(): Promise<void> {
    while (this.ready && this.sentSeq - this.lastAcked < this.o.maxInflightEvents) {
      const room = Math.min(MAX_BATCH_EVENTS, this.o.maxInflightEvents - (this.sentSeq - this.lastAcked));
      const events = await this.o.outbox.read(this.sentSeq, room);
      if (events.length === 0 || !this.ready) return;
      for (const frame of frames(this.o.outbox.streamId, events)) {
        if (!this.send(frame.msg)) return;
        this.sentSeq = frame.lastSeq;
      }
    }
  }

  private async uploadBlobs(): Promise<void> {
    if (!this.ready || this.uploading) return;
    this.uploading = true;
    try {
      let blobs = await this.o.blobs.list();
      while (this.ready && blobs.length > 0) {
        for (const blob of blobs) {
          if (!this.ready) return;
          await this.uploadOne(blob);
        }
        blobs = await this.o.blobs.list();
        if (blobs.every((b) => this.failedThisSession.has(b.id))) break;
      }
    } catch (err) {
      this.o.log.error('blob upload failed', { err });
    } finally {
      this.uploading = false;
    }
  }

  private readonly failedThisSession = new Set<string>();

  private async uploadOne(blob: StoredBlob): Promise<void> {
    if (this.failedThisSession.has(blob.id)) return;
    const data = await this.o.blobs.read(blob.id);
    const sha256 = createHash('sha256').update(data).digest();
    for (let attempt = 1; attempt <= MAX_HASH_RETRIES; attempt++) {
      const acked = this.waitBlobAck(blob.id);
      const totalChunks = Math.max(1, Math.ceil(data.byteLength / BLOB_CHUNK_BYTES));
      for (let index = 0; index < totalChunks; index++) {
        const ok = this.send({
          blobChunk: {
            blobId: blob.id,
            index,
            totalChunks,
            totalSize: data.byteLength,
            sha256,
            contentType: blob.contentType,
            data: data.subarray(index * BLOB_CHUNK_BYTES, (index + 1) * BLOB_CHUNK_BYTES),
          },
        });
        if (!ok) return;
        await this.drained();
      }
      const { status, reason } = await acked;
      if (status === v1.BlobAck.Status.STORED) {
        await this.o.blobs.delete(blob.id);
        return;
      }
      if (status === v1.BlobAck.Status.REJECTED) {
        this.o.log.warn('collector rejected a blob; dropping it', { blobId: blob.id, reason });
        await this.o.blobs.delete(blob.id);
        return;
      }
      if (status !== v1.BlobAck.Status.HASH_MISMATCH) {
        this.failedThisSession.add(blob.id);
        return; // closed or timed out: the next session tries again
      }
      this.o.log.warn('collector reported a blob hash mismatch; resending', { blobId: blob.id, attempt });
    }
    this.failedThisSession.add(blob.id);
  }

  private waitBlobAck(blobId: string): Promise<{ status: number; reason: string }> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.blobWaiters.delete(blobId);
        resolve({ status: -1, reason: 'no BlobAck in time' });
      }, this.o.blobAckTimeoutMs);
      this.blobWaiters.set(blobId, (status, reason) => {
        clearTimeout(timer);
        this.blobWaiters.delete(blobId);
        resolve({ status, reason });
      });
    });
  }

  /** Waits until the socket's send buffer is nearly empty, so big blobs do not pile up in memory. */
  private async drained(): Promise<void> {
    while (this.ws && this.ws.readyState === WebSocket.OPEN && this.ws.bufferedAmount > BLOB_CHUNK_BYTES) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    for (const u of this.unsubscribe.splice(0)) u();
    const ws = this.ws;
    this.setState('stopped');
    if (!ws) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2_000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      ws.close(CloseCode.NORMAL, 'agent stopping');
    });
  }
}

/** Splits events into batch frames that respect MAX_BATCH_EVENTS and MAX_FRAME_BYTES. */
export function frames(streamId: string, events: IEvent[]): { msg: IAgentMessage; lastSeq: number }[] {
  const out: { msg: IAgentMessage; lastSeq: number }[] = [];
  let start = 0;
  while (start < events.length) {
    let n = Math.min(MAX_BATCH_EVENTS, events.length - start);
    for (;;) {
      const msg: IAgentMessage = { batch: { streamId, events: events.slice(start, start + n) } };
      if (v1.AgentMessage.encode(msg).finish().byteLength <= MAX_FRAME_BYTES || n === 1) {
        out.push({ msg, lastSeq: Number(events[start + n - 1]!.seq) });
        break;
      }
      n = Math.ceil(n / 2);
    }
    start += n;
  }
  return out;
}
