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

class LevelEngine implements KvEngine {
  private readonly db: Level<string, Uint8Array>;
  constructor(db: Level<string, Uint8Array>) {
    this.db = db;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return wrap(() => this.db.get(key));
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    return wrap(() => this.db.getMany(keys));
  }

  async batch(ops: KvOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return;
    await wrap(() =>
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

  async compact(gte: string, lt: string): Promise<void> {
    // `level` on Node is classic-level, whose compactRange the browser-neutral type leaves out.
    const db = this.db as unknown as { compactRange(start: string, end: string): Promise<void> };
    await wrap(() => db.compactRange(gte, lt));
  }

  async close(): Promise<void> {
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
