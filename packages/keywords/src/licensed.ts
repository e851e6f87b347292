// Licensed keyword lists (an IWF member list, a local authority's list): imported with provenance
// on every term, kept in clear only on the collector (DSL only), and shipped to agents as keyed
// hashes: HMAC-SHA256 with a per-deployment key over the normalised token n-gram of each term.
// An agent holding the hashed list and the key can test text against it, but cannot list the
// terms (a dictionary attack needs the key, and then only confirms guesses).
import { createHmac } from 'node:crypto';
import { CATEGORIES } from './library.ts';
import type { KeywordMatch } from './matcher.ts';
import { normalise } from './normalise.ts';

export interface LicensedTerm {
  term: string;
  category: string;
  severity: number;
  /** Provenance, on every term. */
  source: string;
  licence: string;
  importedBy: string;
  importedAt: string;
}

export interface ImportOptions {
  source: string;
  licence: string;
  importedBy: string;
  importedAt: string;
  /** For lines that do not name one. */
  defaultCategory?: string;
  defaultSeverity?: number;
}

/**
 * Parses an import file: one term per line, optionally `term<TAB>category<TAB>severity`; `#` lines
 * and blank lines skipped. Throws with the line number on a bad category or severity.
 */
export function parseLicensedImport(text: string, o: ImportOptions): LicensedTerm[] {
  for (const [k, v] of [
    ['source', o.source],
    ['licence', o.licence],
    ['importedBy', o.importedBy],
  ] as const)
    if (typeof v !== 'string' || v.trim() === '') throw new TypeError(`${k} is required for a licensed list`);
  const out: LicensedTerm[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const [term = '', category = o.defaultCategory ?? '', sev = String(o.defaultSeverity ?? 4)] = raw
      .split('\t')
      .map((c) => c.trim());
    if (!(CATEGORIES as readonly string[]).includes(category))
      throw new TypeError(`line ${i + 1}: unknown category ${JSON.stringify(category)}`);
    const severity = Number(sev);
    if (!Number.isInteger(severity) || severity < 1 || severity > 5)
      throw new TypeError(`line ${i + 1}: severity must be 1-5`);
    if (ngramOf(term) === '') throw new TypeError(`line ${i + 1}: no letters or digits to match`);
    out.push({
      term,
      category,
      severity,
      source: o.source,
      licence: o.licence,
      importedBy: o.importedBy,
      importedAt: o.importedAt,
    });
  });
  return out;
}

/** The normalised token n-gram a term is hashed as (collapsed letters, single spaces). */
function ngramOf(term: string): string {
  return normalise(term.replace(/\*$/, '')).text.trim();
}

/** What agents receive: no term in clear, only keyed hashes and what a match reports. */
export interface HashedList {
  format: 'custodian-hashed-keywords-1';
  /** Source and licence names (not terms), so an alert can say where its term came from. */
  sources: { source: string; licence: string }[];
  /** n-gram lengths present, in tokens. */
  lengths: number[];
  /** HMAC-SHA256 (hex, first 16 bytes) of each single token that occurs in any term. */
  tokens: string[];
  entries: { h: string; category: string; severity: number; source: number; ref: number }[];
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex').slice(0, 32);
}

export function hashLicensedList(terms: readonly LicensedTerm[], key: Buffer): HashedList {
  if (key.length < 32) throw new TypeError('the deployment key must be at least 32 bytes');
  const sources: { source: string; licence: string }[] = [];
  const lengths = new Set<number>();
  const tokens = new Set<string>();
  const entries = terms.map((t, ref) => {
    let source = sources.findIndex((s) => s.source === t.source && s.licence === t.licence);
    if (source === -1) source = sources.push({ source: t.source, licence: t.licence }) - 1;
    const gram = ngramOf(t.term);
    const words = gram.split(' ');
    lengths.add(words.length);
    for (const w of words) tokens.add(mac(key, w));
    return { h: mac(key, gram), category: t.category, severity: t.severity, source, ref };
  });
  return {
    format: 'custodian-hashed-keywords-1',
    sources,
    lengths: [...lengths].sort((a, b) => a - b),
    tokens: [...tokens].sort(),
    entries,
  };
}

/** At most this many tokens' membership is remembered (texts repeat the same words). */
const TOKEN_CACHE_LIMIT = 50_000;

export interface HashedMatcher {
  /** Matches: `term` is `licensed:<source>#<ref>` (never the clear term), offsets in the original text. */
  match(text: string): KeywordMatch[];
}

/**
 * Matches text against a hashed list: each token is hashed once (then remembered), and only
 * windows whose every token is in the list's token set have their n-gram hashed (also
 * remembered) and looked up. The memory holds words seen on the device, as the matcher's inputs
 * do; it is never written anywhere.
 */
export function createHashedMatcher(list: HashedList, key: Buffer): HashedMatcher {
  if (list.format !== 'custodian-hashed-keywords-1') throw new TypeError('not a hashed keyword list');
  const tokenSet = new Set(list.tokens);
  const byHash = new Map(list.entries.map((e) => [e.h, e]));
  const known = new Map<string, boolean>();
  // n-grams already hashed, and what they found (null: nothing); bounded like `known`
  const grams = new Map<string, HashedList['entries'][number] | null>();
  const inList = (token: string): boolean => {
    let yes = known.get(token);
    if (yes === undefined) {
      yes = tokenSet.has(mac(key, token));
      if (known.size >= TOKEN_CACHE_LIMIT) known.clear();
      known.set(token, yes);
    }
    return yes;
  };
  return {
    match(text: string): KeywordMatch[] {
      const n = normalise(text);
      const words: { s: number; e: number; w: string }[] = [];
      for (let i = 0; i < n.text.length; ) {
        let j = n.text.indexOf(' ', i);
        if (j === -1) j = n.text.length;
        if (j > i) words.push({ s: i, e: j, w: n.text.slice(i, j) });
        i = j + 1;
      }
      const member = words.map((x) => inList(x.w));
      const out: KeywordMatch[] = [];
      for (let a = 0; a < words.length; a++) {
        if (!member[a]) continue;
        for (const len of list.lengths) {
          const b = a + len;
          if (b > words.length) break;
          let all = true;
          for (let k = a + 1; k < b; k++) if (!member[k]) all = false;
          if (!all) continue;
          const gram = words
            .slice(a, b)
            .map((x) => x.w)
            .join(' ');
          let hit = grams.get(gram);
          if (hit === undefined) {
            hit = byHash.get(mac(key, gram)) ?? null;
            if (grams.size >= TOKEN_CACHE_LIMIT) grams.clear();
            grams.set(gram, hit);
          }
          if (!hit) continue;
          out.push({
            term: `licensed:${list.sources[hit.source]?.source ?? '?'}#${hit.ref}`,
            category: hit.category,
            severity: hit.severity,
            start: n.starts[words[a]!.s]!,
            end: n.ends[words[b - 1]!.e - 1]!,
            educational: false,
          });
        }
      }
      return out;
    },
  };
}
