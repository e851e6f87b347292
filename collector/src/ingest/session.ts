// One agent connection: Hello within the deadline, then event batches, blob chunks and policy
// reports. Frames are handled one at a time in arrival order (a promise chain); batches are
// handed to the group commit without waiting, so a connection can have several in flight, and
// acks go out in order as commits complete. Received-but-not-durable bytes are bounded: past
// the limit the socket stops being read (TCP backpressure) until commits catch up.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { policyToWire } from '@custodian/policy';
import {
  type AgentMessage,
  CloseCode,
  CustodianError,
  countAgentFrame,
  type custodian,
  decodeAgentMessage,
  ErrorCode,
  type ErrorCodeValue,
  encodeCollectorMessage,
  eventToJson,
  type ICollectorMessage,
  MAX_BATCH_EVENTS,
  MAX_FRAME_BYTES,
  MAX_HELLO_CAPABILITIES,
  v1,
} from '@custodian/protocol';
import type WebSocket from 'ws';
import type { LiveEvent } from '../live/hub.ts';
import { reduceStatus } from '../live/status.ts';
import { K } from '../store/keys.ts';
import {
  alertIdFor,
  alertOps,
  blobMetaOps,
  blobUploadOp,
  statusOp,
  streamOp,
  timelineOps,
  userSeenOp,
} from '../store/records.ts';
import type { Alert, BlobMeta, Device, DeviceLiveStatus, KvOp, TimelineRecord } from '../store/types.ts';
import {
  type ChunkIn,
  checkChunk,
  continues,
  MAX_OPEN_UPLOADS,
  startUpload,
  type Upload,
} from './blob-upload.ts';
import { buildRecord } from './events.ts';
import type { IngestContext } from './server.ts';
import { SessionLog } from './session-log.ts';
import { MAX_GAPS_KEPT } from './streams.ts';
import type { Screen } from './text-screen.ts';

type Phase = 'hello' | 'ready' | 'closed';
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** A reason for closing: the close code, the stable error code, and words for the agent and the log. */
/**
 * Status fields no event changes (reduceStatus never writes them): the commands sent from the
 * console (commands.ts), the policy version pushed to the agent and how the last session ended.
 * status.patch() writes them.
 */
const PATCHED_OUTSIDE_BATCHES = ['commands', 'policyVersionSent', 'lastDisconnect'] as const;

export class Close extends Error {
  readonly closeCode: number;
  readonly errorCode: ErrorCodeValue;
  constructor(closeCode: number, errorCode: ErrorCodeValue, message: string) {
    super(message);
    this.closeCode = closeCode;
    this.errorCode = errorCode;
  }
}

export class Session {
  readonly ws: WebSocket;
  readonly remoteAddress: string;
  /** How the session ended (WebSocket close code), once closed: see onClosed. */
  endCode: number | undefined;
  private failedWith: number | undefined;
  readonly openedAt: number;
  /** Random per session: names it in the bus's presence entry (bus/bus.ts). */
  readonly sessionId = randomUUID();
  /** Closed because the device connected on another collector process (its status stays connected). */
  superseded = false;
  phase: Phase = 'hello';
  device: Device | undefined;
  streamId = '';
  agentVersion = '';
  private readonly ctx: IngestContext;
  /** Log lines this session causes: device text cut short, a budget of lines per session. */
  private readonly slog: SessionLog;
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private paused = false;
  /** Set while paused by the total in-flight bound: stops waiting for it (on close). */
  private cancelWake: (() => void) | undefined;
  private lastActivity: number;
  private helloTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly uploads = new Map<string, Upload>();
  private queuedStatus: DeviceLiveStatus | undefined;
  /** Marks device text matching the safeguarding library; follows the device's policy. */
  private screen: Screen | undefined;
  /** Commits of this session not yet resolved (for graceful shutdown). */
  private commits = new Set<Promise<unknown>>();

  constructor(ctx: IngestContext, ws: WebSocket, req: IncomingMessage) {
    this.ctx = ctx;
    this.slog = new SessionLog(ctx.log, ctx.now);
    this.ws = ws;
    this.remoteAddress = req.socket.remoteAddress ?? '';
    this.openedAt = ctx.now();
    this.lastActivity = this.openedAt;
    ws.binaryType = 'nodebuffer';
    ws.on('close', (code: number) => this.onClosed(code));
    ws.on('error', (err: Error & { code?: string }) => {
      // ws has already chosen the close code (1009 for an oversize frame, 1002 for a bad frame).
      const code =
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? ErrorCode.FRAME_TOO_LARGE
          : ErrorCode.MALFORMED_FRAME;
      this.slog.warn(
        { code, wsCode: err.code, deviceId: this.device?.id, remote: this.remoteAddress },
        `ingest socket error: ${err.message}`,
      );
    });
    if (ws.protocol !== this.ctx.subprotocol) {
      this.fail(
        new Close(
          CloseCode.BAD_SUBPROTOCOL,
          ErrorCode.UNEXPECTED_MESSAGE,
          `subprotocol must be ${this.ctx.subprotocol}`,
        ),
      );
      return;
    }
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.lastActivity = this.ctx.now();
    });
    this.helloTimer = setTimeout(() => {
      if (this.phase === 'hello')
        this.fail(new Close(CloseCode.AUTH_TIMEOUT, ErrorCode.AUTH_TIMEOUT, 'no Hello within the deadline'));
    }, this.ctx.config.helloDeadlineMs);
    this.pingTimer = setInterval(() => this.liveness(), this.ctx.config.pingIntervalMs);
  }

  // ---------------------------------------------------------------- frames

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.phase === 'closed') return;
    this.lastActivity = this.ctx.now();
    const size = data.byteLength;
    this.inFlight += size;
    const overTotal = this.ctx.inFlight.take(size);
    if ((this.inFlight > this.ctx.config.maxInFlightBytes || overTotal) && !this.paused) {
      this.paused = true;
      this.ws.pause();
      if (overTotal) this.cancelWake = this.ctx.inFlight.whenRoomy(() => this.maybeResume());
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight -= size;
      this.ctx.inFlight.give(size);
      this.maybeResume();
    };
    this.chain = this.chain
      .then(async () => {
        if (this.phase === 'closed') return release();
        if (!isBinary)
          throw new Close(
            CloseCode.MALFORMED,
            ErrorCode.MALFORMED_FRAME,
            'text frames are not part of the protocol',
          );
        refuseOversize(data);
        let msg: AgentMessage;
        try {
          msg = decodeAgentMessage(data);
        } catch (err) {
          if (err instanceof CustodianError && err.code === ErrorCode.UNEXPECTED_MESSAGE) {
            throw new Close(
              CloseCode.PROTOCOL_VIOLATION,
              ErrorCode.UNEXPECTED_MESSAGE,
              'unknown message kind',
            );
          }
          throw new Close(
            CloseCode.MALFORMED,
            ErrorCode.MALFORMED_FRAME,
            'frame is not a valid AgentMessage',
          );
        }
        await this.dispatch(msg, release);
      })
      .catch((err) => {
        release();
        this.fail(err);
      });
  }

  /** Reads the socket again once this session and every session together are under half their bounds. */
  private maybeResume(): void {
    if (!this.paused || this.phase === 'closed') return;
    if (this.inFlight > this.ctx.config.maxInFlightBytes / 2) return;
    if (!this.ctx.inFlight.roomy) {
      this.cancelWake?.();
      this.cancelWake = this.ctx.inFlight.whenRoomy(() => this.maybeResume());
      return;
    }
    this.cancelWake?.();
    this.cancelWake = undefined;
    this.paused = false;
    this.ws.resume();
  }

  /** `release` must be called once the frame's bytes are no longer held (after its commit). */
  private async dispatch(msg: AgentMessage, release: () => void): Promise<void> {
    if (this.phase === 'hello') {
      if (msg.body !== 'hello' || !msg.hello) {
        throw new Close(
          CloseCode.PROTOCOL_VIOLATION,
          ErrorCode.UNEXPECTED_MESSAGE,
          'the first message must be Hello',
        );
      }
      await this.onHello(msg.hello as custodian.v1.Hello);
      return release();
    }
    switch (msg.body) {
      case 'batch':
        return this.onBatch(msg.batch as custodian.v1.EventBatch, release);
      case 'blobChunk':
        await this.onChunk(msg.blobChunk as custodian.v1.BlobChunk);
        return release();
      case 'policyApplied': {
        const p = msg.policyApplied as custodian.v1.PolicyApplied;
        if (p.ok) {
          await this.ctx.status.patch(this.deviceId, {
            policyVersionApplied: p.version as number,
            policyRejected: undefined,
          });
        } else {
          this.slog.warn(
            { deviceId: this.deviceId, version: p.version, error: p.error },
            'agent rejected a policy',
          );
          await this.ctx.status.patch(this.deviceId, {
            policyRejected: {
              version: p.version as number,
              error: p.error.slice(0, 500),
              at: this.ctx.now(),
            },
          });
        }
        return release();
      }
      case 'commandResult':
        await this.ctx.commands.onResult(this.deviceId, msg.commandResult as custodian.v1.CommandResult);
        return release();
      case 'error':
        this.slog.warn({ deviceId: this.deviceId, agentError: msg.error }, 'agent reported an error');
        return release();
      default:
        throw new Close(
          CloseCode.PROTOCOL_VIOLATION,
          ErrorCode.UNEXPECTED_MESSAGE,
          `unexpected ${msg.body} after Hello`,
        );
    }
  }

  private get deviceId(): string {
    return (this.device as Device).id;
  }

  // ---------------------------------------------------------------- hello

  private async onHello(hello: custodian.v1.Hello): Promise<void> {
    clearTimeout(this.helloTimer);
    let device: Device;
    try {
      device = await this.ctx.enrol.authenticate(hello.deviceId, hello.deviceKey, this.remoteAddress);
    } catch (err) {
      if (err instanceof CustodianError && err.code === ErrorCode.DEVICE_REVOKED) {
        throw new Close(CloseCode.DEVICE_REVOKED, ErrorCode.DEVICE_REVOKED, err.message);
      }
      if (err instanceof CustodianError && err.code === ErrorCode.AUTH_FAILED) {
        throw new Close(CloseCode.AUTH_FAILED, ErrorCode.AUTH_FAILED, err.message);
      }
      throw err;
    }
    if (!SAFE_ID.test(hello.streamId)) {
      throw new Close(
        CloseCode.PROTOCOL_VIOLATION,
        ErrorCode.BAD_EVENT,
        'stream_id must be a UUID or other plain id',
      );
    }
    this.device = device;
    this.slog.context = { deviceId: device.id, remote: this.remoteAddress };
    this.streamId = hello.streamId;
    this.agentVersion = hello.agentVersion.slice(0, 64);
    this.phase = 'ready';
    this.ctx.register(this);
    // Another collector process on the same database may have held this device since this one
    // last did (PostgreSQL sharedWriters): an idle remembered stream is re-read from the store.
    if (this.ctx.store.engine.shared) await this.ctx.streams.forgetIfIdle(device.id, hello.streamId);
    const stream = await this.ctx.streams.get(device.id, hello.streamId, this.ctx.now());
    if (this.phase !== 'ready') return;
    const policy = await this.ctx.policy.effective(device.id);
    if (this.phase !== 'ready') return;
    this.screen = await this.ctx.screens.forDevice(device.id, policy);
    this.send({
      welcome: {
        ackedSeq: stream.committedMax,
        serverTimeMs: this.ctx.now(),
        heartbeatIntervalMs: policy.heartbeatSeconds * 1000,
        maxBatchEvents: MAX_BATCH_EVENTS,
        maxFrameBytes: MAX_FRAME_BYTES,
      },
    });
    this.send({ policy: policyToWire(policy) });
    await this.ctx.status.patch(device.id, {
      connected: true,
      connectedAt: this.ctx.now(),
      lastSeenAt: this.ctx.now(),
      remoteAddress: this.remoteAddress,
      agentVersion: this.agentVersion,
      os: hello.os.slice(0, 64),
      streamId: hello.streamId,
      policyVersionApplied: hello.policyVersion as number,
      policyVersionSent: policy.version,
      capabilities: hello.capabilities.map((c) => ({
        name: (c.name ?? '').slice(0, 64),
        available: c.available === true,
        reason: (c.reason ?? '').slice(0, 500),
      })),
    });
    this.ctx.log.info(
      {
        deviceId: device.id,
        streamId: hello.streamId,
        ackedSeq: stream.committedMax,
        lastSeq: hello.lastSeq,
        remote: this.remoteAddress,
      },
      'agent connected',
    );
  }

  /** Sends the device's current effective policy (on change). */
  async pushPolicy(): Promise<void> {
    if (this.phase !== 'ready') return;
    const policy = await this.ctx.policy.effective(this.deviceId);
    this.screen = await this.ctx.screens.forDevice(this.deviceId, policy);
    this.send({ policy: policyToWire(policy) });
    await this.ctx.status.patch(this.deviceId, { policyVersionSent: policy.version });
  }

  // ---------------------------------------------------------------- events

  private async onBatch(batch: custodian.v1.EventBatch, release: () => void): Promise<void> {
    const deviceId = this.deviceId;
    if (batch.streamId !== this.streamId) {
      throw new Close(
        CloseCode.PROTOCOL_VIOLATION,
        ErrorCode.BAD_EVENT,
        'batch stream_id differs from the Hello',
      );
    }
    if (batch.events.length > MAX_BATCH_EVENTS) {
      throw new Close(
        CloseCode.LIMIT_EXCEEDED,
        ErrorCode.BATCH_TOO_LARGE,
        `more than ${MAX_BATCH_EVENTS} events in one batch`,
      );
    }
    for (const e of batch.events) {
      const seq = e.seq as number;
      if (!Number.isSafeInteger(seq) || seq < 1) {
        throw new Close(
          CloseCode.PROTOCOL_VIOLATION,
          ErrorCode.BAD_EVENT,
          'event seq must be a whole number from 1',
        );
      }
    }
    const now = this.ctx.now();
    const stream = await this.ctx.streams.get(deviceId, this.streamId, now);
    const fresh: custodian.v1.Event[] = [];
    const events = batch.events as unknown as custodian.v1.Event[];
    const seen = new Set<number>();
    let duplicates = 0;
    for (const e of events) {
      const seq = e.seq as number;
      if (seen.has(seq) || stream.pending.has(seq)) {
        duplicates++;
        continue;
      }
      seen.add(seq);
      // Below the stream's high-water mark: held now, or held once and deleted by retention.
      // Either way a replay, never stored again.
      if (
        seq <= stream.maxQueued &&
        (await this.ctx.store.timeline.heldBefore(deviceId, this.streamId, seq))
      ) {
        duplicates++;
        continue;
      }
      // An alert is the DSL's record once opened: ingest never writes over one (grade, notes,
      // incident link), whatever the stream state says.
      if (e.flaggedActivity && (await this.ctx.store.alerts.get(alertIdFor(deviceId, this.streamId, seq)))) {
        duplicates++;
        this.slog.warn(
          { code: ErrorCode.BAD_EVENT, deviceId, streamId: this.streamId, seq },
          'flagged activity replayed for an existing alert; not stored',
        );
        continue;
      }
      fresh.push(e);
    }
    const records: TimelineRecord[] = [];
    const alerts: Alert[] = [];
    const ops: KvOp[] = [];
    // Status: the persisted snapshot is projected from what this session already queued; the
    // live status is re-derived after the commit from the then-current status (see below). Fields
    // only ever written outside event batches are taken from the live status, so a snapshot never
    // writes an older value of them back.
    const live = this.ctx.status.get(deviceId);
    let status: DeviceLiveStatus = { ...(this.queuedStatus ?? live) };
    for (const k of PATCHED_OUTSIDE_BATCHES) status = { ...status, [k]: live[k] };
    const applied: [string, Record<string, unknown>][] = [];
    const projected = { ...stream.queued, gaps: [...stream.queued.gaps] };
    projected.duplicates += duplicates;
    for (const e of fresh) {
      const seq = e.seq as number;
      if (seq > stream.maxQueued + 1) {
        projected.gaps.push({ afterSeq: stream.maxQueued, nextSeq: seq, at: now });
        if (projected.gaps.length > MAX_GAPS_KEPT) projected.gaps.shift();
        this.slog.warn(
          {
            code: ErrorCode.BAD_EVENT,
            deviceId,
            streamId: this.streamId,
            afterSeq: stream.maxQueued,
            nextSeq: seq,
          },
          'seq gap in stream',
        );
      } else if (seq <= stream.maxQueued) {
        projected.outOfOrder++;
        this.slog.warn(
          { code: ErrorCode.BAD_EVENT, deviceId, streamId: this.streamId, seq, maxSeq: stream.maxQueued },
          'out-of-order seq in stream',
        );
      }
      const built = buildRecord(deviceId, this.streamId, e, now, {
        ...(this.screen ? { screen: this.screen } : {}),
        clock: this.ctx.clock,
        ...(this.device?.schoolId !== undefined ? { schoolId: this.device.schoolId } : {}),
      });
      for (const note of built.notes) this.slog.info({ deviceId, seq, note }, 'event note');
      records.push(built.record);
      ops.push(...timelineOps(this.ctx.store.cipher, built.record));
      if (built.alert) {
        alerts.push(built.alert);
        ops.push(...alertOps(this.ctx.store.cipher, built.alert));
      }
      // `e` was sanitised in place by buildRecord: its JSON is what the store now holds.
      const json = eventToJson(e);
      applied.push([built.record.kind, json]);
      const userBefore = status.loggedInUser;
      status = reduceStatus(status, built.record.kind, json, now);
      // Who was signed in, indexed when it changes (data-protection subject access).
      if (status.loggedInUser && status.loggedInUser !== userBefore)
        ops.push(userSeenOp(deviceId, status.loggedInUser, now));
      stream.pending.add(seq);
      stream.maxQueued = Math.max(stream.maxQueued, seq);
      projected.count++;
      projected.maxSeq = Math.max(projected.maxSeq, seq);
    }
    projected.lastSeenAt = now;
    status = { ...status, lastSeenAt: now, connected: true };
    this.queuedStatus = status;
    stream.queued = projected;
    const batchMax = records.reduce((m, r) => Math.max(m, r.seq), 0);
    ops.push(streamOp(projected), statusOp(this.ctx.store.cipher, status));

    const commit = this.ctx.committer
      .enqueue(ops, () => !stream.failed)
      .then(
        () => {
          for (const r of records) stream.pending.delete(r.seq);
          stream.committedMax = Math.max(stream.committedMax, batchMax);
          release();
          const counts = this.ctx.counts;
          counts.ingestBatches++;
          counts.ingestEvents += records.length;
          counts.ingestDuplicates += duplicates;
          this.send({ ack: { streamId: this.streamId, seq: stream.committedMax, duplicates } });
          let live = this.ctx.status.get(deviceId);
          for (const [kind, json] of applied) live = reduceStatus(live, kind, json, now);
          this.ctx.status.set({
            ...live,
            lastSeenAt: now,
            connected: this.phase === 'ready' || live.connected,
          });
          this.publish(
            records,
            alerts,
            new Map(records.map((r, i) => [r.seq, (applied[i] as [string, Record<string, unknown>])[1]])),
          );
        },
        (err: unknown) => {
          release();
          stream.failed = true;
          this.ctx.streams.forget(deviceId, this.streamId);
          this.ctx.log.error({ err, code: ErrorCode.STORAGE, deviceId }, 'commit failed; closing session');
          this.fail(
            new Close(
              CloseCode.STORAGE_UNAVAILABLE,
              ErrorCode.STORAGE,
              'the collector could not store the batch; retry later',
            ),
          );
        },
      );
    this.track(commit);
  }

  private publish(
    records: TimelineRecord[],
    alerts: Alert[],
    jsonBySeq: Map<number, Record<string, unknown>>,
  ): void {
    const { live } = this.ctx;
    if (live.listenerCount('event') > 0) {
      for (const r of records) {
        const ev: LiveEvent = {
          deviceId: r.deviceId,
          streamId: r.streamId,
          seq: r.seq,
          time: r.time,
          receivedAt: r.receivedAt,
          kind: r.kind,
          event: jsonBySeq.get(r.seq) ?? eventToJson(v1.Event.decode(r.event)),
          ...(r.alertId ? { alertId: r.alertId } : {}),
          ...(r.truncated ? { truncated: r.truncated } : {}),
          ...(r.sensitive ? { sensitive: r.sensitive } : {}),
        };
        live.emit('event', ev);
      }
    }
    for (const a of alerts) {
      this.slog.info(
        { deviceId: a.deviceId, alertId: a.id, severity: a.severity, category: a.category },
        'alert opened',
      );
      live.emit('alert', a);
    }
  }

  private track(p: Promise<unknown>): void {
    this.commits.add(p);
    void p.finally(() => this.commits.delete(p));
  }

  // ---------------------------------------------------------------- blobs

  private async onChunk(chunk: custodian.v1.BlobChunk): Promise<void> {
    const deviceId = this.deviceId;
    const c: ChunkIn = {
      blobId: chunk.blobId,
      index: chunk.index,
      totalChunks: chunk.totalChunks,
      totalSize: chunk.totalSize as number,
      sha256: chunk.sha256,
      contentType: chunk.contentType,
      data: chunk.data,
    };
    const verdict = checkChunk(c);
    if (verdict?.kind === 'tooLarge') {
      this.blobAck(c.blobId, v1.BlobAck.Status.REJECTED, verdict.reason, ErrorCode.BLOB_TOO_LARGE);
      throw new Close(CloseCode.LIMIT_EXCEEDED, ErrorCode.BLOB_TOO_LARGE, verdict.reason);
    }
    if (verdict) return this.rejectBlob(c.blobId, verdict.reason);
    let upload = this.uploads.get(c.blobId);
    if (c.index === 0) {
      if (upload) await this.discard(upload);
      if (this.uploads.size >= MAX_OPEN_UPLOADS) {
        throw new Close(
          CloseCode.LIMIT_EXCEEDED,
          ErrorCode.BAD_BLOB_CHUNK,
          `more than ${MAX_OPEN_UPLOADS} blobs uploading at once`,
        );
      }
      const existing = await this.ctx.store.blobs.meta(deviceId, c.blobId);
      upload = startUpload(c, existing !== undefined);
      this.uploads.set(c.blobId, upload);
    }
    if (!upload) return this.rejectBlob(c.blobId, `chunk ${c.index} without chunk 0; resend the whole blob`);
    const problem = continues(upload, c);
    if (problem) {
      await this.discard(upload);
      return this.rejectBlob(c.blobId, problem);
    }
    upload.hash.update(c.data);
    upload.received += c.data.byteLength;
    upload.nextIndex++;
    if (!upload.alreadyStored) {
      const ops = [this.ctx.store.blobs.sealChunk(deviceId, c.blobId, c.index, c.data)];
      // Chunk 0 also marks the upload as started: if we crash before the meta write, retention
      // finds these chunks by the marker and deletes them once they are old enough.
      if (c.index === 0) ops.push(blobUploadOp(deviceId, c.blobId, this.ctx.now()));
      await this.ctx.store.engine.batch(ops, { sync: false });
    }
    if (upload.nextIndex < upload.totalChunks) return;

    this.uploads.delete(c.blobId);
    const digest = upload.hash.digest('hex');
    if (upload.received !== upload.totalSize || digest !== upload.sha256Hex) {
      if (!upload.alreadyStored) await this.deleteChunks(upload);
      this.slog.warn(
        { code: ErrorCode.BLOB_HASH_MISMATCH, deviceId, blobId: c.blobId },
        'blob hash mismatch',
      );
      this.blobAck(
        c.blobId,
        v1.BlobAck.Status.HASH_MISMATCH,
        'size or SHA-256 does not match; resend',
        ErrorCode.BLOB_HASH_MISMATCH,
      );
      return;
    }
    if (upload.alreadyStored) {
      const existing = await this.ctx.store.blobs.meta(deviceId, c.blobId);
      if (existing?.sha256 === digest) {
        this.blobAck(c.blobId, v1.BlobAck.Status.STORED, 'already stored');
      } else {
        this.rejectBlob(c.blobId, 'this blob id is already used for other content');
      }
      return;
    }
    const meta: BlobMeta = {
      deviceId,
      blobId: c.blobId,
      contentType: upload.contentType,
      size: upload.totalSize,
      sha256: digest,
      chunks: upload.totalChunks,
      storedAt: this.ctx.now(),
    };
    const blobId = c.blobId;
    const commit = this.ctx.committer.enqueue(blobMetaOps(meta)).then(
      () => this.blobAck(blobId, v1.BlobAck.Status.STORED, ''),
      (err: unknown) => {
        this.ctx.log.error({ err, code: ErrorCode.STORAGE, deviceId }, 'blob commit failed; closing session');
        this.fail(
          new Close(
            CloseCode.STORAGE_UNAVAILABLE,
            ErrorCode.STORAGE,
            'the collector could not store the blob; retry later',
          ),
        );
      },
    );
    this.track(commit);
  }

  private rejectBlob(blobId: string, reason: string): void {
    this.slog.warn(
      { code: ErrorCode.BAD_BLOB_CHUNK, deviceId: this.device?.id, reason },
      'blob chunk rejected',
    );
    this.blobAck(
      SAFE_ID.test(blobId) ? blobId : '',
      v1.BlobAck.Status.REJECTED,
      reason,
      ErrorCode.BAD_BLOB_CHUNK,
    );
  }

  private blobAck(blobId: string, status: number, reason: string, code?: ErrorCodeValue): void {
    this.send({ blobAck: { blobId, status, reason } });
    if (code) this.send({ error: { code, message: reason } });
  }

  private async discard(upload: Upload): Promise<void> {
    this.uploads.delete(upload.blobId);
    if (!upload.alreadyStored) await this.deleteChunks(upload);
  }

  private async deleteChunks(upload: Upload): Promise<void> {
    const prefix = K.blobChunkPrefix(this.deviceId, upload.blobId);
    const ops: KvOp[] = [{ type: 'del', key: K.blobUpload(this.deviceId, upload.blobId) }];
    for await (const [k] of this.ctx.store.engine.entries({ gt: prefix, lt: `${prefix}\xff` }))
      ops.push({ type: 'del', key: k });
    // Never delete the chunks of a blob that got stored meanwhile.
    if ((await this.ctx.store.blobs.meta(this.deviceId, upload.blobId)) === undefined) {
      await this.ctx.store.engine.batch(ops, { sync: false });
    }
  }

  // ---------------------------------------------------------------- liveness and closing

  private liveness(): void {
    if (this.phase === 'closed') return;
    if (this.ctx.now() - this.lastActivity > this.ctx.config.idleTimeoutMs) {
      this.fail(
        new Close(
          CloseCode.IDLE_TIMEOUT,
          ErrorCode.UNAVAILABLE,
          'no traffic and no pong within the idle timeout',
        ),
      );
      return;
    }
    this.ws.ping();
  }

  send(msg: ICollectorMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeCollectorMessage(msg));
  }

  /** Sends on a session past Hello; false if it is not (or no longer) open. */
  deliver(msg: ICollectorMessage): boolean {
    if (this.phase !== 'ready' || this.ws.readyState !== this.ws.OPEN) return false;
    this.send(msg);
    return true;
  }

  /** Closes with a named code after telling the agent why (Error frame, then close reason). */
  fail(err: unknown): void {
    if (this.phase === 'closed') return;
    let close: Close;
    if (err instanceof Close) close = err;
    else {
      this.ctx.log.error({ err, deviceId: this.device?.id }, 'ingest session failed');
      close = new Close(
        CloseCode.STORAGE_UNAVAILABLE,
        ErrorCode.STORAGE,
        'the collector could not process this; retry later',
      );
    }
    this.ctx.log.warn(
      {
        code: close.errorCode,
        closeCode: close.closeCode,
        deviceId: this.device?.id,
        remote: this.remoteAddress,
      },
      `closing agent session: ${close.message}`,
    );
    this.send({ error: { code: close.errorCode, message: close.message } });
    this.failedWith ??= close.closeCode;
    this.close(close.closeCode, close.message);
  }

  close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopTimers();
    // Close reasons are limited to 123 bytes.
    let r = reason;
    while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
    // Reading must go on to receive the peer's close frame (shutdown pauses every socket).
    if (this.ws.isPaused) this.ws.resume();
    this.ws.close(code, r);
    // A peer that does not answer the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Waits until every frame read so far is processed and its commit settled. */
  async settle(): Promise<void> {
    await this.chain;
    await Promise.allSettled([...this.commits]);
  }

  private stopTimers(): void {
    clearTimeout(this.helloTimer);
    clearInterval(this.pingTimer);
    this.cancelWake?.();
    this.cancelWake = undefined;
  }

  private onClosed(code: number): void {
    const wasReady = this.device !== undefined;
    // The collector's own reason when it closed (IDLE_TIMEOUT...), else what the socket saw:
    // 1006 = gone without a close frame (the agent process killed, or the machine cut off).
    this.endCode = this.failedWith ?? code;
    this.phase = 'closed';
    this.stopTimers();
    this.slog.flush();
    for (const u of [...this.uploads.values()]) void this.discard(u).catch(() => undefined);
    if (wasReady) this.ctx.unregister(this);
  }
}

/**
 * Refuses, before decoding, a frame with more events or Hello capabilities than the protocol
 * allows: decoding first would build every one of them (a 1 MiB frame of empty events is ~500,000
 * objects) only for the count check after it to refuse the frame.
 */
function refuseOversize(data: Buffer): void {
  const counts = countAgentFrame(data);
  if (!counts) return;
  if (counts.events > MAX_BATCH_EVENTS)
    throw new Close(
      CloseCode.LIMIT_EXCEEDED,
      ErrorCode.BATCH_TOO_LARGE,
      `more than ${MAX_BATCH_EVENTS} events in one batch`,
    );
  if (counts.capabilities > MAX_HELLO_CAPABILITIES)
    throw new Close(
      CloseCode.LIMIT_EXCEEDED,
      ErrorCode.INVALID_INPUT,
      `more than ${MAX_HELLO_CAPABILITIES} capabilities in one Hello`,
    );
}
