// When to OCR the active window (pure, STYLE.md: decide…() plus the thin shell screen-text.ts).
// A window is looked at (its image taken and hashed) at most once per screenScanSeconds, focus
// changes included, so switching back and forth costs nothing; it is read (OCR) only when its
// image changed since it was last looked at, and only while the hour's OCR budget lasts.

export interface WindowScan {
  id: string;
  /** SHA-256 of its image when last looked at. */
  hash: string;
  checkedAt: number;
}

export interface ScanState {
  /** Windows looked at, least recent first (at most MAX_WINDOWS). */
  windows: readonly WindowScan[];
  /** Start of the current budget hour, and OCR milliseconds spent in it. */
  hourStart: number;
  spentMs: number;
}

export const NO_SCAN: ScanState = { windows: [], hourStart: 0, spentMs: 0 };
export const MAX_WINDOWS = 32;
const HOUR_MS = 3_600_000;
/** Timers are not exact: a periodic scan a little early still counts as due. */
const SLACK_MS = 1_000;

export type ScanDecision = 'read' | 'unchanged' | 'over-budget';

/** True when the window is due to be looked at (never, or at least intervalMs ago). */
export function dueForCheck(state: ScanState, windowId: string, now: number, intervalMs: number): boolean {
  const w = state.windows.find((x) => x.id === windowId);
  return !w || now - w.checkedAt >= intervalMs - SLACK_MS;
}

/** What to do with the window's image, looked at `now` (the time the scan began). */
export function decideScan(
  state: ScanState,
  image: { windowId: string; hash: string },
  now: number,
  budgetMs: number,
): { decision: ScanDecision; state: ScanState } {
  const hour = now - state.hourStart >= HOUR_MS ? { hourStart: now, spentMs: 0 } : state;
  const last = state.windows.find((x) => x.id === image.windowId);
  const windows = [
    ...state.windows.filter((x) => x.id !== image.windowId),
    { id: image.windowId, hash: image.hash, checkedAt: now },
  ].slice(-MAX_WINDOWS);
  const next: ScanState = { windows, hourStart: hour.hourStart, spentMs: hour.spentMs };
  if (last?.hash === image.hash) return { decision: 'unchanged', state: next };
  if (next.spentMs >= budgetMs) {
    // Not read: keep the old hash so the change is still seen once the budget allows.
    const keep = last
      ? windows.map((x) => (x.id === last.id ? { ...x, hash: last.hash } : x))
      : windows.slice(0, -1);
    return { decision: 'over-budget', state: { ...next, windows: keep } };
  }
  return { decision: 'read', state: next };
}

/** The state after a read that took `ms`. */
export function spent(state: ScanState, ms: number): ScanState {
  return { ...state, spentMs: state.spentMs + ms };
}
