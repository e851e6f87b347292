// KvEngine in memory for unit tests: a sorted key list plus a map. Same ordering and range
// semantics as level, so the domain stores above it behave identically (the shared suite
// in test/store proves it).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { KvEngine, KvOp, KvRange } from './types.ts';

export function createMemoryEngine(): KvEngine {
  return new MemoryEngine();
}

class MemoryEngine implements KvEngine {
  private readonly keys: string[] = [];
  private readonly values = new Map<string, Uint8Array>();
  private closed = false;

  async get(key: string): Promise<Uint8Array | undefined> {
    this.check();
    return this.values.get(key);
  }

  async getMany(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    this.check();
    return keys.map((k) => this.values.get(k));
  }

  async batch(ops: KvOp[], _options: { sync: boolean }): Promise<void> {
    this.check();
    for (const op of ops) {
      if (op.type === 'put') {
        if (!this.values.has(op.key)) this.keys.splice(this.lowerBound(op.key), 0, op.key);
        // Copy: callers may reuse their buffers, level would have copied too.
        this.values.set(op.key, op.value.slice());
      } else if (this.values.delete(op.key)) {
        this.keys.splice(this.lowerBound(op.key), 1);
      }
    }
  }

  async *entries(range: KvRange): AsyncIterable<[string, Uint8Array]> {
    this.check();
    const inRange = (k: string) =>
      (range.gt === undefined || k > range.gt) &&
      (range.gte === undefined || k >= range.gte) &&
      (range.lt === undefined || k < range.lt) &&
      (range.lte === undefined || k <= range.lte);
    // Snapshot, like a level iterator: writes during iteration are not seen.
    const selected = this.keys.filter(inRange);
    if (range.reverse) selected.reverse();
    const limit = range.limit === undefined || range.limit < 0 ? selected.length : range.limit;
    const snapshot = selected.slice(0, limit).map((k) => [k, this.values.get(k) as Uint8Array] as const);
    for (const [k, v] of snapshot) yield [k, v];
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new CustodianError(ErrorCode.STORAGE, 'memory store is closed');
  }

  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as string) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
