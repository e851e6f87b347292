// Bytes received on agent connections and not yet released (decoded, committed, acked), over
// every connection together. Each session also bounds its own (ingest.maxInFlightBytes); this
// bounds the sum (ingest.maxInFlightBytesTotal), so memory does not grow with the number of
// connections. A session that takes bytes past the total stops reading its socket (TCP
// backpressure) and waits here; every waiter is woken once the total is back under half.

export class InFlightBudget {
  readonly max: number;
  private used = 0;
  /** Highest total seen (diagnostics and the regression test). */
  peak = 0;
  private readonly waiting = new Set<() => void>();

  constructor(max: number) {
    this.max = max;
  }

  get total(): number {
    return this.used;
  }

  /** Counts n bytes; true when the total is now over the bound (the caller pauses). */
  take(n: number): boolean {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return this.used > this.max;
  }

  /** Releases n bytes; wakes every waiter once the total is at or under half the bound. */
  give(n: number): void {
    this.used -= n;
    if (this.used > this.max / 2 || this.waiting.size === 0) return;
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const wake of woken) wake();
  }

  /** True when the total is low enough for a paused session to read again. */
  get roomy(): boolean {
    return this.used <= this.max / 2;
  }

  /** Calls wake (once) when the total falls back under half; returns a function that cancels it. */
  whenRoomy(wake: () => void): () => void {
    this.waiting.add(wake);
    return () => this.waiting.delete(wake);
  }
}
