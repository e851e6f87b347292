// Plain counters bumped on the hot paths (ingest commits, sign-ins, retention). Incrementing a
// number costs nothing and allocates nothing; the Prometheus registry (metrics.ts) reads them
// only when scraped. One object per app, so two collectors in one test process never mix.

export interface MetricCounts {
  /** Batches whose commit resolved (each acked to its agent). */
  ingestBatches: number;
  /** Events durably stored (new events only). */
  ingestEvents: number;
  /** Events received again and not stored (already held, repeated in a batch, or an alert's replay). */
  ingestDuplicates: number;
  /** Sign-ins refused for a wrong username or password. */
  loginFailures: number;
  /** Sign-ins refused 429 because of earlier failures (the login throttle). */
  loginThrottled: number;
  /** Sign-ins refused 429 because too many password checks were in hand (the check gate). */
  loginBusy: number;
  retentionRuns: number;
  retentionFailures: number;
  /** Notifications (email, webhook) taken by their endpoint. */
  notifySent: number;
  /** Delivery attempts that failed (each is retried until the last). */
  notifyFailedAttempts: number;
  /** Notifications given up after their last attempt. */
  notifyGivenUp: number;
}

export function newCounts(): MetricCounts {
  return {
    ingestBatches: 0,
    ingestEvents: 0,
    ingestDuplicates: 0,
    loginFailures: 0,
    loginThrottled: 0,
    loginBusy: 0,
    retentionRuns: 0,
    retentionFailures: 0,
    notifySent: 0,
    notifyFailedAttempts: 0,
    notifyGivenUp: 0,
  };
}
