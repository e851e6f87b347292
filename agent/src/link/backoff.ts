// Reconnect delays: exponential with "equal jitter" (half fixed, half random) so a school's
// worth of agents does not reconnect in lockstep after a collector restart.
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const r = (options.random ?? Math.random)();
  return Math.round(base / 2 + (base / 2) * r);
}
