// The NATS JetStream bus (config `bus: nats`). Core NATS subjects for what is only worth
// something live (statuses, events, alerts and devices by id, policy changes) and for commands
// (request/reply to the holding process); JetStream KV buckets for presence:
//   custodian_presence   device id → {process, session, streamId, since}; no TTL: an entry goes
//                        when its session ends, or when its process is found gone (below);
//   custodian_processes  process id → heartbeat, renewed every ttl/3, bucket TTL = ttl: a
//                        killed process's key expires and every other process sees it stop.
// Each process watches both buckets into memory (presence: who holds what; processes: when each
// was last seen). A device claimed on two processes: the later write wins, the process whose
// session is older closes it (REPLACED, as for two sessions on one process). A process gone:
// every other process shows its devices offline; the one that removes the presence entry (a
// compare-and-delete on the revision) writes the offline status to the store.
//
// Loop prevention: every message carries its origin process id and a process drops its own (the
// connection is also `noEcho`); messages received from the bus are never published again
// (bridge.ts). NATS unreachable: the client reconnects for ever; meanwhile the collector keeps
// ingesting and serving, publishes are dropped, devices on other processes cannot be located
// (commands to them: DEVICE_OFFLINE) and no process is declared gone. On reconnect the buckets
// are reopened (created if NATS lost its store), watches restart, this process renews its
// heartbeat and re-claims its devices, and the bridge republishes their statuses.
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../log.ts';
import type { DeviceCommandRecord } from '../store/types.ts';
import {
  BUS_TOPICS,
  type Bus,
  type BusHandlers,
  type BusHealth,
  type BusMessages,
  type BusTopic,
  type PresenceEntry,
} from './bus.ts';
import { alive, goneProcesses, type MyClaim, parseEntry, type SeenEntry, supersedes } from './presence.ts';

export const PRESENCE_BUCKET = 'custodian_presence';
export const PROCESSES_BUCKET = 'custodian_processes';
const LIVE_SUBJECT = 'custodian.live';
const COMMAND_SUBJECT = 'custodian.cmd';
const COMMAND_TIMEOUT_MS = 5_000;

export interface NatsBusOptions {
  /** nats:// or tls:// URLs, comma-separated; may carry user:password (never logged). */
  url: string;
  processId: string;
  presenceTtlMs: number;
  log: Logger;
  now?: () => number;
}

/** The servers of a NATS URL list without credentials, and the credentials apart. */
export function splitNatsUrl(url: string): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  const out: { servers: string[]; user?: string; pass?: string; token?: string } = { servers: [] };
  for (const raw of url.split(',')) {
    const u = new URL(raw.trim());
    if (u.username !== '' && u.password !== '') {
      out.user = decodeURIComponent(u.username);
      out.pass = decodeURIComponent(u.password);
    } else if (u.username !== '') out.token = decodeURIComponent(u.username);
    out.servers.push(`${u.protocol}//${u.host}`);
  }
  return out;
}

/** The URL list without any user, password or token (for messages and logs). */
export function describeNatsUrl(url: string): string {
  try {
    return splitNatsUrl(url).servers.join(',');
  } catch {
    return '(unparsable NATS URL)';
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly processId: string;
  private readonly o: NatsBusOptions;
  private readonly now: () => number;
  private handlers: BusHandlers | undefined;
  private nc: NatsConnection | undefined;
  private presenceKv: KV | undefined;
  private processesKv: KV | undefined;
  private readonly presence = new Map<string, SeenEntry>();
  private readonly lastSeen = new Map<string, number>();
  private readonly mine = new Map<string, MyClaim & { entry: PresenceEntry }>();
  /** (device, revision) already handled as gone. */
  private readonly goneHandled = new Set<string>();
  private connectedSince: number | undefined;
  private stopWatches: (() => void)[] = [];
  private subs: Subscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private setupRun = 0;

  constructor(options: NatsBusOptions) {
    this.o = options;
    this.processId = options.processId;
    this.now = options.now ?? Date.now;
  }

  start(handlers: BusHandlers): void {
    this.handlers = handlers;
    const tick = Math.max(200, Math.floor(this.o.presenceTtlMs / 3));
    this.timers.push(
      setInterval(() => void this.heartbeat(), tick),
      setInterval(() => void this.sweep(), tick),
    );
    void this.run();
  }

  health(): BusHealth {
    return { kind: 'nats', connected: this.connectedSince !== undefined };
  }

  publish<K extends BusTopic>(topic: K, data: BusMessages[K]): void {
    const nc = this.nc;
    // Dropped while unreachable rather than buffered: a burst of stale statuses after an outage
    // helps no one; the bridge republishes current statuses on reconnect.
    if (!nc || this.connectedSince === undefined) return;
    try {
      nc.publish(`${LIVE_SUBJECT}.${topic}`, enc.encode(JSON.stringify({ origin: this.processId, data })));
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message, topic }, 'bus publish dropped');
    }
  }

  async claim(deviceId: string, entry: PresenceEntry): Promise<PresenceEntry | undefined> {
    const claim: MyClaim & { entry: PresenceEntry } = { session: entry.session, entry };
    this.mine.set(deviceId, claim);
    return this.put(deviceId, claim);
  }

  private async put(deviceId: string, claim: MyClaim & { entry: PresenceEntry }) {
    const kv = this.presenceKv;
    if (!kv || this.connectedSince === undefined) return undefined;
    try {
      const before = await kv.get(deviceId);
      const previous = before?.operation === 'PUT' ? parseEntry(before.value) : undefined;
      const revision = await kv.put(deviceId, enc.encode(JSON.stringify(claim.entry)));
      if (this.mine.get(deviceId) !== claim) return undefined;
      claim.revision = revision;
      // A later claim the watcher delivered while this put was in flight.
      const seen = this.presence.get(deviceId);
      if (seen && supersedes(seen, claim)) this.handlers?.superseded(deviceId, claim.session, seen.entry);
      if (
        previous &&
        previous.process !== this.processId &&
        previous.session !== claim.session &&
        alive(previous.process, this.processId, this.lastSeen, this.now(), this.o.presenceTtlMs)
      )
        return previous;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, deviceId }, 'bus: presence claim failed');
    }
    return undefined;
  }

  async release(deviceId: string, session: string): Promise<void> {
    const claim = this.mine.get(deviceId);
    if (claim?.session !== session) return;
    this.mine.delete(deviceId);
    const kv = this.presenceKv;
    const seen = this.presence.get(deviceId);
    if (!kv || this.connectedSince === undefined || seen?.entry.session !== session) return;
    // Compare-and-delete: a claim by another process since then stays.
    await kv.delete(deviceId, { previousSeq: seen.revision }).catch(() => undefined);
  }

  locate(deviceId: string): PresenceEntry | undefined {
    if (this.connectedSince === undefined) return undefined;
    const seen = this.presence.get(deviceId);
    if (!seen || seen.entry.process === this.processId) return undefined;
    return alive(seen.entry.process, this.processId, this.lastSeen, this.now(), this.o.presenceTtlMs)
      ? seen.entry
      : undefined;
  }

  async command(holder: PresenceEntry, deviceId: string, record: DeviceCommandRecord): Promise<boolean> {
    const nc = this.nc;
    if (!nc || this.connectedSince === undefined) return false;
    try {
      const reply = await nc.request(
        `${COMMAND_SUBJECT}.${holder.process}`,
        enc.encode(JSON.stringify({ origin: this.processId, deviceId, record })),
        { timeout: COMMAND_TIMEOUT_MS },
      );
      return (JSON.parse(dec.decode(reply.data)) as { ok?: unknown }).ok === true;
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message, deviceId }, 'bus: command not delivered');
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    for (const stop of this.stopWatches.splice(0)) stop();
    const nc = this.nc;
    if (!nc) return;
    // A clean stop: this process's heartbeat goes at once (others need not wait for the TTL).
    if (this.connectedSince !== undefined)
      await this.processesKv?.delete(this.processId).catch(() => undefined);
    await nc.drain().catch(() => undefined);
  }

  // ---------------------------------------------------------------- connection

  private async run(): Promise<void> {
    const { servers, ...auth } = splitNatsUrl(this.o.url);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        ...auth,
        name: this.processId,
        noEcho: true,
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        pingInterval: 10_000,
        maxPingOut: 2,
      });
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'bus: cannot connect to NATS');
      return;
    }
    if (this.closed) {
      await nc.close();
      return;
    }
    this.nc = nc;
    for (const topic of BUS_TOPICS) {
      this.subs.push(
        nc.subscribe(`${LIVE_SUBJECT}.${topic}`, {
          callback: (err, msg) => {
            if (err) return;
            try {
              const m = JSON.parse(dec.decode(msg.data)) as { origin?: unknown; data?: unknown };
              if (m.origin === this.processId || typeof m.data !== 'object' || m.data === null) return;
              this.handlers?.message(topic, m.data as BusMessages[typeof topic]);
            } catch (e) {
              this.o.log.warn({ err: (e as Error).message, topic }, 'bus: bad message dropped');
            }
          },
        }),
      );
    }
    this.subs.push(
      nc.subscribe(`${COMMAND_SUBJECT}.${this.processId}`, {
        callback: (err, msg) => {
          if (err) return;
          let req: { deviceId?: unknown; record?: DeviceCommandRecord };
          try {
            req = JSON.parse(dec.decode(msg.data));
          } catch {
            return;
          }
          const handlers = this.handlers;
          if (typeof req.deviceId !== 'string' || !req.record || !handlers) {
            msg.respond(enc.encode('{"ok":false}'));
            return;
          }
          handlers.command(req.deviceId, req.record).then(
            (ok) => msg.respond(enc.encode(JSON.stringify({ ok }))),
            () => msg.respond(enc.encode('{"ok":false}')),
          );
        },
      }),
    );
    void this.watchStatus(nc);
    await this.setup();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        if (this.connectedSince !== undefined)
          this.o.log.warn('bus: NATS unreachable; live fan-out, remote commands and presence paused');
        this.connectedSince = undefined;
      } else if (s.type === 'reconnect') {
        this.o.log.info('bus: NATS reachable again');
        void this.setup();
      }
    }
  }

  /** Buckets, watches, heartbeat, re-claims: at first connect and after every reconnect. */
  private async setup(): Promise<void> {
    const nc = this.nc;
    if (!nc || this.closed) return;
    const run = ++this.setupRun;
    try {
      const kvm = new Kvm(nc);
      const presenceKv = await kvm.create(PRESENCE_BUCKET, { history: 1 });
      const processesKv = await kvm.create(PROCESSES_BUCKET, { history: 1, ttl: this.o.presenceTtlMs });
      if (run !== this.setupRun) return;
      for (const stop of this.stopWatches.splice(0)) stop();
      this.presenceKv = presenceKv;
      this.processesKv = processesKv;
      this.presence.clear();
      await this.watch(processesKv, (e) => {
        if (e.operation === 'PUT') this.lastSeen.set(e.key, this.now());
        else this.lastSeen.delete(e.key);
      });
      await this.watch(presenceKv, (e) => {
        if (e.operation !== 'PUT') {
          this.presence.delete(e.key);
          return;
        }
        const entry = parseEntry(e.value);
        if (!entry) return;
        const seen = { entry, revision: e.revision };
        this.presence.set(e.key, seen);
        const mine = this.mine.get(e.key);
        if (mine && supersedes(seen, mine)) this.handlers?.superseded(e.key, mine.session, entry);
        // Only for a process seen alive (a whole-trust restart leaves entries of dead processes,
        // which the sweep removes after a TTL).
        if (
          !e.isUpdate &&
          entry.process !== this.processId &&
          alive(entry.process, this.processId, this.lastSeen, this.now(), this.o.presenceTtlMs)
        )
          this.handlers?.present(e.key, entry);
      });
      await processesKv.put(this.processId, enc.encode(JSON.stringify({ at: this.now() })));
      this.connectedSince = this.now();
      for (const [deviceId, claim] of this.mine) {
        claim.revision = undefined;
        await this.put(deviceId, claim);
      }
      this.o.log.info({ process: this.processId, devices: this.mine.size }, 'bus: connected to NATS');
      this.handlers?.reconnected();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'bus: NATS setup failed; retrying');
      if (!this.closed) setTimeout(() => void this.setup(), 1000).unref();
    }
  }

  private async watch(
    kv: KV,
    on: (e: {
      key: string;
      operation: string;
      value: Uint8Array;
      revision: number;
      isUpdate: boolean;
    }) => void,
  ) {
    const iter = await kv.watch();
    this.stopWatches.push(() => iter.stop());
    void (async () => {
      try {
        for await (const e of iter) on(e);
      } catch (err) {
        this.o.log.debug({ err: (err as Error).message }, 'bus: watch ended');
      }
    })();
  }

  private async heartbeat(): Promise<void> {
    if (this.connectedSince === undefined || this.closed) return;
    await this.processesKv
      ?.put(this.processId, enc.encode(JSON.stringify({ at: this.now() })))
      .catch((err: unknown) => this.o.log.debug({ err: (err as Error).message }, 'bus: heartbeat failed'));
  }

  private async sweep(): Promise<void> {
    const kv = this.presenceKv;
    if (!kv || this.closed) return;
    const gone = goneProcesses({
      self: this.processId,
      presence: this.presence.values(),
      lastSeen: this.lastSeen,
      connectedSince: this.connectedSince,
      now: this.now(),
      ttlMs: this.o.presenceTtlMs,
    });
    if (gone.size === 0) return;
    for (const [deviceId, seen] of [...this.presence]) {
      if (!gone.has(seen.entry.process)) continue;
      const key = `${deviceId}@${seen.revision}`;
      if (this.goneHandled.has(key)) continue;
      this.goneHandled.add(key);
      let persist = true;
      await kv.delete(deviceId, { previousSeq: seen.revision }).catch(() => {
        persist = false;
      });
      this.handlers?.deviceGone(deviceId, seen.entry, persist);
    }
    if (this.goneHandled.size > 100_000) this.goneHandled.clear();
  }
}
