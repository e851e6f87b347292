// Rate limit for captures: the same term in the same window within the policy's
// repeatSuppressSeconds gives one capture; later sightings are counted and the count travels
// on the next capture of that term and window (FlaggedActivity.repeat_count).

export interface RepeatDecision {
  /** Take a capture and emit an event now. */
  capture: boolean;
  /** Sightings suppressed since the last capture of this key (sent with this capture). */
  suppressedSince: number;
}

/** Bounded so a flood of distinct titles cannot grow memory without limit. */
const MAX_KEYS = 2_000;

export class RepeatSuppressor {
  private readonly entries = new Map<string, { lastCaptureAt: number; suppressed: number }>();

  /** Pure bookkeeping; `now` in ms and `windowMs` come from the caller (policy, clock). */
  decide(key: string, now: number, windowMs: number): RepeatDecision {
    const e = this.entries.get(key);
    if (e && now - e.lastCaptureAt < windowMs) {
      e.suppressed++;
      return { capture: false, suppressedSince: e.suppressed };
    }
    const suppressedSince = e?.suppressed ?? 0;
    this.entries.delete(key); // re-insert: Map order is then least recently captured first
    this.entries.set(key, { lastCaptureAt: now, suppressed: 0 });
    if (this.entries.size > MAX_KEYS) this.prune(now, windowMs);
    return { capture: true, suppressedSince };
  }

  /** How many sightings of `key` are waiting to be reported (status, tests). */
  pending(key: string): number {
    return this.entries.get(key)?.suppressed ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(now: number, windowMs: number): void {
    for (const [k, v] of this.entries) if (now - v.lastCaptureAt >= windowMs) this.entries.delete(k);
    while (this.entries.size > MAX_KEYS) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** One key per term and window (app, title, URL): a different page with the same word is a new capture. */
export function repeatKey(
  term: string,
  category: string,
  window: { app: string; title: string; url: string },
): string {
  return JSON.stringify([term, category, window.app, window.title, window.url]);
}
