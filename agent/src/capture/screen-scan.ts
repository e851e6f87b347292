// When to OCR the active window (pure, STYLE.md: decide…() plus the thin shell screen-text.ts):
// only when its image changed since the last read of the same window, and only while the hour's
// OCR budget lasts.

export interface ScanState {
  /** Window and image hash of the last image read (or found unchanged). */
  windowId: string;
  hash: string;
  /** Start of the current budget hour, and OCR milliseconds spent in it. */
  hourStart: number;
  spentMs: number;
}

export const NO_SCAN: ScanState = { windowId: '', hash: '', hourStart: 0, spentMs: 0 };
const HOUR_MS = 3_600_000;

export type ScanDecision = 'read' | 'unchanged' | 'over-budget';

export function decideScan(
  state: ScanState,
  image: { windowId: string; hash: string },
  now: number,
  budgetMs: number,
): { decision: ScanDecision; state: ScanState } {
  const hour = now - state.hourStart >= HOUR_MS ? { hourStart: now, spentMs: 0 } : state;
  const base = { ...state, hourStart: hour.hourStart, spentMs: hour.spentMs };
  if (image.windowId === state.windowId && image.hash === state.hash)
    return { decision: 'unchanged', state: base };
  if (base.spentMs >= budgetMs) return { decision: 'over-budget', state: base };
  return { decision: 'read', state: { ...base, windowId: image.windowId, hash: image.hash } };
}

/** The state after a read that took `ms`. */
export function spent(state: ScanState, ms: number): ScanState {
  return { ...state, spentMs: state.spentMs + ms };
}
