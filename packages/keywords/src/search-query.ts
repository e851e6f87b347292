// Search-engine query extraction: what a pupil typed into Google, Bing, YouTube, DuckDuckGo,
// Yahoo, TikTok... The matcher already scans the whole decoded URL; this gives the capture
// component the query itself for the alert's context line.

/** Query parameters that carry the typed search on common engines and sites. */
export const SEARCH_PARAMS = [
  'q',
  'p',
  'query',
  'search_query',
  'search',
  'text',
  'wd',
  'k',
  'term',
  'keyword',
  'searchTerm',
];

export interface SearchQuery {
  /** Which parameter held it ("q", "search_query", ...). */
  param: string;
  /** The decoded query text. */
  query: string;
  /** Offsets of the raw (still encoded) value in the original URL. */
  start: number;
  end: number;
}

/** Returns the search query in a URL, or null when it has none. Never throws on malformed input. */
export function extractSearchQuery(url: string): SearchQuery | null {
  const qIndex = url.indexOf('?');
  if (qIndex === -1) return null;
  const hashIndex = url.indexOf('#', qIndex);
  const queryEnd = hashIndex === -1 ? url.length : hashIndex;
  let pos = qIndex + 1;
  while (pos <= queryEnd) {
    let amp = url.indexOf('&', pos);
    if (amp === -1 || amp > queryEnd) amp = queryEnd;
    const pair = url.slice(pos, amp);
    const eq = pair.indexOf('=');
    if (eq > 0) {
      const key = pair.slice(0, eq);
      if (SEARCH_PARAMS.includes(key)) {
        const raw = pair.slice(eq + 1);
        const query = safeDecode(raw.replace(/\+/g, ' ')).trim();
        if (query !== '') return { param: key, query, start: pos + eq + 1, end: amp };
      }
    }
    pos = amp + 1;
  }
  return null;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // malformed escapes (a lone "%"): decode what can be decoded, keep the rest as typed
    return s.replace(/(%[0-9a-fA-F]{2})+/g, (m) => {
      try {
        return decodeURIComponent(m);
      } catch {
        return m;
      }
    });
  }
}
