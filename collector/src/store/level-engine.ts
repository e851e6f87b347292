// KvEngine on `level` (classic-level: LevelDB). `sync: true` batches fsync the write-ahead log,
// which also makes every earlier unsynced write durable (the log is sequential).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { Level } from 'level';
import type { KvEngine, KvOp, KvRange } from './types.ts';

export async function openLevelEngine(location: string): Promise<KvEngine> {
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
  return new LevelEngine(db);
}

/** Least time between two reopens after failures (a disk still full fails them all). */
const REOPEN_INTERVAL_MS = 1_000;

class LevelEngine implements KvEngine {
  private readonly db: Level<string, Uint8Array>;
  private reopening: Promise<void> | undefined;
  private lastReopen = 0;
  private closing = false;
  constructor(db: Level<string, Uint8Array>) {
    this.db = db;
  }

  /**
   * LevelDB keeps a failed background write (a compaction on a full disk) as a sticky error:
   * every later write fails with it, even once space is back, until the database is reopened.
   * Found by the disk soak campaign (test/soak/disk.ts): after a full-disk episode the collector
   * stayed up and refused every agent with STORAGE_UNAVAILABLE for good. So a failed operation
   * reopens the database (at most once a second; a reopen that fails on a disk still full is
   * tried again at the next failure, reads included). Nothing that failed was acked, and
   * opening replays LevelDB's log, so no acked write is lost.
   */
  private reopenAfterFailure(): void {
    if (this.closing || this.reopening || Date.now() - this.lastReopen < REOPEN_INTERVAL_MS) return;
    this.lastReopen = Date.now();
    this.reopening = (async () => {
      try {
        if (this.db.status === 'open') await this.db.close();
        await this.db.open();
      } catch {
        // Still failing (disk still full): the next failure tries again.
      } finally {
        this.reopening = undefined;
      }
    })();
  }

  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await wrap(fn);
    } catch (err) {
      this.reopenAfterFailure();
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.guarded(() => this.db.get(key));
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    return this.guarded(() => this.db.getMany(keys));
  }

  async batch(ops: KvOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return;
    await this.guarded(() =>
      this.db.batch(
        ops.map((op) => (op.type === 'put' ? { type: 'put', key: op.key, value: op.value } : op)),
        { sync: options.sync } as object,
      ),
    );
  }

  async *entries(range: KvRange): AsyncIterable<[string, Uint8Array]> {
    const it = this.db.iterator({ ...range, limit: range.limit ?? -1 });
    try {
      for await (const entry of it) yield entry as [string, Uint8Array];
    } finally {
      await it.close();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.reopening) await this.reopening;
    await this.db.close();
  }
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new CustodianError(ErrorCode.STORAGE, `store I/O failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
