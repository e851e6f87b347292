// Login throttling per (username, ip): after `freeAttempts` failures inside `windowMs`, each
// further attempt must wait an exponentially growing delay (capped). Keyed on the pair so
// one attacker cannot lock a real teacher out from another machine, plus a looser per-ip
// bucket so spraying many usernames from one address is slowed too.

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

interface Bucket {
  failures: number;
  first: number;
  last: number;
}

export class LoginThrottle {
  private readonly opts: ThrottleOptions;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: Partial<ThrottleOptions> = {}) {
    this.opts = { ...DEFAULT_THROTTLE, ...opts };
    if (
      this.opts.freeAttempts < 1 ||
      this.opts.baseDelayMs < 0 ||
      this.opts.maxDelayMs < this.opts.baseDelayMs
    )
      throw new TypeError('LoginThrottle: impossible options');
  }

  /** Milliseconds the caller must still wait before another attempt (0 = may try now). */
  retryAfterMs(username: string, ip: string): number {
    return Math.max(
      this.wait(this.key(username, ip), this.opts.freeAttempts),
      this.wait(`ip\u0000${ip}`, this.opts.perIpFreeAttempts),
    );
  }

  /**
   * Counts an attempt BEFORE its password is checked (a failure until proven right), so
   * parallel requests cannot all pass the check while the first hashes are still running.
   * Returns the milliseconds to wait; 0 means the attempt may go ahead and is now counted.
   */
  begin(username: string, ip: string): number {
    const wait = this.retryAfterMs(username, ip);
    if (wait > 0) return wait;
    this.recordFailure(username, ip);
    return 0;
  }

  /** The attempt counted by `begin` was right: forget the pair's failures and uncount it on the ip. */
  succeeded(username: string, ip: string): void {
    this.recordSuccess(username, ip);
    const b = this.live(`ip\u0000${ip}`);
    if (b && b.failures > 0) b.failures--;
  }

  recordFailure(username: string, ip: string): void {
    this.bump(this.key(username, ip));
    this.bump(`ip\u0000${ip}`);
    if (this.buckets.size > 100_000) this.sweep();
  }

  recordSuccess(username: string, ip: string): void {
    this.buckets.delete(this.key(username, ip));
  }

  private key(username: string, ip: string): string {
    return `u\u0000${username.toLowerCase()}\u0000${ip}`;
  }

  private wait(key: string, free: number): number {
    const b = this.live(key);
    if (!b || b.failures < free) return 0;
    const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (b.failures - free));
    return Math.max(0, b.last + delay - this.opts.now());
  }

  private bump(key: string): void {
    const now = this.opts.now();
    const b = this.live(key);
    if (b) {
      b.failures++;
      b.last = now;
    } else this.buckets.set(key, { failures: 1, first: now, last: now });
  }

  private live(key: string): Bucket | undefined {
    const b = this.buckets.get(key);
    if (b && this.opts.now() - b.last > this.opts.windowMs + this.opts.maxDelayMs) {
      this.buckets.delete(key);
      return undefined;
    }
    return b;
  }

  private sweep(): void {
    for (const key of [...this.buckets.keys()]) this.live(key);
  }
}
