// Login throttling per (username, ip): after `freeAttempts` failures inside `windowMs`, each
// further attempt must wait an exponentially growing delay (capped). Keyed on the pair so
// one attacker cannot lock a real teacher out from another machine, plus a looser per-ip
// bucket so spraying many usernames from one address is slowed too.
//
// The buckets live in memory for one collector process, or in the store (`storedBuckets`, a kv
// namespace) when several collector processes serve one database (PostgreSQL sharedWriters):
// otherwise an attacker spreading attempts over N processes behind the load balancer would get N
// times the free attempts. A pair's check-and-count is one read-modify-write of its record
// (`update`, locked across processes), so parallel attempts on every process get the free ones
// between them; the per-ip bucket is counted after it (an attempt the pair allows counts there
// too).
import { createHash } from 'node:crypto';
import type { KvNamespace } from '../store/types.ts';

export interface ThrottleOptions {
  freeAttempts: number;
  windowMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures from one ip across all usernames before it is throttled as well. */
  perIpFreeAttempts: number;
  now: () => number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeAttempts: 5,
  windowMs: 15 * 60_000,
  baseDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  perIpFreeAttempts: 50,
  now: Date.now,
};

export interface Bucket {
  failures: number;
  first: number;
  last: number;
}

/** Where the buckets are kept: in this process (the default) or in the store. */
export interface BucketStore {
  get(key: string): Promise<Bucket | undefined>;
  /** Atomic read-modify-write; `change` returns undefined to delete. */
  modify(key: string, change: (b: Bucket | undefined) => Bucket | undefined): Promise<Bucket | undefined>;
  /** Deletes the buckets `stale` says are expired. */
  sweep(stale: (b: Bucket) => boolean): Promise<void>;
}

/** The buckets in a kv namespace, keyed by a SHA-256 of the throttle key (no user name in keys). */
export function storedBuckets(kv: KvNamespace<Bucket>): BucketStore {
  const id = (key: string) => createHash('sha256').update(key).digest('hex');
  return {
    get: (key) => kv.get(id(key)),
    modify: (key, change) => kv.update(id(key), change),
    async sweep(stale) {
      for (const e of await kv.list())
        if (stale(e.value)) await kv.update(e.key, (b) => (b && stale(b) ? undefined : b));
    },
  };
}

function memoryBuckets(): BucketStore & { size(): number } {
  const buckets = new Map<string, Bucket>();
  return {
    get: async (key) => buckets.get(key),
    async modify(key, change) {
      const next = change(buckets.get(key));
      if (next) buckets.set(key, next);
      else buckets.delete(key);
      return next;
    },
    async sweep(stale) {
      for (const [k, b] of [...buckets]) if (stale(b)) buckets.delete(k);
    },
    size: () => buckets.size,
  };
}

export class LoginThrottle {
  private readonly opts: ThrottleOptions;
  private readonly buckets: BucketStore;
  private readonly local: (BucketStore & { size(): number }) | undefined;

  constructor(opts: Partial<ThrottleOptions> = {}, buckets?: BucketStore) {
    this.opts = { ...DEFAULT_THROTTLE, ...opts };
    if (
      this.opts.freeAttempts < 1 ||
      this.opts.baseDelayMs < 0 ||
      this.opts.maxDelayMs < this.opts.baseDelayMs
    )
      throw new TypeError('LoginThrottle: impossible options');
    this.local = buckets ? undefined : memoryBuckets();
    this.buckets = buckets ?? (this.local as BucketStore);
  }

  /** Milliseconds the caller must still wait before another attempt (0 = may try now). */
  async retryAfterMs(username: string, ip: string): Promise<number> {
    return Math.max(
      this.wait(await this.buckets.get(this.key(username, ip)), this.opts.freeAttempts),
      this.wait(await this.buckets.get(ipKey(ip)), this.opts.perIpFreeAttempts),
    );
  }

  /**
   * Counts an attempt BEFORE its password is checked (a failure until proven right), so
   * parallel requests cannot all pass the check while the first hashes are still running.
   * Returns the milliseconds to wait; 0 means the attempt may go ahead and is now counted.
   */
  async begin(username: string, ip: string): Promise<number> {
    const ipWait = this.wait(await this.buckets.get(ipKey(ip)), this.opts.perIpFreeAttempts);
    if (ipWait > 0) return ipWait;
    let wait = 0;
    await this.buckets.modify(this.key(username, ip), (b) => {
      wait = this.wait(b, this.opts.freeAttempts);
      return wait > 0 ? b : this.bumped(b);
    });
    if (wait > 0) return wait;
    await this.buckets.modify(ipKey(ip), (b) => this.bumped(b));
    await this.maybeSweep();
    return 0;
  }

  /** The attempt counted by `begin` was right: forget the pair's failures and uncount it on the ip. */
  async succeeded(username: string, ip: string): Promise<void> {
    await this.recordSuccess(username, ip);
    await this.buckets.modify(ipKey(ip), (b) => {
      const live = this.live(b);
      return live && live.failures > 0 ? { ...live, failures: live.failures - 1 } : live;
    });
  }

  async recordFailure(username: string, ip: string): Promise<void> {
    await this.buckets.modify(this.key(username, ip), (b) => this.bumped(b));
    await this.buckets.modify(ipKey(ip), (b) => this.bumped(b));
    await this.maybeSweep();
  }

  async recordSuccess(username: string, ip: string): Promise<void> {
    await this.buckets.modify(this.key(username, ip), () => undefined);
  }

  /** Deletes expired buckets (the store's are swept by the auth sweep job). */
  async sweep(): Promise<void> {
    await this.buckets.sweep((b) => this.live(b) === undefined);
  }

  private key(username: string, ip: string): string {
    return `u\u0000${username.toLowerCase()}\u0000${ip}`;
  }

  private wait(bucket: Bucket | undefined, free: number): number {
    const b = this.live(bucket);
    if (!b || b.failures < free) return 0;
    const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (b.failures - free));
    return Math.max(0, b.last + delay - this.opts.now());
  }

  private bumped(bucket: Bucket | undefined): Bucket {
    const now = this.opts.now();
    const b = this.live(bucket);
    return b ? { ...b, failures: b.failures + 1, last: now } : { failures: 1, first: now, last: now };
  }

  /** The bucket, unless it is older than the window plus the longest delay (then forgotten). */
  private live(b: Bucket | undefined): Bucket | undefined {
    if (b && this.opts.now() - b.last > this.opts.windowMs + this.opts.maxDelayMs) return undefined;
    return b;
  }

  private async maybeSweep(): Promise<void> {
    if (this.local && this.local.size() > 100_000) await this.sweep();
  }
}

function ipKey(ip: string): string {
  return `ip\u0000${ip}`;
}
