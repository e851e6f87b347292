// The durable outbox (issue 4 §3): every event gets the next seq of this outbox's stream and
// is written to level before anything else happens to it. The link reads from here and deletes
// only what the collector acked. Bounded, with the priority drop rule and honest Gap events.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodianError, decodeEvent, ErrorCode, encodeEvent, type IEvent } from '@custodian/protocol';
import { Level } from 'level';
import type { AgentLogger, EventPayload, EventSink } from '../core/contracts.ts';
import { capStrings, MAX_EVENT_BYTES } from './event-size.ts';
import { addToGaps, type GapReason, type PendingGap } from './gaps.ts';
import { PRIORITIES, Priority, priorityOf } from './priority.ts';

export interface OutboxOptions {
  /** Directory of the level database (created 0700). */
  dir: string;
  log: AgentLogger;
  /** Most events held; default 200,000. */
  maxEvents?: number;
  /** Most bytes of encoded events held; default 200 MiB. */
  maxBytes?: number;
  /** Below this much free disk, low- and medium-priority events are refused (with a gap). Default 50 MiB. */
  minFreeDiskBytes?: number;
  /** How often free disk space is checked (statfs); default 5 s. */
  diskCheckMs?: number;
  now?: () => number;
}

export interface OutboxStats {
  streamId: string;
  depth: number;
  bytes: number;
  lastSeq: number;
  ackedSeq: number;
  pendingGaps: PendingGap[];
  diskLow: boolean;
}

interface Entry {
  priority: Priority;
  size: number;
}

const EVENT_PREFIX = 'e:';
const META_STREAM = 'm:stream';
const META_LAST = 'm:last';
const META_ACKED = 'm:acked';
const META_GAPS = 'm:gaps';
const DISK_CHECK_MS = 5_000;
/** Gap events are written once the outbox is below this share of its limits. */
const GAP_FLUSH_SHARE = 0.9;

const eventKey = (seq: number): string => EVENT_PREFIX + seq.toString().padStart(16, '0');
const seqOfKey = (key: string): number => Number(key.slice(EVENT_PREFIX.length));
const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const untext = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString('utf8');

export class Outbox implements EventSink {
  readonly streamId: string;
  private readonly db: Level<string, Uint8Array>;
  private readonly options: Required<Omit<OutboxOptions, 'log' | 'now'>>;
  private readonly log: AgentLogger;
  private readonly now: () => number;
  /** Seqs per priority, ascending: the drop candidates in order. */
  private readonly queues: number[][] = PRIORITIES.map(() => []);
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;
  private lastSeq: number;
  private ackedSeq: number;
  private gaps: PendingGap[];
  private diskLow = false;
  private lastDiskCheck = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();
  private closed = false;

  private constructor(
    db: Level<string, Uint8Array>,
    options: OutboxOptions,
    meta: { streamId: string; lastSeq: number; ackedSeq: number; gaps: PendingGap[] },
  ) {
    this.db = db;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.options = {
      dir: options.dir,
      maxEvents: options.maxEvents ?? 200_000,
      maxBytes: options.maxBytes ?? 200 * 1024 * 1024,
      minFreeDiskBytes: options.minFreeDiskBytes ?? 50 * 1024 * 1024,
      diskCheckMs: options.diskCheckMs ?? DISK_CHECK_MS,
    };
    this.streamId = meta.streamId;
    this.lastSeq = meta.lastSeq;
    this.ackedSeq = meta.ackedSeq;
    this.gaps = meta.gaps;
  }

  static async open(options: OutboxOptions): Promise<Outbox> {
    if (options.maxEvents !== undefined && options.maxEvents < 10)
      throw new CustodianError(ErrorCode.INVALID_CONFIG, 'outbox maxEvents must be at least 10');
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const db = await openDatabase(options.dir, options.log);
    const streamId = untext(await db.get(META_STREAM)) ?? randomUUID();
    await db.put(META_STREAM, text(streamId));
    const gapsJson = untext(await db.get(META_GAPS));
    const outbox = new Outbox(db, options, {
      streamId,
      lastSeq: Number(untext(await db.get(META_LAST)) ?? 0),
      ackedSeq: Number(untext(await db.get(META_ACKED)) ?? 0),
      gaps: gapsJson ? (JSON.parse(gapsJson) as PendingGap[]) : [],
    });
    await outbox.loadIndex();
    return outbox;
  }

  /** Rebuilds the in-memory index; unreadable entries are deleted and become a gap (never a crash). */
  private async loadIndex(): Promise<void> {
    const corrupt: number[] = [];
    const oversized: number[] = [];
    for await (const [key, value] of this.db.iterator({ gt: EVENT_PREFIX, lt: 'e;' })) {
      const seq = seqOfKey(key);
      if (value.byteLength - 1 > MAX_EVENT_BYTES) {
        // Stored before events were bounded: it would never be sent and would block the rest.
        oversized.push(seq);
        if (seq > this.lastSeq) this.lastSeq = seq;
        continue;
      }
      const entry = this.validate(seq, value);
      if (!entry) {
        corrupt.push(seq);
        continue;
      }
      this.index(seq, entry);
      if (seq > this.lastSeq) this.lastSeq = seq;
    }
    if (corrupt.length > 0) await this.dropUnsendable(corrupt, 'corrupt-entry');
    if (oversized.length > 0) await this.dropUnsendable(oversized, 'oversized');
    await this.flushGapsIfRoom();
  }

  private validate(seq: number, value: Uint8Array): Entry | undefined {
    if (!Number.isSafeInteger(seq) || seq <= 0 || value.byteLength < 2) return undefined;
    const priority = value[0] as Priority;
    if (!PRIORITIES.includes(priority)) return undefined;
    try {
      const event = decodeEvent(value.subarray(1));
      if (Number(event.seq) !== seq || priorityOf(event) !== priority) return undefined;
    } catch {
      return undefined; // the caller records the entry as a corrupt-entry gap
    }
    return { priority, size: value.byteLength };
  }

  private index(seq: number, entry: Entry): void {
    this.entries.set(seq, entry);
    this.queues[entry.priority]!.push(seq);
    this.bytes += entry.size;
  }

  private unindex(seq: number): void {
    const entry = this.entries.get(seq);
    if (!entry) return;
    this.entries.delete(seq);
    this.bytes -= entry.size;
    const q = this.queues[entry.priority]!;
    const i = q.indexOf(seq);
    if (i >= 0) q.splice(i, 1);
  }

  /** Serialises every mutation: seqs are assigned and written strictly in order. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  emit(payload: EventPayload): Promise<void> {
    return this.emitMany([payload]);
  }

  /** Appends events in one atomic write (the diagnostic generator uses this for bulk). */
  emitMany(payloads: readonly EventPayload[]): Promise<void> {
    return this.exclusive(() => this.append(payloads));
  }

  private async append(payloads: readonly EventPayload[]): Promise<void> {
    if (this.closed) throw new CustodianError(ErrorCode.STORAGE, 'outbox is closed');
    await this.checkDisk();
    const batch = this.db.batch();
    const added: [number, Entry][] = [];
    const removed = new Set<number>();
    const taken = PRIORITIES.map(() => 0);
    let count = this.entries.size;
    let bytes = this.bytes;
    let gaps = this.gaps;
    let sync = false;
    let refusedHigh = 0;
    /** Seqs of this batch that will not be stored whatever happens (for the failure path). */
    const skipped: [number, GapReason][] = [];

    let cutStrings = 0;
    let oversized = 0;
    for (const raw of payloads) {
      const seq = ++this.lastSeq;
      const capped = capStrings(raw);
      cutStrings += capped.cut;
      const event: IEvent = { ...capped.payload, seq, timeMs: this.now() };
      const priority = priorityOf(event);
      if (this.diskLow && priority !== Priority.HIGH) {
        gaps = addToGaps(gaps, seq, 'disk-full');
        skipped.push([seq, 'disk-full']);
        continue;
      }
      const encoded = encodeEvent(event);
      if (encoded.byteLength > MAX_EVENT_BYTES) {
        // Never sendable: stored, it would wedge delivery. The timeline shows a Gap instead.
        gaps = addToGaps(gaps, seq, 'oversized');
        skipped.push([seq, 'oversized']);
        oversized++;
        continue;
      }
      const value = new Uint8Array(encoded.byteLength + 1);
      value[0] = priority;
      value.set(encoded, 1);
      let dropSelf = false;
      while (count + 1 > this.options.maxEvents || bytes + value.byteLength > this.options.maxBytes) {
        const victim = this.pickVictim(priority, taken, added);
        if (victim === undefined) {
          dropSelf = true;
          break;
        }
        if (victim.own) {
          batch.del(eventKey(victim.seq));
          skipped.push([victim.seq, 'outbox-full']);
        } else removed.add(victim.seq);
        count--;
        bytes -= victim.size;
        gaps = addToGaps(gaps, victim.seq, 'outbox-full');
      }
      if (dropSelf) {
        gaps = addToGaps(gaps, seq, 'outbox-full');
        skipped.push([seq, 'outbox-full']);
        continue;
      }
      batch.put(eventKey(seq), value);
      added.push([seq, { priority, size: value.byteLength }]);
      count++;
      bytes += value.byteLength;
      if (priority === Priority.HIGH) sync = true;
    }
    for (const seq of removed) batch.del(eventKey(seq));
    batch.put(META_LAST, text(String(this.lastSeq)));
    if (gaps !== this.gaps) batch.put(META_GAPS, text(JSON.stringify(gaps)));
    try {
      await batch.write({ sync });
    } catch (err) {
      // Nothing of this batch is on disk: its seqs are a gap. Low-priority events are let go
      // (reported by the gap); a failure to keep a high-priority one is the caller's to know.
      this.diskLow = isDiskFull(err) || this.diskLow;
      for (const [seq, reason] of skipped) this.gaps = addToGaps(this.gaps, seq, reason);
      for (const [seq, entry] of added) {
        this.gaps = addToGaps(this.gaps, seq, this.diskLow ? 'disk-full' : 'corrupt-entry');
        if (entry.priority === Priority.HIGH) refusedHigh++;
      }
      this.log.error('outbox write failed', { err, events: added.length, diskLow: this.diskLow });
      if (refusedHigh > 0)
        throw new CustodianError(ErrorCode.STORAGE, `outbox write failed: ${(err as Error).message}`, {
          cause: err,
        });
      return;
    }
    for (const seq of removed) this.unindex(seq);
    for (const [seq, entry] of added) this.index(seq, entry);
    if (cutStrings > 0) this.log.debug('event strings cut to the protocol limit', { strings: cutStrings });
    if (oversized > 0)
      this.log.warn('event too large for one frame even with its strings cut; recorded as a gap', {
        events: oversized,
        maxEventBytes: MAX_EVENT_BYTES,
      });
    if (gaps !== this.gaps && this.gaps.length === 0 && gaps.some((g) => g.reason !== 'oversized'))
      this.log.warn('outbox full or disk low: dropping events', { gaps });
    this.gaps = gaps;
    await this.flushGapsIfRoom();
    this.notify();
  }

  /** Oldest event of the lowest priority not above `priority`, not yet picked in this batch. */
  private pickVictim(
    priority: Priority,
    taken: number[],
    added: [number, Entry][],
  ): { seq: number; size: number; own: boolean } | undefined {
    for (const p of PRIORITIES) {
      if (p > priority) return undefined;
      const q = this.queues[p]!;
      if (taken[p]! < q.length) {
        const seq = q[taken[p]!]!;
        taken[p]!++;
        return { seq, size: this.entries.get(seq)!.size, own: false };
      }
      // Events added earlier in this same batch are candidates too (oldest first).
      const i = added.findIndex(([, e]) => e.priority === p);
      if (i >= 0) {
        const [seq, e] = added.splice(i, 1)[0]!;
        return { seq, size: e.size, own: true };
      }
    }
    return undefined;
  }

  private async flushGapsIfRoom(): Promise<void> {
    if (this.gaps.length === 0 || this.diskLow) return;
    const roomy =
      this.entries.size < this.options.maxEvents * GAP_FLUSH_SHARE &&
      this.bytes < this.options.maxBytes * GAP_FLUSH_SHARE;
    if (!roomy) return;
    const batch = this.db.batch();
    const added: [number, Entry][] = [];
    for (const gap of this.gaps) {
      const seq = ++this.lastSeq;
      const event: IEvent = { seq, timeMs: this.now(), gap: { ...gap } };
      const encoded = encodeEvent(event);
      const value = new Uint8Array(encoded.byteLength + 1);
      value[0] = Priority.HIGH;
      value.set(encoded, 1);
      batch.put(eventKey(seq), value);
      added.push([seq, { priority: Priority.HIGH, size: value.byteLength }]);
    }
    batch.put(META_LAST, text(String(this.lastSeq)));
    batch.del(META_GAPS);
    await batch.write({ sync: true });
    this.log.warn('outbox recorded dropped events as gaps', { gaps: this.gaps });
    for (const [seq, entry] of added) this.index(seq, entry);
    this.gaps = [];
  }

  private async checkDisk(): Promise<void> {
    const now = Date.now();
    if (now - this.lastDiskCheck < this.options.diskCheckMs) return;
    this.lastDiskCheck = now;
    const s = await statfs(this.options.dir);
    const free = s.bavail * s.bsize;
    const low = free < this.options.minFreeDiskBytes;
    if (low !== this.diskLow)
      this.log[low ? 'error' : 'info'](
        low ? 'disk nearly full: refusing low-priority events' : 'disk space recovered',
        { freeBytes: free, minFreeBytes: this.options.minFreeDiskBytes },
      );
    this.diskLow = low;
    if (!low) await this.flushGapsIfRoom();
  }

  /** Events with seq > afterSeq, ascending, at most `limit`. Corrupt entries are skipped and become a gap. */
  async read(afterSeq: number, limit: number): Promise<IEvent[]> {
    const out: IEvent[] = [];
    const corrupt: number[] = [];
    const oversized: number[] = [];
    for await (const [key, value] of this.db.iterator({ gt: eventKey(afterSeq), lt: 'e;', limit })) {
      const seq = seqOfKey(key);
      if (value.byteLength - 1 > MAX_EVENT_BYTES) {
        oversized.push(seq);
        continue;
      }
      try {
        const event = decodeEvent(value.subarray(1));
        if (Number(event.seq) !== seq) throw new Error('seq does not match its key');
        out.push(event);
      } catch {
        corrupt.push(seq); // recorded below as a corrupt-entry gap
      }
    }
    if (corrupt.length > 0) await this.exclusive(() => this.dropUnsendable(corrupt, 'corrupt-entry'));
    if (oversized.length > 0) await this.exclusive(() => this.dropUnsendable(oversized, 'oversized'));
    return out;
  }

  private async dropUnsendable(seqs: number[], reason: 'corrupt-entry' | 'oversized'): Promise<void> {
    const batch = this.db.batch();
    for (const seq of seqs) {
      batch.del(eventKey(seq));
      this.gaps = addToGaps(this.gaps, seq, reason);
    }
    batch.put(META_GAPS, text(JSON.stringify(this.gaps)));
    if (reason === 'oversized') batch.put(META_LAST, text(String(this.lastSeq)));
    await batch.write();
    for (const seq of seqs) this.unindex(seq);
    this.log.error(
      reason === 'oversized'
        ? 'outbox entries too large for one frame; recorded as a gap'
        : 'outbox entries unreadable; recorded as a gap',
      { count: seqs.length, first: seqs[0] },
    );
  }

  /** The collector holds every event up to `seq` durably: delete them. */
  ack(seq: number): Promise<void> {
    return this.exclusive(async () => {
      if (seq > this.lastSeq) {
        this.log.warn('ack beyond the last seq of this stream; clamped', { seq, lastSeq: this.lastSeq });
        seq = this.lastSeq;
      }
      if (seq <= this.ackedSeq) return;
      await this.db.clear({ gt: EVENT_PREFIX, lte: eventKey(seq) });
      await this.db.put(META_ACKED, text(String(seq)));
      this.ackedSeq = seq;
      for (const q of this.queues) {
        let n = 0;
        while (n < q.length && q[n]! <= seq) {
          const e = this.entries.get(q[n]!);
          if (e) this.bytes -= e.size;
          this.entries.delete(q[n]!);
          n++;
        }
        q.splice(0, n);
      }
      const before = this.gaps.length;
      await this.flushGapsIfRoom();
      if (before > 0 && this.gaps.length === 0) this.notify();
    });
  }

  /** Called after events were appended (the link wakes up to send). */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  stats(): OutboxStats {
    return {
      streamId: this.streamId,
      depth: this.entries.size,
      bytes: this.bytes,
      lastSeq: this.lastSeq,
      ackedSeq: this.ackedSeq,
      pendingGaps: this.gaps,
      diskLow: this.diskLow,
    };
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      this.closed = true;
    });
    await this.db.close();
  }
}

function isDiskFull(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/ENOSPC|No space left/i.test(`${(e as { code?: string }).code ?? ''} ${e.message}`)) return true;
  }
  return false;
}

async function openDatabase(dir: string, log: AgentLogger): Promise<Level<string, Uint8Array>> {
  const path = join(dir, 'db');
  const make = () => new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const db = make();
  try {
    await db.open();
    return db;
  } catch (err) {
    const chain = causes(err);
    if (/lock|Resource temporarily unavailable/i.test(chain)) {
      throw new CustodianError(
        ErrorCode.STORAGE,
        `the outbox at ${path} is in use by another process (is the agent already running?)`,
        { cause: err },
      );
    }
    // Never a crash loop at every boot: first let LevelDB rebuild what it can (this recovers
    // events when e.g. the MANIFEST is lost), then keep an unusable database aside for
    // investigation and start a new stream (the collector sees a new stream_id).
    log.error('outbox database does not open; trying LevelDB repair', { err });
    try {
      // `level` is classic-level's ClassicLevel (platform-notes §1); its typings omit the static repair().
      await (Level as unknown as { repair(location: string): Promise<void> }).repair(path);
      const repaired = make();
      await repaired.open();
      log.warn('outbox database repaired');
      return repaired;
    } catch (repairErr) {
      const aside = `${path}.corrupt-${Date.now()}`;
      await rename(path, aside);
      log.error('outbox database unrepairable; moved aside, starting a new stream', {
        aside,
        err: repairErr,
      });
      const fresh = make();
      await fresh.open();
      return fresh;
    }
  }
}

function causes(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    parts.push(`${(e as { code?: string }).code ?? ''} ${e.message}`);
  }
  return parts.join(' | ');
}

export type { GapReason, PendingGap };
