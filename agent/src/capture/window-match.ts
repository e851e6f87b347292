// Matches one active window (title and URL) and picks what the alert is about. Pure apart from
// the matcher it is handed.
import { extractSearchQuery, type KeywordMatch, type Matcher } from '@custodian/keywords';
import type { ActiveWindowInfo } from '../core/contracts.ts';
import { contextSnippet, MAX_CONTEXT } from './context-snippet.ts';

export interface WindowFlag {
  match: KeywordMatch;
  source: 'title' | 'url';
  /** ≤ ~100 characters around the match; for a search URL, the decoded query. */
  context: string;
  /** Every match at or above the minimum severity, for the log line (terms only). */
  all: KeywordMatch[];
}

/**
 * The flag for this window, or undefined when nothing reaches `minSeverity`. Title and URL are
 * matched as one text (so an educational cue in either counts for both), matches are split back
 * to their source with source-relative offsets, and the highest severity wins (then the longer term).
 */
export function matchWindow(
  matcher: Matcher,
  window: ActiveWindowInfo,
  minSeverity: number,
): WindowFlag | undefined {
  return flagWindow(matcher.match(windowText(window)), window, minSeverity);
}

/** The one text a window is matched as: its title, and its URL on the next line. */
export function windowText(window: Pick<ActiveWindowInfo, 'title' | 'url'>): string {
  return window.url ? `${window.title}\n${window.url}` : window.title;
}

/** matchWindow() given the matches of windowText(window) (found elsewhere: the keyword worker). */
export function flagWindow(
  matches: readonly KeywordMatch[],
  window: ActiveWindowInfo,
  minSeverity: number,
): WindowFlag | undefined {
  const cut = window.title.length;
  const found: { m: KeywordMatch; source: 'title' | 'url' }[] = [];
  for (const m of matches) {
    if (m.end <= cut) found.push({ m, source: 'title' });
    else if (m.start > cut)
      found.push({ m: { ...m, start: m.start - cut - 1, end: m.end - cut - 1 }, source: 'url' });
    // a phrase running from the end of the title into the URL is an artefact of joining them: dropped
  }
  const eligible = found.filter((x) => x.m.severity >= minSeverity);
  if (eligible.length === 0) return undefined;
  eligible.sort((a, b) => b.m.severity - a.m.severity || b.m.end - b.m.start - (a.m.end - a.m.start));
  const best = eligible[0]!;
  return {
    match: best.m,
    source: best.source,
    context:
      best.source === 'url'
        ? urlContext(window.url, best.m)
        : contextSnippet(window.title, best.m.start, best.m.end),
    all: eligible.map((x) => x.m),
  };
}

function urlContext(url: string, m: KeywordMatch): string {
  const q = extractSearchQuery(url);
  if (q && m.start >= q.start && m.end <= q.end) {
    const line = `search: ${q.query}`;
    return line.length <= MAX_CONTEXT ? line : `${line.slice(0, MAX_CONTEXT - 1)}…`;
  }
  return contextSnippet(url, m.start, m.end);
}
