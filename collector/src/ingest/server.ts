// The WebSocket ingest endpoint (`/ws/agent`, subprotocol custodian.v1): accepts upgrades, keeps
// one session per device (a newer one replaces the older with REPLACED), pushes policy changes,
// disconnects revoked devices, and shuts down gracefully (finishes in-flight batches first).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, ErrorCode, MAX_FRAME_BYTES, SUBPROTOCOL } from '@custodian/protocol';
import { WebSocketServer } from 'ws';
import type { AuditFn } from '../auth/audit.ts';
import type { Bus } from '../bus/bus.ts';
import { createNoneBus } from '../bus/none.ts';
import type { CollectorConfig } from '../config.ts';
import type { EnrolService } from '../enrol/service.ts';
import type { LiveHub, PolicyEvent } from '../live/hub.ts';
import type { StatusTracker } from '../live/status.ts';
import type { Logger } from '../log.ts';
import type { MetricCounts } from '../metrics/counts.ts';
import type { PolicyService } from '../policy/service.ts';
import type { Device, Store } from '../store/types.ts';
import { DeviceCommands } from './commands.ts';
import { type ClockWindow, clockWindow } from './events.ts';
import { GroupCommitter } from './group-commit.ts';
import { InFlightBudget } from './in-flight.ts';
import { Close, Session } from './session.ts';
import { StreamRegistry } from './streams.ts';
import type { TextScreens } from './text-screen.ts';

export interface IngestContext {
  store: Store;
  live: LiveHub;
  log: Logger;
  config: CollectorConfig['ingest'];
  subprotocol: string;
  enrol: EnrolService;
  policy: PolicyService;
  status: StatusTracker;
  committer: GroupCommitter;
  /** Batches, events and duplicates committed (read by /metrics). */
  counts: MetricCounts;
  streams: StreamRegistry;
  commands: DeviceCommands;
  screens: TextScreens;
  /** Received-but-not-released bytes over every connection (in-flight.ts). */
  inFlight: InFlightBudget;
  /** Plausible agent clock window (events outside are ordered by receive time). */
  clock: ClockWindow;
  now: () => number;
  register(session: Session): void;
  unregister(session: Session): void;
}

export interface IngestServerOptions {
  store: Store;
  live: LiveHub;
  log: Logger;
  config: CollectorConfig;
  policy: PolicyService;
  enrol: EnrolService;
  status: StatusTracker;
  screens: TextScreens;
  now: () => number;
  audit: AuditFn;
  counts: MetricCounts;
  /** Presence and commands across collector processes (default: none, one process). */
  bus?: Bus;
}

export class IngestServer {
  readonly committer: GroupCommitter;
  /** Staff commands to connected agents and their results (commands.ts). */
  readonly commands: DeviceCommands;
  private readonly wss: WebSocketServer;
  private readonly ctx: IngestContext;
  private readonly o: IngestServerOptions;
  private readonly byDevice = new Map<string, Session>();
  private readonly all = new Set<Session>();
  private accepting = true;
  private unsubscribe: (() => void) | undefined;
  private readonly bus: Bus;

  constructor(options: IngestServerOptions) {
    this.o = options;
    this.bus = options.bus ?? createNoneBus('local');
    const bus = this.bus;
    this.committer = new GroupCommitter(options.store.engine, options.config.ingest.commitTickMs);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      // Without custodian.v1 the handshake still completes (echoing what the client offered, so
      // its client library accepts it) and the session then closes with the named
      // BAD_SUBPROTOCOL code, instead of a bare HTTP 400 the agent could not tell apart.
      handleProtocols: (protocols) =>
        protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : ([...protocols][0] ?? false),
    });
    this.commands = new DeviceCommands({
      status: options.status,
      audit: options.audit,
      log: options.log,
      now: options.now,
      isLocal: (id) => this.byDevice.get(id)?.phase === 'ready',
      isConnected: (id) => this.byDevice.get(id)?.phase === 'ready' || bus.locate(id) !== undefined,
      deliver: (id, msg) => this.byDevice.get(id)?.deliver(msg) === true,
      remote: async (id, record) => {
        const holder = bus.locate(id);
        return holder ? bus.command(holder, id, record) : false;
      },
    });
    this.ctx = {
      store: options.store,
      live: options.live,
      log: options.log,
      config: options.config.ingest,
      subprotocol: SUBPROTOCOL,
      enrol: options.enrol,
      policy: options.policy,
      status: options.status,
      committer: this.committer,
      counts: options.counts,
      streams: new StreamRegistry(options.store),
      commands: this.commands,
      screens: options.screens,
      clock: clockWindow(options.config.retention.timelineDays),
      inFlight: new InFlightBudget(options.config.ingest.maxInFlightBytesTotal),
      now: options.now,
      register: (s) => this.register(s),
      unregister: (s) => this.unregister(s),
    };
    options.enrol.isConnected = (deviceId) => {
      const s = this.byDevice.get(deviceId);
      if (s) return { remoteAddress: s.remoteAddress };
      // Connected to another collector process (bus: nats): its status says from where.
      return bus.locate(deviceId)
        ? { remoteAddress: options.status.get(deviceId).remoteAddress ?? '' }
        : undefined;
    };
  }

  /** Subscribes to policy and device changes. */
  start(): void {
    const onPolicy = ({ scope, devices }: PolicyEvent) => {
      // A school or group layer names the devices it covers; only those connected here get it.
      const targets =
        scope === 'default'
          ? [...this.byDevice.values()]
          : (devices ?? [scope]).map((id) => this.byDevice.get(id)).filter((s) => s !== undefined);
      for (const s of targets) {
        s.pushPolicy().catch((err: unknown) =>
          this.o.log.error({ err, deviceId: s.device?.id }, 'policy push failed'),
        );
      }
    };
    const onDevice = (device: Device) => {
      const s = this.byDevice.get(device.id);
      // A device moved to another school (tenancy) while connected: its next alerts carry the new one.
      if (device.revokedAt === undefined) {
        if (s?.device) s.device = device;
        return;
      }
      if (s) s.fail(revokedClose(device.revokedReason));
    };
    this.o.live.on('policy', onPolicy);
    this.o.live.on('device', onDevice);
    this.unsubscribe = () => {
      this.o.live.off('policy', onPolicy);
      this.o.live.off('device', onDevice);
    };
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.accepting) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Connections that have not yet proven a device key cost memory and a Hello deadline each:
    // past the cap, refuse before the upgrade (the agent retries with backoff).
    let waiting = 0;
    for (const s of this.all) if (!s.device) waiting++;
    if (waiting >= this.o.config.http.maxUnauthenticatedWs) {
      const body = JSON.stringify({
        error: {
          code: ErrorCode.RATE_LIMITED,
          message: 'too many connections waiting to authenticate: retry later',
        },
      });
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new Session(this.ctx, ws, req);
      this.all.add(session);
      ws.once('close', () => this.all.delete(session));
    });
  }

  isConnected(deviceId: string): boolean {
    return this.byDevice.has(deviceId);
  }

  /** Ids of the devices with a session on this process. */
  localDevices(): string[] {
    return [...this.byDevice.keys()];
  }

  /**
   * Another process claimed the device after this one (bus presence): this session is the older
   * and goes, with the same REPLACED close as two sessions on one process. Its status is not set
   * offline: the device is connected, elsewhere.
   */
  superseded(deviceId: string, sessionId: string): void {
    const s = this.byDevice.get(deviceId);
    if (!s || s.sessionId !== sessionId) return;
    s.superseded = true;
    this.o.log.warn(
      { deviceId, code: ErrorCode.UNAVAILABLE },
      'device connected on another collector process',
    );
    s.fail(replacedClose());
  }

  get connectionCount(): number {
    return this.all.size;
  }

  /** Devices with an authenticated session now (connectionCount also counts those still saying Hello). */
  get agentsConnected(): number {
    return this.byDevice.size;
  }

  private register(session: Session): void {
    const id = session.device?.id as string;
    const previous = this.byDevice.get(id);
    this.byDevice.set(id, session);
    // Presence across processes: a session of this device on another process is closed there
    // (it sees this later claim: superseded()); a different stream there is a clone, as here.
    void this.bus
      .claim(id, {
        process: this.bus.processId,
        session: session.sessionId,
        streamId: session.streamId,
        since: this.o.now(),
      })
      .then((elsewhere) => {
        if (!elsewhere) return;
        this.o.log.warn({ deviceId: id }, 'device was connected on another collector process');
        if (elsewhere.streamId !== session.streamId)
          this.suspectClone(
            id,
            elsewhere.streamId,
            session,
            `two sessions with different streams (on collector ${elsewhere.process} and ${session.remoteAddress})`,
          );
      });
    if (!previous || previous === session) return;
    if (previous.streamId !== session.streamId)
      this.suspectClone(
        id,
        previous.streamId,
        session,
        `two sessions with different streams (${previous.remoteAddress} and ${session.remoteAddress})`,
      );
    previous.fail(replacedClose());
  }

  /**
   * Two live sessions of one identity with different outboxes: a cloned disk image (or a
   * reinstall while the old agent still runs). Recorded for IT; the newest session wins.
   */
  private suspectClone(id: string, previousStream: string, session: Session, reason: string): void {
    this.o.log.warn(
      { deviceId: id, previous: previousStream, next: session.streamId },
      `possible cloned image: ${reason}`,
    );
    this.o.store.devices
      .update(id, (d) => ({
        ...d,
        cloneSuspicion: [...(d.cloneSuspicion ?? []).slice(-19), { at: this.o.now(), reason }],
      }))
      .then((d) => this.o.live.emit('device', d))
      .catch((err: unknown) => this.o.log.error({ err, deviceId: id }, 'could not record clone suspicion'));
  }

  private unregister(session: Session): void {
    const id = session.device?.id as string;
    const current = this.byDevice.get(id);
    const sameStreamElsewhere = () => {
      const now = this.byDevice.get(id);
      return now !== undefined && now !== session && now.streamId === session.streamId;
    };
    void session.settle().then(() => {
      if (!sameStreamElsewhere()) return this.ctx.streams.forgetIfIdle(id, session.streamId);
    });
    if (current !== session) return;
    this.byDevice.delete(id);
    void this.bus.release(id, session.sessionId);
    // Connected on another process now: not offline.
    if (session.superseded) return;
    this.o.status
      .patch(id, {
        connected: false,
        lastSeenAt: this.o.now(),
        lastDisconnect: { at: this.o.now(), code: session.endCode ?? 1006 },
      })
      .catch((err: unknown) => this.o.log.error({ err, deviceId: id }, 'could not record disconnect'));
    this.o.log.info({ deviceId: id }, 'agent disconnected');
  }

  /** Stops accepting, lets every session finish what it has read, then closes them (GOING_AWAY). */
  async shutdown(): Promise<void> {
    this.accepting = false;
    this.unsubscribe?.();
    for (const s of this.all) s.ws.pause();
    await Promise.all([...this.all].map((s) => s.settle()));
    await this.committer.drain();
    for (const s of this.all) s.close(CloseCode.GOING_AWAY, 'collector shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    const deadline = Date.now() + 2000;
    while (this.all.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.all) s.ws.terminate();
  }
}

function replacedClose(): Close {
  return new Close(
    CloseCode.REPLACED,
    ErrorCode.UNAVAILABLE,
    'a newer session of this device replaced this one',
  );
}

function revokedClose(reason: string | undefined): Close {
  return new Close(
    CloseCode.DEVICE_REVOKED,
    ErrorCode.DEVICE_REVOKED,
    `device revoked: ${reason ?? 'by an administrator'}`,
  );
}
