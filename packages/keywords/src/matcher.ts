// createMatcher: compiles the library (filtered by age band and categories, plus a school's custom
// terms) into one Aho–Corasick automaton over normalised text, then reports whole-word matches
// with offsets in the ORIGINAL text.
import { type Automaton, buildAutomaton } from './aho-corasick.ts';
import { languageVariants } from './language-variants.ts';
import { type AgeBand, type Library, loadLibrary, type TermEntry } from './library.ts';
import { normalise, normaliseAndScan, type ScratchNormalised } from './normalise.ts';
import { checkRules, compileRules, completeRules, type RuleHits } from './rule-check.ts';
import type { RuleEntry } from './rules.ts';

export interface KeywordMatch {
  /** The library term (as written in the data file, or the custom term). */
  term: string;
  category: string;
  /** 1-5, already lowered when `educational` is true (unless the term is marked keep). */
  severity: number;
  /** Offsets in the original text (UTF-16 indices, end exclusive). */
  start: number;
  end: number;
  /** The text shows an evident educational context (revision page, PSHE lesson, set text). */
  educational: boolean;
  /** Only on rule matches: the rule's id. `term` then holds the rule's description. */
  rule?: string;
  /** Only on rule matches: what the rule means, for the DSL (also in `term`, so a v1 display shows it). */
  description?: string;
  /** Only on rule matches: the rule's pattern as written in the library (for audits). */
  pattern?: string;
  /** Only for terms and rules of a language other than English: its code (`pl`, `ur-latn`, ...). */
  language?: string;
}

export interface CustomTermInput {
  term: string;
  category: string;
  severity: number;
}

export interface MatcherOptions {
  ageBand: AgeBand;
  /** School-defined terms from policy (capture.customTerms); apply to every age band. */
  customTerms?: readonly CustomTermInput[];
  /** Only these categories (empty or absent: all). Custom terms are always kept. */
  categories?: readonly string[];
  /** A library other than the built-in one (tests). */
  library?: Library;
}

export interface Matcher {
  match(text: string): KeywordMatch[];
  /** Number of library terms compiled in (after filtering), for status and tests. */
  readonly termCount: number;
  /** Number of library rules compiled in (after filtering). */
  readonly ruleCount: number;
}

/** How far an educational context lowers severity (never below 1, never for `keep` terms). */
export const EDUCATIONAL_SEVERITY_DROP = 2;

/** A multi-word phrase also matches written as one word ("#killmyself") when at least this long. */
const COMPACT_MIN_LENGTH = 9;

const KIND_TERM = 0;
const KIND_EXCEPTION = 1;
const KIND_CUE = 2;
const KIND_ALLOW = 3;
/** `~phrase` in a term's exceptions: the phrase anywhere in the text suppresses the term ("~hockey" for "body check"). */
const KIND_CONTEXT_EXCEPTION = 4;
/** A word group of a rule (entry = anchor id, see rule-check.ts). */
const KIND_ANCHOR = 5;
/** A negation cue, for rules marked @neg. */
const KIND_NEG = 6;
/** A rule's `unless` phrase (entry = rule index). */
const KIND_UNLESS = 7;
/**
 * The scan's reports are replayed in three groups. Every text needs the first (a term or a rule
 * may match); the others only qualify a match, so most texts stop after the first replay.
 * Terms: exceptions, context exceptions, allow phrases and cues (the cues also rules, and masked
 * words); rules only: negations and `unless` phrases (the most frequent reports of all).
 */
const GROUP_KINDS = [
  (1 << KIND_TERM) | (1 << KIND_ANCHOR),
  (1 << KIND_EXCEPTION) | (1 << KIND_CONTEXT_EXCEPTION) | (1 << KIND_ALLOW) | (1 << KIND_CUE),
  (1 << KIND_NEG) | (1 << KIND_UNLESS),
];

interface Pattern {
  kind: number;
  /** Collapsed normalised form. */
  text: string;
  runs: Uint8Array;
  /** Prefix pattern (`term*`): no word boundary needed at the end. */
  prefix: boolean;
  /** Index into `entries` (terms and exceptions); -1 otherwise. */
  entry: number;
}

/**
 * The patterns as the matcher keeps them after compiling: flat arrays instead of ~3,000 small
 * objects (the agent keeps one matcher for its lifetime). For pattern i, its run lengths are
 * runs[runStart[i]..runStart[i+1]), and letter[k] says whether that collapsed character is a-z.
 */
interface PatternTable {
  kind: Uint8Array;
  prefix: Uint8Array;
  entry: Int32Array;
  runStart: Int32Array;
  runs: Uint8Array;
  letter: Uint8Array;
}

function packPatterns(patterns: readonly Pattern[]): PatternTable {
  const runStart = new Int32Array(patterns.length + 1);
  patterns.forEach((p, i) => {
    runStart[i + 1] = runStart[i]! + p.runs.length;
  });
  const t: PatternTable = {
    kind: Uint8Array.from(patterns, (p) => p.kind),
    prefix: Uint8Array.from(patterns, (p) => (p.prefix ? 1 : 0)),
    entry: Int32Array.from(patterns, (p) => p.entry),
    runStart,
    runs: new Uint8Array(runStart[patterns.length]!),
    letter: new Uint8Array(runStart[patterns.length]!),
  };
  patterns.forEach((p, i) => {
    const at = runStart[i]!;
    t.runs.set(p.runs, at);
    for (let k = 0; k < p.runs.length; k++) {
      const c = p.text.charCodeAt(k);
      t.letter[at + k] = c >= 97 && c <= 122 ? 1 : 0;
    }
  });
  return t;
}

/** What a match reports about its library entry (the entry objects themselves are not kept). */
interface EntryTable {
  term: string[];
  category: string[];
  severity: Uint8Array;
  /** 1 when an educational context lowers the severity. */
  lowers: Uint8Array;
  language: string[];
}

function compile(raw: string): { text: string; runs: Uint8Array; prefix: boolean } {
  const prefix = raw.endsWith('*');
  const n = normalise(prefix ? raw.slice(0, -1) : raw);
  return { text: n.text, runs: n.runs, prefix };
}

export function createMatcher(options: MatcherOptions): Matcher {
  if (!['primary', 'secondary', 'staff'].includes(options.ageBand))
    throw new TypeError(
      `ageBand must be primary, secondary or staff (got ${JSON.stringify(options.ageBand)})`,
    );
  const lib = options.library ?? loadLibrary();
  const wanted = options.categories && options.categories.length > 0 ? new Set(options.categories) : null;

  const entryList: TermEntry[] = lib.terms.filter(
    (t) => t.bands.includes(options.ageBand) && (wanted === null || wanted.has(t.category)),
  );
  const libraryCount = entryList.length;
  for (const [i, c] of (options.customTerms ?? []).entries()) {
    if (typeof c.term !== 'string' || c.term.trim() === '')
      throw new TypeError(`customTerms[${i}].term must be non-empty text`);
    if (!Number.isInteger(c.severity) || c.severity < 1 || c.severity > 5)
      throw new TypeError(`customTerms[${i}].severity must be 1-5`);
    entryList.push({
      term: c.term.trim(),
      category: c.category || 'custom',
      severity: c.severity,
      bands: [options.ageBand],
      educational: 'lower',
      exceptions: [],
      notes: 'school custom term',
      source: `customTerms[${i}]`,
    });
  }

  const ruleList: RuleEntry[] = (lib.rules ?? []).filter(
    (r) => r.bands.includes(options.ageBand) && (wanted === null || wanted.has(r.category)),
  );

  const patterns: Pattern[] = [];
  const add = (kind: number, raw: string, entry: number, withCompact: boolean) => {
    const c = compile(raw);
    if (c.text === '' || c.text === ' ') {
      if (kind === KIND_TERM) throw new TypeError(`term "${raw}" has no letters or digits to match`);
      return;
    }
    patterns.push({ kind, ...c, entry });
    if (withCompact && c.text.includes(' ')) {
      const compact = compile(raw.replace(/[\s\-_.]+/g, ''));
      if (compact.text.length >= COMPACT_MIN_LENGTH) patterns.push({ kind, ...compact, entry });
    }
  };
  const addIn = (
    language: string | undefined,
    kind: number,
    raw: string,
    entry: number,
    compact: boolean,
  ) => {
    for (const v of languageVariants(language, raw)) add(kind, v, entry, compact);
  };
  entryList.forEach((e, i) => {
    addIn(e.language, KIND_TERM, e.term, i, true);
    for (const ex of e.exceptions)
      if (ex.startsWith('~')) add(KIND_CONTEXT_EXCEPTION, ex.slice(1), i, false);
      else add(KIND_EXCEPTION, ex, i, false);
  });
  const { compiled: rules, anchorPhrases } = compileRules(ruleList);
  const anchorLanguage = new Map<string, string>();
  for (const r of ruleList) for (const g of r.groups) for (const a of g) anchorLanguage.set(a, r.language);
  anchorPhrases.forEach((phrase, a) => {
    addIn(anchorLanguage.get(phrase), KIND_ANCHOR, phrase, a, false);
  });
  ruleList.forEach((r, ri) => {
    for (const u of r.unless) add(KIND_UNLESS, u, ri, false);
  });
  if (ruleList.some((r) => r.negatable))
    for (const cue of lib.negations ?? []) add(KIND_NEG, cue.phrase, -1, false);
  for (const cue of lib.educationalCues) add(KIND_CUE, cue.phrase, -1, false);
  for (const a of lib.allow) add(KIND_ALLOW, a.phrase, -1, false);
  // Word boundaries live in the automaton: every pattern starts with a space (and ends with one
  // unless it is a stem), and the text is scanned with a space on each side. Occurrences inside
  // words ("ass" in "class", "sex" in "Essex") then never even reach the callback.
  const automaton = buildAutomaton(patterns.map((p) => ` ${p.text}${p.prefix ? '' : ' '}`));
  const pt = packPatterns(patterns);
  patterns.length = 0;
  const reports = splitReports(automaton, pt.kind);
  const entries: EntryTable = {
    term: entryList.map((e) => e.term),
    category: entryList.map((e) => e.category),
    severity: Uint8Array.from(entryList, (e) => e.severity),
    lowers: Uint8Array.from(entryList, (e) => (e.educational === 'lower' ? 1 : 0)),
    language: entryList.map((e) => e.language ?? 'en'),
  };
  // Categories by number, for the per-text "farthest match so far" of each (no Map per text).
  const categoryIds = new Map<string, number>();
  const categoryId = (c: string): number => {
    let id = categoryIds.get(c);
    if (id === undefined) {
      id = categoryIds.size;
      categoryIds.set(c, id);
    }
    return id;
  };
  const entryCategory = Int32Array.from(entryList, (e) => categoryId(e.category));
  const ruleCategory = Int32Array.from(ruleList, (r) => categoryId(r.category));
  const reach = new Int32Array(categoryIds.size).fill(-1);
  // Only this phrase of the library is needed later (re-matching around masked words).
  const firstCue = lib.educationalCues[0]?.phrase ?? '';

  // Scan state, reused by every call (match is synchronous): allocating arrays, a Set and a
  // closure per window title was a large share of the cost of matching one.
  let hits: Hit[] = [];
  let covers: Hit[] = []; // exceptions (entry) and allow phrases (-1)
  const suppressed = new Set<number>(); // entries with a context exception present
  const ruleHits: RuleHits = { anchor: [], anchorCount: 0, neg: [], negCount: 0, unless: [], unlessCount: 0 };
  let educational = false;
  /** Set by matchOne: whether its text held a `*` (masked words). */
  let asterisk = false;
  let scanned: ScratchNormalised | null = null;
  // Reports, replayed from the scan's (state, end) pairs: padded [start, end) → unpadded core
  // [s, e) (the leading space sits where the core starts).
  /** Replays the reports of one group (see GROUP_KINDS) from the scan's (state, end) pairs. */
  const replay = (group: number, pairs: Int32Array, pairEnd: number): void => {
    const { at, list, length: plen } = reports;
    for (let k = 0; k < pairEnd; k += 2) {
      const h = at[pairs[k]!]!;
      const to = list[h + group]!;
      for (let j = group === 0 ? h + 3 : list[h + group - 1]!; j < to; j++) {
        const pi = list[j]!;
        const end = pairs[k + 1]!;
        if (group === 0) onFirst(pi, end - plen[pi]!, end);
        else onRest(pi, end - plen[pi]!, end);
      }
    }
  };
  const onFirst = (pi: number, start: number, end: number): void => {
    const kind = pt.kind[pi];
    const s = start;
    const e = pt.prefix[pi] === 1 ? end - 1 : end - 2;
    if (!runsAgree(scanned!, pt, pi, s)) return;
    if (kind === KIND_TERM) hits.push({ entry: pt.entry[pi]!, s, e });
    else {
      const a = ruleHits.anchor;
      a[ruleHits.anchorCount++] = pt.entry[pi]!;
      a[ruleHits.anchorCount++] = s;
      a[ruleHits.anchorCount++] = e;
    }
  };
  const onRest = (pi: number, start: number, end: number): void => {
    const kind = pt.kind[pi];
    const s = start;
    const e = pt.prefix[pi] === 1 ? end - 1 : end - 2;
    if (!runsAgree(scanned!, pt, pi, s)) return;
    const entry = pt.entry[pi]!;
    if (kind === KIND_NEG) ruleHits.neg[ruleHits.negCount++] = s;
    else if (kind === KIND_UNLESS) {
      const u = ruleHits.unless;
      u[ruleHits.unlessCount++] = entry;
      u[ruleHits.unlessCount++] = s;
      u[ruleHits.unlessCount++] = e;
    } else if (kind === KIND_CUE) educational = true;
    else if (kind === KIND_CONTEXT_EXCEPTION) suppressed.add(entry);
    else covers.push({ entry: kind === KIND_ALLOW ? -1 : entry, s, e });
  };

  return {
    termCount: libraryCount,
    ruleCount: ruleList.length,
    match(text: string): KeywordMatch[] {
      if (typeof text !== 'string') throw new TypeError('match() needs a string');
      const base = matchOne(text);
      if (!asterisk) return base;
      const words = maskedWords(text);
      if (words.length === 0) return base;
      // "p*rn", "f*gg*t": match the text around each masked word once per vowel in each mask.
      // Substitution keeps the length, so offsets hold; only a window around the word is
      // re-matched, so a long text with a few asterisks costs little more than one pass.
      const seen = new Map(base.map((m) => [`${m.start}:${m.end}:${m.term}`, m]));
      const cue = educational ? `\n${firstCue}` : '';
      for (const w of words) {
        const from = Math.max(0, w.from - MASK_CONTEXT);
        const to = Math.min(text.length, w.to + MASK_CONTEXT);
        const slice = text.slice(from, to);
        for (const variant of unmaskedVariants(
          slice,
          w.masks.map((i) => i - from),
        )) {
          for (const m of matchOne(variant + cue)) {
            if (m.end > slice.length) continue;
            const shifted = { ...m, start: m.start + from, end: m.end + from };
            const key = `${shifted.start}:${shifted.end}:${shifted.term}`;
            const prev = seen.get(key);
            if (!prev || shifted.severity > prev.severity) seen.set(key, shifted);
          }
        }
      }
      return [...seen.values()].sort((x, y) => x.start - y.start || y.severity - x.severity);
    },
  };

  /**
   * Matches one text. Afterwards `asterisk` says whether it holds a `*`, and then `educational`
   * whether it holds an educational cue (even with no match).
   */
  function matchOne(text: string): KeywordMatch[] {
    const n = normaliseAndScan(text, automaton.tables);
    // (replaced only when used, and not emptied in place: setting an array's length is not free,
    // and most texts hit nothing)
    if (hits.length > 0) hits = [];
    if (covers.length > 0) covers = [];
    if (suppressed.size > 0) suppressed.clear();
    ruleHits.anchorCount = 0;
    ruleHits.negCount = 0;
    ruleHits.unlessCount = 0;
    educational = false;
    asterisk = n.asterisk;
    scanned = n;
    const pairs = n.hitPairs;
    const pairEnd = n.hitCount * 2;
    replay(0, pairs, pairEnd);
    const complete =
      ruleHits.anchorCount > 0 ? completeRules(rules, ruleHits.anchor, ruleHits.anchorCount) : null;
    if (hits.length > 0 || complete !== null || asterisk) replay(1, pairs, pairEnd);
    if (complete !== null) replay(2, pairs, pairEnd);
    scanned = null;
    if (complete !== null)
      for (const r of checkRules(rules, complete, ruleHits, n.codes, n.length))
        hits.push({ entry: -1 - r.rule, s: r.s, e: r.e });
    if (hits.length === 0) return [];
    // Exceptions and allow phrases: a hit is dropped when a cover of its own term (or an allow
    // phrase) spans it. Sorted sweeps keep a long text linear-ish instead of hits × covers.
    const coverIndex =
      covers.length === 0 ? NO_COVERS : covers.length <= FEW_COVERS ? fewCovers(covers) : indexCovers(covers);
    if (hits.length > 1) hits.sort(byHitOrder);
    const result: KeywordMatch[] = [];
    // Drop a match lying inside a longer (or earlier identical) match of the same category
    // ("kill myself" inside "how to kill myself").
    for (const h of hits) {
      if (h.entry < 0) {
        // a rule match: allow phrases apply; a longer term or rule match of its category wins
        if (coverIndex.covered(-1, h.s, h.e)) continue;
        const rule = ruleList[-1 - h.entry]!;
        const category = ruleCategory[-1 - h.entry]!;
        if (reach[category]! >= h.e) continue;
        reach[category] = h.e;
        const severity =
          educational && rule.educational === 'lower'
            ? Math.max(1, rule.severity - EDUCATIONAL_SEVERITY_DROP)
            : rule.severity;
        const m: KeywordMatch = {
          term: rule.description,
          category: rule.category,
          severity,
          start: n.starts[h.s]!,
          end: n.ends[h.e - 1]!,
          educational,
          rule: rule.id,
          description: rule.description,
          pattern: rule.pattern,
        };
        if (rule.language !== 'en') m.language = rule.language;
        result.push(m);
        continue;
      }
      if (
        suppressed.has(h.entry) ||
        coverIndex.covered(-1, h.s, h.e) ||
        coverIndex.covered(h.entry, h.s, h.e)
      )
        continue;
      const category = entries.category[h.entry]!;
      if (reach[entryCategory[h.entry]!]! >= h.e) continue;
      reach[entryCategory[h.entry]!] = h.e;
      const base = entries.severity[h.entry]!;
      const severity =
        educational && entries.lowers[h.entry] === 1 ? Math.max(1, base - EDUCATIONAL_SEVERITY_DROP) : base;
      const m: KeywordMatch = {
        term: entries.term[h.entry]!,
        category,
        severity,
        start: n.starts[h.s]!,
        end: n.ends[h.e - 1]!,
        educational,
      };
      if (entries.language[h.entry] !== 'en') m.language = entries.language[h.entry]!;
      result.push(m);
    }
    reach.fill(-1);
    if (result.length > 1) result.sort(byMatchOrder);
    return result;
  }
}

/**
 * What each automaton state reports, split by the groups of GROUP_KINDS (each in the automaton's
 * order), so the matcher replays a scan's reports without a callback per pattern, and each group
 * only when needed. For a state that reports anything, `list` from `at[state]` holds the ends of
 * its three groups, then the patterns of group 0, 1 and 2 (group 0 starts 3 past `at[state]`,
 * group g > 0 at the end of group g - 1). `length[pattern]` is the pattern's padded length
 * (start = end - length).
 */
interface SplitReports {
  at: Int32Array;
  list: Int32Array;
  length: Int32Array;
}

function splitReports(automaton: Automaton, kind: Uint8Array): SplitReports {
  const at = new Int32Array(automaton.states).fill(-1);
  const list: number[] = [];
  const length = new Int32Array(kind.length);
  const groups: number[][] = GROUP_KINDS.map(() => []);
  for (let st = 0; st < automaton.states; st++) {
    if (automaton.tables.accepts[st] !== 1) continue;
    for (const g of groups) g.length = 0;
    automaton.tables.report(st, 0, (pi, from) => {
      length[pi] = -from;
      groups[GROUP_KINDS.findIndex((g) => ((1 << kind[pi]!) & g) !== 0)]!.push(pi);
    });
    const h = list.length;
    at[st] = h;
    list.push(0, 0, 0);
    groups.forEach((g, gi) => {
      list.push(...g);
      list[h + gi] = list.length;
    });
  }
  return { at, list: Int32Array.from(list), length };
}

/** A term hit (entry >= 0), a rule match (-1 - rule) or a cover, in normalised coordinates [s, e). */
interface Hit {
  entry: number;
  s: number;
  e: number;
}

/**
 * Same span: a term before a rule (the literal phrase the DSL knows: "how to tie a noose" stays
 * that term, not the rule around it), and the library's order among each (English first).
 */
function rank(entry: number): number {
  return entry < 0 ? 1_000_000_000 - 1 - entry : entry;
}

function byHitOrder(a: Hit, b: Hit): number {
  return a.s - b.s || b.e - a.e || rank(a.entry) - rank(b.entry);
}

function byMatchOrder(a: KeywordMatch, b: KeywordMatch): number {
  return a.start - b.start || b.severity - a.severity;
}

/** A vowel hidden behind `*` between two letters ("p*rn"): at most this many per word are tried... */
const MAX_MASKS_PER_WORD = 2;
/** ...in at most this many words per text (bounded work on hostile input). */
const MAX_MASKED_WORDS = 16;
/** Text re-matched on each side of a masked word, so phrases around it still match. */
const MASK_CONTEXT = 100;
const VOWELS = ['a', 'e', 'i', 'o', 'u'];

/** Words (runs of non-space) with `*` between two letters; `masks` are those `*` positions. */
function maskedWords(text: string): { from: number; to: number; masks: number[] }[] {
  const words: { from: number; to: number; masks: number[] }[] = [];
  for (let i = text.indexOf('*'); i !== -1 && words.length < MAX_MASKED_WORDS; i = text.indexOf('*', i + 1)) {
    if (!(/\p{L}/u.test(text[i - 1] ?? '') && /\p{L}/u.test(text[i + 1] ?? ''))) continue;
    const last = words[words.length - 1];
    if (last && i < last.to) {
      if (last.masks.length < MAX_MASKS_PER_WORD) last.masks.push(i);
      continue;
    }
    let from = i;
    while (from > 0 && !/\s/.test(text[from - 1]!)) from--;
    let to = i + 1;
    while (to < text.length && !/\s/.test(text[to]!)) to++;
    words.push({ from, to, masks: [i] });
  }
  return words;
}

function* unmaskedVariants(text: string, masks: number[]): Generator<string> {
  const chars = text.split('');
  const fill = function* (k: number): Generator<string> {
    if (k === masks.length) {
      yield chars.join('');
      return;
    }
    for (const v of VOWELS) {
      chars[masks[k]!] = v;
      yield* fill(k + 1);
    }
  };
  yield* fill(0);
}

/**
 * Repeated letters were collapsed for the automaton; here the run lengths decide. A run matches
 * when it is the same length as the term's, or when it is emphasis (3+ letters: "kiiill") at
 * least as long. So "ass" does not match "as", and "88" does not match "888".
 */
function runsAgree(n: ScratchNormalised, pt: PatternTable, pi: number, s: number): boolean {
  const from = pt.runStart[pi]!;
  const to = pt.runStart[pi + 1]!;
  for (let j = from; j < to; j++) {
    const want = pt.runs[j]!;
    const got = n.runs[s + j - from]!;
    if (got === want) continue;
    if (!(pt.letter[j] === 1 && got >= 3 && got >= want)) return false;
  }
  return true;
}

interface CoverIndex {
  covered(entry: number, s: number, e: number): boolean;
}

const NO_COVERS: CoverIndex = { covered: () => false };

/** Up to this many covers are searched one by one (no index to build: a title has one or two). */
const FEW_COVERS = 8;

/** "Is [s,e) inside a cover of `entry`?" by looking at each cover: the same answer as indexCovers. */
function fewCovers(covers: Hit[]): CoverIndex {
  return {
    covered(entry: number, s: number, e: number): boolean {
      for (const c of covers) if (c.entry === entry && c.s <= s && c.e >= e) return true;
      return false;
    },
  };
}

/** Covers (exception spans per entry, allow spans under -1) indexed for "is [s,e) inside one?". */
function indexCovers(covers: Hit[]): CoverIndex {
  const byEntry = new Map<number, { starts: number[]; maxEnd: number[] }>();
  covers.sort((a, b) => a.s - b.s);
  for (const c of covers) {
    let idx = byEntry.get(c.entry);
    if (!idx) {
      idx = { starts: [], maxEnd: [] };
      byEntry.set(c.entry, idx);
    }
    const prev = idx.maxEnd.length > 0 ? idx.maxEnd[idx.maxEnd.length - 1]! : -1;
    idx.starts.push(c.s);
    idx.maxEnd.push(Math.max(prev, c.e));
  }
  return {
    covered(entry: number, s: number, e: number): boolean {
      const idx = byEntry.get(entry);
      if (!idx) return false;
      // last cover starting at or before s; maxEnd says whether any of those reaches e
      let lo = 0;
      let hi = idx.starts.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (idx.starts[mid]! <= s) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return found >= 0 && idx.maxEnd[found]! >= e;
    },
  };
}
