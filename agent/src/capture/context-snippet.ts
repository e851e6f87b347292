// The alert's context line: at most ~100 characters of the source text around the match, so the
// DSL sees what was typed without the agent shipping whole pages of text.

export const MAX_CONTEXT = 100;

/**
 * Cuts [start, end) out of `text` with as much surrounding text as fits, centred on the match,
 * "…" marking cuts; at most `max` characters. Pure; never splits a surrogate pair.
 */
export function contextSnippet(text: string, start: number, end: number, max = MAX_CONTEXT): string {
  if (start < 0 || end > text.length || start > end) throw new RangeError('match outside the text');
  if (text.length <= max) return text;
  const budget = max - 2; // room for a "…" on each side
  const matchLen = end - start;
  if (matchLen >= budget) return `${start > 0 ? '…' : ''}${safeSlice(text, start, start + budget)}…`;
  const extra = budget - matchLen;
  let from = Math.max(0, start - Math.ceil(extra / 2));
  const to = Math.min(text.length, from + matchLen + extra);
  from = Math.max(0, to - matchLen - extra);
  return `${from > 0 ? '…' : ''}${safeSlice(text, from, to)}${to < text.length ? '…' : ''}`;
}

function safeSlice(text: string, from: number, to: number): string {
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from++;
  if (to < text.length && isLowSurrogate(text.charCodeAt(to))) to--;
  return text.slice(from, to);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
