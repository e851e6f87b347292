// KvEngine on `level` (classic-level: LevelDB). `sync: true` batches fsync the write-ahead log,
// which also makes every earlier unsynced write durable (the log is sequential).
//
// Sticky errors: when a LevelDB write or background compaction fails with an I/O error (disk
// full, EIO), LevelDB keeps that error and fails every later write until the database is opened
// again — even after the disk has room. The engine therefore remembers an I/O failure and, on
// the next operation (at most once per `reopenIntervalMs`), closes and reopens the database;
// what was synced is on disk, so nothing acknowledged is lost. While failing, `health()` says
// so (the health route answers 503), and the failure and the recovery are logged once each.
import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { Level } from 'level';
import type { KvEngine, KvOp, KvRange, StorageHealth } from './types.ts';

export interface LevelEngineOptions {
  /** Minimum time between two reopen attempts while the store is failing. */
  reopenIntervalMs?: number;
  now?: () => number;
  /** One line when the store starts failing and one when it recovers (never data). */
  onHealthChange?: (health: StorageHealth) => void;
}

export async function openLevelEngine(location: string, options: LevelEngineOptions = {}): Promise<KvEngine> {
  const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open();
  } catch (err) {
    throw new CustodianError(
      ErrorCode.STORAGE,
      `cannot open the store at ${location}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return new LevelEngine(db, location, options);
}

/** A LevelDB status that stays set until the database is reopened. */
export function isStickyLevelError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e) return false;
  if (e.code === 'LEVEL_IO_ERROR') return true;
  return typeof e.message === 'string' && /\bIO error\b|No space left on device/.test(e.message);
}

/** The message with its cause's ("Database failed to open" hides "…: Read-only file system"). */
function errorText(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const cause = e.cause instanceof Error ? e.cause.message : '';
  return cause && !e.message.includes(cause) ? `${e.message}: ${cause}` : e.message;
}

function notOpen(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'LEVEL_DATABASE_NOT_OPEN';
}

class LevelEngine implements KvEngine {
  private readonly db: Level<string, Uint8Array>;
  private readonly reopenIntervalMs: number;
  private readonly now: () => number;
  private readonly onHealthChange: (health: StorageHealth) => void;
  private failing: { since: number; error: string } | null = null;
  private lastReopenAt = 0;
  private reopening: Promise<void> | null = null;
  private closed = false;

  private readonly location: string;
  private lastProbeAt = 0;

  constructor(db: Level<string, Uint8Array>, location: string, options: LevelEngineOptions) {
    this.db = db;
    this.location = location;
    this.reopenIntervalMs = options.reopenIntervalMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.onHealthChange = options.onHealthChange ?? (() => undefined);
  }

  health(): StorageHealth {
    this.probeReadOnly();
    return this.failing ? { ok: false, since: this.failing.since, error: this.failing.error } : { ok: true };
  }

  /**
   * A filesystem that turned read-only (ext4 after a disk error) is seen here without waiting for
   * a write to fail (at most once a second): creating a file answers EROFS. Marks the store failing and closes it at once
   * (its files released, so the filesystem can be unmounted, checked and mounted again); once
   * it is writable again, the next operation reopens it.
   */
  private probeReadOnly(): void {
    if (this.closed || this.now() - this.lastProbeAt < 1000) return;
    this.lastProbeAt = this.now();
    let readOnly = false;
    // access(W_OK) does not see ext4's emergency read-only state (newer kernels leave the mount
    // flags alone); creating a file does. Beside the database, never in it.
    const probe = join(dirname(this.location), '.custodian-write-probe');
    try {
      closeSync(openSync(probe, 'w'));
      unlinkSync(probe);
    } catch (err) {
      readOnly = (err as NodeJS.ErrnoException).code === 'EROFS';
    }
    if (readOnly && !this.failing) {
      this.failing = { since: this.now(), error: 'EROFS: the data directory is on a read-only file system' };
      this.onHealthChange(this.health());
      void this.recoverIfDue();
    } else if (readOnly && this.failing && !/read-only file system/i.test(this.failing.error)) {
      // The first failed write may have seen EIO (the journal aborting under it): name the cause.
      this.failing.error = 'EROFS: the data directory is on a read-only file system';
    } else if (!readOnly && this.failing && /read-only file system/i.test(this.failing.error)) {
      void this.recoverIfDue();
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.run(() => this.db.get(key));
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    return this.run(() => this.db.getMany(keys));
  }

  async batch(ops: KvOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return;
    await this.run(
      () =>
        this.db.batch(
          ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : op)),
          { sync: options.sync } as object,
        ),
      true,
    );
  }

  async *entries(range: KvRange): AsyncIterable<[string, Uint8Array]> {
    await this.recoverIfDue();
    const it = this.db.iterator({ ...range, limit: range.limit ?? -1 });
    try {
      for await (const entry of it) yield entry as [string, Uint8Array];
    } catch (err) {
      throw this.failed(err, false);
    } finally {
      await it.close().catch(() => undefined);
    }
  }

  async compact(gte: string, lt: string): Promise<void> {
    // `level` on Node is classic-level, whose compactRange the browser-neutral type leaves out.
    const db = this.db as unknown as { compactRange(start: string, end: string): Promise<void> };
    await this.run(() => db.compactRange(gte, lt), true);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reopening?.catch(() => undefined);
    await this.db.close();
  }

  private async run<T>(fn: () => Promise<T>, write = false): Promise<T> {
    await this.recoverIfDue();
    try {
      const result = await fn();
      if (write && this.failing) this.recovered();
      return result;
    } catch (err) {
      throw this.failed(err, write);
    }
  }

  private failed(err: unknown, write: boolean): CustodianError {
    // Reads can fail with I/O errors too (a bad block); only a failing write wedges LevelDB, but
    // either way a reopen is the one cure we have, so both mark the store failing.
    if (isStickyLevelError(err) && !this.failing) {
      this.failing = { since: this.now(), error: errorText(err) };
      this.onHealthChange(this.health());
      // Close (and try to reopen) now rather than at the next operation: a failed reopen leaves
      // the database closed, holding no file open, so an operator can unmount a filesystem
      // that went read-only, check it and mount it again while the collector runs.
      void this.recoverIfDue();
    } else if (write && this.failing && !notOpen(err)) {
      // "Database is not open" (a reopen failed) says nothing new: keep the cause health names.
      this.failing.error = errorText(err);
    }
    return new CustodianError(ErrorCode.STORAGE, `store I/O failed: ${(err as Error).message}`, {
      cause: err,
    });
  }

  private recovered(): void {
    this.failing = null;
    this.onHealthChange(this.health());
  }

  /** While failing, reopen at most once per interval; concurrent callers share one attempt. */
  private async recoverIfDue(): Promise<void> {
    if (!this.failing || this.closed) return;
    if (this.reopening) return this.reopening;
    if (this.now() - this.lastReopenAt < this.reopenIntervalMs) return;
    this.lastReopenAt = this.now();
    this.reopening = (async () => {
      try {
        await this.db.close();
        // LevelDB creates the directory (and its LOCK file) before it looks for a database: not
        // on whatever lies beneath an unmounted filesystem.
        if (!existsSync(join(this.location, 'CURRENT')))
          throw new Error(`no database at the store's location (is its filesystem mounted?)`);
        // Never create a database here: a data directory that is missing now (its filesystem
        // unmounted for e2fsck, say) would become a fresh empty store on whatever is beneath,
        // and everything acked from then on would be written where nobody will look for it.
        await this.db.open({ createIfMissing: false });
      } catch (err) {
        // Still failing (e.g. the disk is still full and the log cannot be rewritten); the
        // operation that follows reports it and the next one tries again after the interval.
        // A read-only filesystem stays the named cause until it is writable again.
        if (this.failing && !/read-only file system/i.test(this.failing.error))
          this.failing.error = errorText(err);
      } finally {
        this.reopening = null;
      }
    })();
    return this.reopening;
  }
}
