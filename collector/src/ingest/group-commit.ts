// Group commit: every connection's pending writes are gathered for a short tick and written as
// ONE atomic, synced level batch; each waiter resolves only after that batch is on disk. While
// a write is in progress the next group accumulates, so under load the fsync rate stays at
// one per disk round trip however many agents are sending (durability without a per-batch fsync).
//
// A waiter can be conditional (`stillValid`): a batch whose content was derived from an earlier
// batch that then failed (an event batch's stream state projects the seqs queued before it) is
// rejected at flush time instead of written, so the disk never claims what it does not hold.
//
// A group refused as a conflict (CUST_ERR_CONFLICT: on PostgreSQL, one waiter's once-only record
// was written meanwhile by another collector process) is written again one waiter at a time, so
// only the conflicting waiter fails, not every connection whose writes shared its group. Any other
// failure (a full or broken disk) rejects the whole group: retrying would fail the same way.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { KvEngine, KvOp } from '../store/types.ts';

interface Waiter {
  ops: KvOp[];
  stillValid: (() => boolean) | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommitter {
  private readonly engine: KvEngine;
  private readonly tickMs: number;
  private pending: Waiter[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Counters for logs and the benchmark. */
  readonly stats = { commits: 0, ops: 0, waiters: 0 };
  /** Told each synced group's latency in seconds, from its first write queued to on disk (metrics). */
  observe: ((seconds: number) => void) | undefined;
  private groupStartedAt = 0;

  constructor(engine: KvEngine, tickMs: number) {
    this.engine = engine;
    this.tickMs = tickMs;
  }

  /** Writers waiting for the next group (diagnostics and the backpressure test). */
  get queued(): number {
    return this.pending.length;
  }

  /**
   * Resolves once `ops` (possibly none: "after everything queued before") are durable. With
   * `stillValid`, asked when the group is written: false rejects this waiter unwritten.
   */
  enqueue(ops: KvOp[], stillValid?: () => boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) this.groupStartedAt = performance.now();
      this.pending.push({ ops, stillValid, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything queued so far has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.writing || this.timer) {
      if (this.timer) {
        this.clearTimer();
        void this.flush();
      }
      await (this.writing ?? Promise.resolve());
      if (this.pending.length > 0 && !this.writing && !this.timer) void this.flush();
    }
  }

  private schedule(): void {
    if (this.writing || this.timer) return;
    const run = () => {
      this.timer = undefined;
      void this.flush();
    };
    this.timer = this.tickMs > 0 ? setTimeout(run, this.tickMs) : setImmediate(run);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
  }

  private flush(): Promise<void> {
    if (this.writing || this.pending.length === 0) return this.writing ?? Promise.resolve();
    const group: Waiter[] = [];
    for (const w of this.pending) {
      if (!w.stillValid || w.stillValid()) group.push(w);
      else w.reject(dependencyFailed());
    }
    const startedAt = this.groupStartedAt;
    this.pending = [];
    if (group.length === 0) return Promise.resolve();
    const ops: KvOp[] = [];
    for (const w of group) for (const op of w.ops) ops.push(op);
    const write = (async () => {
      try {
        await this.engine.batch(ops, { sync: true });
        this.stats.commits++;
        this.stats.ops += ops.length;
        this.stats.waiters += group.length;
        for (const w of group) w.resolve();
        this.observe?.((performance.now() - startedAt) / 1000);
      } catch (err) {
        if (group.length > 1 && isConflict(err)) await this.oneByOne(group);
        else for (const w of group) w.reject(err);
      } finally {
        this.writing = undefined;
        if (this.pending.length > 0) this.schedule();
      }
    })();
    this.writing = write;
    return write;
  }

  /** Each waiter of a conflicting group written on its own, in order. */
  private async oneByOne(group: Waiter[]): Promise<void> {
    for (const w of group) {
      // An earlier waiter's rejection (settled by now) may invalidate a later one built on it.
      await new Promise((r) => setImmediate(r));
      if (w.stillValid && !w.stillValid()) {
        w.reject(dependencyFailed());
        continue;
      }
      try {
        if (w.ops.length > 0) await this.engine.batch(w.ops, { sync: true });
        this.stats.commits++;
        this.stats.ops += w.ops.length;
        this.stats.waiters++;
        w.resolve();
      } catch (err) {
        w.reject(err);
      }
    }
  }
}

function dependencyFailed(): CustodianError {
  return new CustodianError(ErrorCode.STORAGE, 'not written: a batch it depends on failed to write');
}

function isConflict(err: unknown): boolean {
  return err instanceof CustodianError && err.code === ErrorCode.CONFLICT;
}
