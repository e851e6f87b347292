// Matches one text unit (page text, typed text, a tab's URL) and picks what the alert is about.
// Pure apart from the matcher it is handed; the same choice rules as window-match.ts.
import type { KeywordMatch, Matcher } from '@custodian/keywords';
import { contextSnippet } from './context-snippet.ts';
import type { TextOrigin, TextUnit } from './text-source.ts';
import { flagWindow, windowText } from './window-match.ts';

export interface TextFlag {
  match: KeywordMatch;
  source: TextOrigin;
  /** ≤ ~100 characters around the match; for a search URL, the decoded query. */
  context: string;
}

/** The flag for this unit, or undefined when nothing reaches `minSeverity`. */
export function matchTextUnit(matcher: Matcher, unit: TextUnit, minSeverity: number): TextFlag | undefined {
  return flagTextUnit(matcher.match(unitText(unit)), unit, minSeverity);
}

/** Window fields of a title or URL unit, as the window matcher sees them. */
function asWindow(unit: TextUnit) {
  return unit.origin === 'url'
    ? { app: unit.window.app, title: '', url: unit.text, pid: 0 }
    : { app: unit.window.app, title: unit.text, url: '', pid: 0 };
}

/** The one text a unit is matched as (a URL or title the way window-match.ts joins them). */
export function unitText(unit: TextUnit): string {
  return unit.origin === 'url' || unit.origin === 'title' ? windowText(asWindow(unit)) : unit.text;
}

/** matchTextUnit() given the matches of unitText(unit) (found elsewhere: the keyword worker). */
export function flagTextUnit(
  matches: readonly KeywordMatch[],
  unit: TextUnit,
  minSeverity: number,
): TextFlag | undefined {
  if (unit.origin === 'url' || unit.origin === 'title') {
    // A URL alone: the window matcher's URL rules (search query as the context).
    const f = flagWindow(matches, asWindow(unit), minSeverity);
    return f ? { match: f.match, source: unit.origin, context: f.context } : undefined;
  }
  const eligible = matches.filter((m) => m.severity >= minSeverity);
  if (eligible.length === 0) return undefined;
  eligible.sort((a, b) => b.severity - a.severity || b.end - b.start - (a.end - a.start));
  const best = eligible[0]!;
  return { match: best, source: unit.origin, context: contextSnippet(unit.text, best.start, best.end) };
}
