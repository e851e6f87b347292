// When to OCR the active window (pure, STYLE.md: decide…() plus the thin shell screen-text.ts).
// A window is looked at (its image taken and hashed) at most once per screenScanSeconds, focus
// changes included, so switching back and forth costs nothing; it is read (OCR) only when its
// image changed since it was last looked at, and only while the hour's OCR budget lasts.
// What is read is what is new: the pixel rows that were nowhere in the window's last image (a
// line typed, a chat message, a terminal that scrolled one line) with the rows around them, so
// a phrase that runs on from the line above is read whole; most of the window changed (another
// page) → all of it. OCR cost grows with the area read, so this is most of the CPU saved.
import type { RowBand } from '../platform/gray-image.ts';

export interface WindowScan {
  id: string;
  /** SHA-256 of its image when last looked at. */
  hash: string;
  /** Hash of each pixel row of that image (gray-image.ts rowHashes); absent: read it whole. */
  rows?: Uint32Array;
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

/** Rows read above a new row (a phrase may start on the lines above) and below it. */
export const ROWS_ABOVE = 48;
export const ROWS_BELOW = 16;
/** When the new rows with their margins cover this much of the window, it is read whole. */
export const WHOLE_FRACTION = 0.6;

/** 'seen': the image changed but every row of it was in the last one (rearranged, scrolled back). */
export type ScanDecision = 'read' | 'unchanged' | 'seen' | 'over-budget';

/**
 * The rows of `next` to read, given the row hashes of the window's last image (pure): every row
 * that was nowhere in `prev`, with ROWS_ABOVE rows above and ROWS_BELOW below it, merged. Undefined
 * means the whole image (nothing to compare with, or most of it is new); [] means nothing is new.
 */
export function changedBands(prev: Uint32Array | undefined, next: Uint32Array): RowBand[] | undefined {
  if (!prev) return undefined;
  const seen = new Set(prev);
  const bands: [number, number][] = [];
  for (let y = 0; y < next.length; y++) {
    if (seen.has(next[y] as number)) continue;
    const top = Math.max(0, y - ROWS_ABOVE);
    const bottom = Math.min(next.length, y + 1 + ROWS_BELOW);
    const last = bands.at(-1);
    if (last && top <= last[1]) last[1] = Math.max(last[1], bottom);
    else bands.push([top, bottom]);
  }
  const rows = bands.reduce((n, [t, b]) => n + (b - t), 0);
  return rows >= WHOLE_FRACTION * next.length ? undefined : bands;
}

/** True when the window is due to be looked at (never, or at least intervalMs ago). */
export function dueForCheck(state: ScanState, windowId: string, now: number, intervalMs: number): boolean {
  const w = state.windows.find((x) => x.id === windowId);
  return !w || now - w.checkedAt >= intervalMs - SLACK_MS;
}

/** What to do with the window's image, looked at `now` (the time the scan began). */
export function decideScan(
  state: ScanState,
  image: { windowId: string; hash: string; rows?: Uint32Array },
  now: number,
  budgetMs: number,
): { decision: ScanDecision; state: ScanState; bands?: RowBand[] } {
  const hour = now - state.hourStart >= HOUR_MS ? { hourStart: now, spentMs: 0 } : state;
  const last = state.windows.find((x) => x.id === image.windowId);
  const windows = [
    ...state.windows.filter((x) => x.id !== image.windowId),
    { id: image.windowId, hash: image.hash, ...(image.rows ? { rows: image.rows } : {}), checkedAt: now },
  ].slice(-MAX_WINDOWS);
  const next: ScanState = { windows, hourStart: hour.hourStart, spentMs: hour.spentMs };
  if (last?.hash === image.hash) return { decision: 'unchanged', state: next };
  const bands = image.rows && last?.rows ? changedBands(last.rows, image.rows) : undefined;
  if (bands?.length === 0) return { decision: 'seen', state: next };
  if (next.spentMs >= budgetMs) {
    // Not read: keep the old hash so the change is still seen once the budget allows.
    const keep = last
      ? windows.map((x) => (x.id === last.id ? { ...last, checkedAt: now } : x))
      : windows.slice(0, -1);
    return { decision: 'over-budget', state: { ...next, windows: keep } };
  }
  return { decision: 'read', state: next, ...(bands ? { bands } : {}) };
}

/** The state after a read that took `ms`. */
export function spent(state: ScanState, ms: number): ScanState {
  return { ...state, spentMs: state.spentMs + ms };
}
