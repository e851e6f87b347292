// Bounds on what one event may hold (issue 11 §10). Device text is attacker-controlled: a pupil
// can give a window a multi-megabyte title. Every string is cut at emit time to the length the
// collector stores anyway (MAX_STRING_CHARS), and an event whose encoding would still not fit
// in one frame is replaced by a Gap: stored as-is it would never be sent, and it would block
// every event behind it (the link sends in seq order).
import { MAX_FRAME_BYTES, MAX_STRING_CHARS } from '@custodian/protocol';
import type { EventPayload } from '../core/contracts.ts';

/**
 * Largest encoded event the outbox keeps: a batch frame of one event adds the stream id and a
 * few tag/length bytes; 1 KiB of margin covers them with room to spare.
 */
export const MAX_EVENT_BYTES = MAX_FRAME_BYTES - 1024;

/** Cuts a string to `max` UTF-16 units without splitting a surrogate pair. */
export function cutString(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return s.slice(0, end);
}

/**
 * A copy of `payload` with every string (at any depth, in arrays too) at most
 * MAX_STRING_CHARS long; the number of strings cut is returned beside it. Bytes (Uint8Array)
 * and numbers are kept as they are.
 */
export function capStrings(
  payload: EventPayload,
  max = MAX_STRING_CHARS,
): { payload: EventPayload; cut: number } {
  let cut = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (v.length <= max) return v;
      cut++;
      return cutString(v, max);
    }
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (Array.isArray(v)) return v.map(walk);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  const capped = walk(payload) as EventPayload;
  return { payload: capped, cut };
}
