// When to OCR the active window (pure, STYLE.md: decide…() plus the thin shell screen-text.ts):
// only when its image changed since the last read of the same window (switching back and forth
// between two unchanged windows reads neither again), and only while the hour's OCR budget lasts.

export interface ScanState {
  /** Image hash at the last read, per window, most recently seen last (at most MAX_WINDOWS). */
  hashes: readonly (readonly [windowId: string, hash: string])[];
  /** Start of the current budget hour, and OCR milliseconds spent in it. */
  hourStart: number;
  spentMs: number;
}

export const NO_SCAN: ScanState = { hashes: [], hourStart: 0, spentMs: 0 };
/** Windows whose last image is remembered (a hash each). */
export const MAX_WINDOWS = 32;
const HOUR_MS = 3_600_000;

export type ScanDecision = 'read' | 'unchanged' | 'over-budget';

export function decideScan(
  state: ScanState,
  image: { windowId: string; hash: string },
  now: number,
  budgetMs: number,
): { decision: ScanDecision; state: ScanState } {
  const newHour = now - state.hourStart >= HOUR_MS;
  const base: ScanState = newHour ? { ...state, hourStart: now, spentMs: 0 } : state;
  const last = base.hashes.find(([id]) => id === image.windowId)?.[1];
  if (last === image.hash) return { decision: 'unchanged', state: base };
  if (base.spentMs >= budgetMs) return { decision: 'over-budget', state: base };
  const hashes = [
    ...base.hashes.filter(([id]) => id !== image.windowId),
    [image.windowId, image.hash] as const,
  ];
  return { decision: 'read', state: { ...base, hashes: hashes.slice(-MAX_WINDOWS) } };
}

/** The state after a read that took `ms`. */
export function spent(state: ScanState, ms: number): ScanState {
  return { ...state, spentMs: state.spentMs + ms };
}
