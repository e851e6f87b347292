// Normalisation before matching. Window titles and URLs are written to dodge filters
// ("k i l l  m y s e l f", "su1c1de", "le$bean", "%6Bill%20myself"), so both the library's
// terms and the observed text go through this one function, and the matcher compares the
// results. Every normalised character remembers the span of ORIGINAL text it came from, so a
// match can be reported (and a context snippet cut) at its real position.
//
// Output alphabet: lowercase letters (diacritics removed, look-alike Cyrillic/Greek folded to
// Latin), digits, and a single ' ' for any run of separators. Runs of the same letter are
// collapsed to one character with the run length kept in `runs`, so the matcher can accept
// emphasis ("kiiiill") while still telling "as" from "ass".

import type { AutomatonTables } from './aho-corasick.ts';

export interface Normalised {
  /** The normalised text: [a-z0-9], other letters, and single spaces between words. */
  text: string;
  /** Length of the run of identical characters each normalised character stands for (capped at 255). */
  runs: Uint8Array;
  /** Original start offset (UTF-16 index) of each normalised character. */
  starts: Int32Array;
  /** Original end offset (exclusive) of each normalised character. */
  ends: Int32Array;
}

// Character kinds after per-character folding.
const WORD = 1;
const LEET = 2;
const APOS = 3;
const SEP = 4;

/** Digits read as letters inside a word that also has letters ("su1c1de", "s3lf h4rm"). */
const DIGIT_LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '9': 'g',
};

/** Symbols read as letters between word characters ("k!ll", "le$bean", "b!tch"). */
const SYMBOL_LEET: Record<string, string> = {
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
  '€': 'e',
  '¡': 'i',
};

/** Look-alike letters from other scripts used to dodge filters (Cyrillic "ѕех", Greek "κill"). */
const HOMOGLYPHS: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ɡ: 'g',
  α: 'a',
  β: 'b',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ł: 'l',
  ø: 'o',
  đ: 'd',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
};

/**
 * Arabic and Urdu letter variants folded to one form: alef wasla, alef maksura and the Urdu/Farsi
 * yehs → ي; teh marbuta and the Urdu hehs (ہ ھ ۃ ە) → ه; keheh → ك. People type either form
 * (keyboard layout, Arabic vs Urdu habits), so terms and text must agree whichever was used.
 */
const ARABIC_LETTERS: Record<string, string> = {
  '\u0671': '\u0627',
  '\u0649': '\u064a',
  '\u06cc': '\u064a',
  '\u06d2': '\u064a',
  '\u06d0': '\u064a',
  '\u0629': '\u0647',
  '\u06c1': '\u0647',
  '\u06be': '\u0647',
  '\u06c3': '\u0647',
  '\u06d5': '\u0647',
  '\u06a9': '\u0643',
  '\u06aa': '\u0643',
};

/** Code points dropped like format characters: Arabic tatweel (ـ, stretches a word). */
const DROPPED = new Set([0x0640]);

/** Bengali (U+0980-09FF) and Gurmukhi (U+0A00-0A7F). */
function isIndic(cp: number): boolean {
  return cp >= 0x0980 && cp <= 0x0a7f;
}

/**
 * Optional Indic marks: -1 = dropped (Gurmukhi addak ੱ and nukta ਼, Bengali chandrabindu ঁ: often
 * left out; Bengali nukta is kept, it tells য় from য),
 * otherwise the code it folds to (Gurmukhi tippi ੰ → bindi ਂ: the same nasal sound).
 */
const INDIC_FOLD = new Map<number, number>([
  [0x0a71, -1],
  [0x0a3c, -1],
  [0x0981, -1],
  [0x0a70, 0x0a02],
]);

interface Folded {
  out: string;
  kind: number;
}

const foldCache = new Map<number, Folded[]>();

function classifyChar(c: string): number {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return WORD;
  if (SYMBOL_LEET[c] !== undefined) return LEET;
  if (c === "'" || c === '\u2019' || c === '\u02bc' || c === '`') return APOS;
  if (/[\p{L}\p{N}]/u.test(c)) return WORD;
  return SEP;
}

/** Folds one code point to zero or more (char, kind) pairs. Cached: titles repeat the same few hundred code points. */
function fold(cp: number): Folded[] {
  const cached = foldCache.get(cp);
  if (cached) return cached;
  const result: Folded[] = [];
  const ch = String.fromCodePoint(cp);
  const indic = isIndic(cp);
  if (/\p{Cf}/u.test(ch) || DROPPED.has(cp)) {
    // zero-width joiners, soft hyphens, direction marks (RTL text), Arabic tatweel: invisible,
    // used to split or stretch words
  } else if (indic) {
    // Bengali and Gurmukhi: vowel signs, virama and nukta are part of the word and change its
    // meaning, so they are kept (decomposed, so precomposed and typed sequences agree) as word
    // characters; only optional marks people often leave out are folded.
    for (const part of ch.normalize('NFKD')) {
      const c = INDIC_FOLD.get(part.codePointAt(0)!);
      if (c === -1) continue;
      result.push({ out: c === undefined ? part : String.fromCharCode(c), kind: WORD });
    }
  } else {
    const lower = ch.toLowerCase();
    const direct = HOMOGLYPHS[lower];
    // NFKD then dropping marks: Latin diacritics (Polish, Romanian, Lithuanian, Welsh, Spanish,
    // Portuguese) and Arabic/Urdu tashkeel and hamza carriers (أ إ آ ؤ ئ → ا ا ا و ي).
    const decomposed = direct ?? lower.normalize('NFKD').replace(/\p{M}/gu, '');
    for (const part of decomposed) {
      const mapped = HOMOGLYPHS[part] ?? ARABIC_LETTERS[part] ?? part;
      for (const c of mapped) {
        if (c.length > 1 || c.codePointAt(0)! > 0xffff) {
          // astral letters (rare scripts) count as word characters no term uses; emoji are separators
          result.push({ out: '\uffff', kind: /\p{L}/u.test(c) ? WORD : SEP });
        } else {
          result.push({ out: c, kind: classifyChar(c) });
        }
      }
    }
  }
  if (foldCache.size < 20_000) foldCache.set(cp, result);
  return result;
}

// ASCII fast path: precomputed folds for the common case.
const ASCII_OUT: string[] = [];
const ASCII_KIND = new Uint8Array(128);
const ASCII_CODE = new Uint16Array(128);
for (let i = 0; i < 128; i++) {
  const f = fold(i);
  ASCII_OUT[i] = f[0]?.out ?? '';
  ASCII_CODE[i] = ASCII_OUT[i]!.charCodeAt(0) || 0;
  ASCII_KIND[i] = f.length === 0 ? 0 : f[0]!.kind;
}

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function hexValue(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** Code units with original spans: the working form between stages. */
interface Units {
  text: string;
  starts: Int32Array;
  ends: Int32Array;
}

/** Stage 0: percent-decoding (%6B%69%6C%6C → kill, UTF-8 aware), keeping original spans. */
function percentDecode(u: Units): Units {
  const { text } = u;
  const n = text.length;
  const parts: string[] = [];
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  let len = 0;
  let plainFrom = 0; // start of the current run of text copied as is
  const flushPlain = (to: number) => {
    if (to <= plainFrom) return;
    parts.push(text.slice(plainFrom, to));
    starts.set(u.starts.subarray(plainFrom, to), len);
    ends.set(u.ends.subarray(plainFrom, to), len);
    len += to - plainFrom;
  };
  let i = text.indexOf('%');
  while (i !== -1 && i < n) {
    if (i + 2 < n && isHexCode(text.charCodeAt(i + 1)) && isHexCode(text.charCodeAt(i + 2))) {
      flushPlain(i);
      const lead = hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2));
      const want = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      const bytes: number[] = [lead];
      let j = i + 3;
      while (
        bytes.length < want &&
        j + 2 < n &&
        text.charCodeAt(j) === 37 &&
        isHexCode(text.charCodeAt(j + 1)) &&
        isHexCode(text.charCodeAt(j + 2))
      ) {
        bytes.push(hexValue(text.charCodeAt(j + 1)) * 16 + hexValue(text.charCodeAt(j + 2)));
        j += 3;
      }
      const decoded = bytes.length === want ? Buffer.from(bytes).toString('utf8') : '\ufffd';
      parts.push(decoded);
      for (let k = 0; k < decoded.length; k++) {
        starts[len] = u.starts[i]!;
        ends[len] = u.ends[j - 1]!;
        len++;
      }
      plainFrom = j;
      i = text.indexOf('%', j);
    } else {
      i = text.indexOf('%', i + 1);
    }
  }
  flushPlain(n);
  return { text: parts.join(''), starts: starts.subarray(0, len), ends: ends.subarray(0, len) };
}

const DIGIT_LEET_CODE = new Int32Array(128).fill(-1);
for (const [d, l] of Object.entries(DIGIT_LEET)) DIGIT_LEET_CODE[d.charCodeAt(0)] = l.charCodeAt(0);
const SYMBOL_LEET_CODE = new Map<number, number>(
  Object.entries(SYMBOL_LEET).map(([sym, l]) => [sym.charCodeAt(0), l.charCodeAt(0)]),
);
const SPACE = 32;
const DOLLAR = 36;

function isAsciiLetter(c: number): boolean {
  return c >= 97 && c <= 122;
}

/** Parallel typed arrays for the folded characters (scratch; see growFolding). */
class Folding {
  code: Uint16Array;
  kind: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.code = new Uint16Array(capacity);
    this.kind = new Uint8Array(capacity);
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
  }
}

// Scratch buffers reused across calls (normalise is synchronous, so never re-entered): window
// titles are short and arrive often, and allocating a dozen typed arrays per call dominated.
let folding = new Folding(256);
function scratchFolding(capacity: number): Folding {
  if (folding.code.length < capacity) folding = new Folding(Math.max(capacity, folding.code.length * 2));
  folding.length = 0;
  return folding;
}
/** A larger scratch Folding keeping the first `length` entries. */
function growFolding(capacity: number): Folding {
  const bigger = new Folding(capacity);
  bigger.code.set(folding.code.subarray(0, folding.length));
  bigger.kind.set(folding.kind.subarray(0, folding.length));
  bigger.start.set(folding.start.subarray(0, folding.length));
  bigger.end.set(folding.end.subarray(0, folding.length));
  bigger.length = folding.length;
  folding = bigger;
  return bigger;
}
let outCodes = new Uint16Array(256);
let outRuns = new Uint8Array(256);
let outStarts = new Int32Array(256);
let outEnds = new Int32Array(256);
/** (state, end) pairs of normaliseAndScan: at most one per written character and pad. */
let outHits = new Int32Array(256 * 2 + 8);

/**
 * Normalises text for matching. Pure; the same function is applied to library terms, so any
 * trick it undoes in observed text is undone identically in the terms.
 */
export function normalise(input: string): Normalised {
  const n = normaliseScratch(input);
  const len = n.length;
  return {
    text: codesToString(n.codes, len),
    runs: n.runs.slice(0, len),
    starts: n.starts.slice(0, len),
    ends: n.ends.slice(0, len),
  };
}

/** normalise() as character codes in shared scratch buffers (see normaliseScratch). */
export interface ScratchNormalised {
  codes: Uint16Array;
  /** How many entries of each array are valid. */
  length: number;
  runs: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  /**
   * Only from normaliseAndScan: the automaton's reports, `hitCount` (state, padded end) pairs in
   * `hitPairs` (replay them with the automaton's `report`); -1 from normaliseScratch.
   */
  hitCount: number;
  hitPairs: Int32Array;
  /** Whether the input holds a `*` (the matcher re-reads masked words, "p*rn"; found in the same pass). */
  asterisk: boolean;
}

/**
 * normalise() without copying or building a string: the arrays are shared scratch buffers,
 * longer than `length`, valid only until the next call. The matcher's hot path (allocations
 * per title dominated its cost).
 */
export function normaliseScratch(input: string): ScratchNormalised {
  if (fusedPass(input, null)) return scratchResult;
  return stagedPass(input, hasPercentEscape(input));
}

/**
 * normaliseScratch, then the scan of the result by `scan`'s automaton with a space on each side.
 * When the one-pass fast path applies (most text), the automaton steps as each normalised
 * character is written, so the text is walked once. The reports are buffered in `hitPairs`
 * (see ScratchNormalised.hitCount), not delivered: the caller replays them once the whole result
 * (run lengths included) is final, in the order scanCodes would give them, and may skip those it
 * does not need.
 */
export function normaliseAndScan(input: string, scan: AutomatonTables): ScratchNormalised {
  if (fusedPass(input, scan)) return scratchResult;
  const r = stagedPass(input, hasPercentEscape(input));
  r.hitCount = scan.scanToPairs(r.codes, r.length, SPACE, outHits);
  r.hitPairs = outHits;
  return r;
}

/** normaliseScratch by the four stages only (the fused pass skipped): for the equivalence test. */
export function normaliseStaged(input: string): ScratchNormalised {
  return stagedPass(input, hasPercentEscape(input));
}

function stagedPass(input: string, percent: boolean): ScratchNormalised {
  // --- stage 0: percent-decoding (twice, for %2520-style double encoding)
  let units: Units | undefined;
  if (percent) {
    const starts = new Int32Array(input.length);
    const ends = new Int32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      starts[i] = i;
      ends[i] = i + 1;
    }
    units = percentDecode({ text: input, starts, ends });
    if (hasPercentEscape(units.text)) units = percentDecode(units);
  }
  const text = units ? units.text : input;
  const us = units?.starts;
  const ue = units?.ends;

  const n = foldStage(text, us, ue);
  const f = folding;
  if (leetOrAposSeen) leetStage(f.code, f.kind, n);
  const tokens = tokenStage(f.code, f.kind, n);
  if (spacedSeen) spacedStage(f.code, tokens);
  const r = emitStage(f, n, tokens);
  r.asterisk = input.indexOf('*') !== -1;
  return r;
}

let leetOrAposSeen = false;
let spacedSeen = false;

/**
 * Stage 1: fold each code point (case, diacritics, homoglyphs) and classify, into the scratch
 * folding; returns its length. A code unit folds to at most 1 character on the fast paths;
 * longer folds make room first. Each stage is its own small function, so one that meets rare
 * input (another script, leetspeak) is re-optimised alone instead of slowing the others.
 */
function foldStage(text: string, us: Int32Array | undefined, ue: Int32Array | undefined): number {
  scratchFolding(text.length * 2 + 8);
  leetOrAposSeen = false;
  return us && ue ? foldMapped(text, us, ue) : foldPlain(text);
}

/** Stage 1 for text as given (the common case): original offsets are the indices. */
function foldPlain(text: string): number {
  const f = folding;
  const fc = f.code;
  const fk = f.kind;
  const fs = f.start;
  const fe = f.end;
  let n = 0;
  let leetOrApos = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    let k = BMP_KIND[code]!;
    if (k === BMP_UNKNOWN) k = learnBmp(code);
    if (k <= SEP) {
      fc[n] = BMP_CODE[code]!;
      fk[n] = k;
      fs[n] = i;
      fe[n] = i + 1;
      n++;
      if (k === LEET || k === APOS) leetOrApos = true;
    } else if (k === BMP_SLOW) {
      leetOrAposSeen ||= leetOrApos;
      return foldMapped(text, null, null, i, n);
    }
  }
  leetOrAposSeen ||= leetOrApos;
  return n;
}

/**
 * Stage 1, general: percent-decoded text (original spans in us/ue), and anything from the first
 * code point that folds to several characters or is astral (so the plain loop stays simple).
 */
function foldMapped(text: string, us: Int32Array | null, ue: Int32Array | null, from = 0, at = 0): number {
  let n = at;
  let leetOrApos = false;
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    let k = BMP_KIND[code]!;
    if (k === BMP_UNKNOWN) k = learnBmp(code);
    if (k === BMP_DROPPED) continue;
    const start = us ? us[i]! : i;
    if (k <= SEP) {
      const f = folding;
      f.code[n] = BMP_CODE[code]!;
      f.kind[n] = k;
      f.start[n] = start;
      f.end[n] = ue ? ue[i]! : i + 1;
      n++;
      if (k === LEET || k === APOS) leetOrApos = true;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const last = cp > 0xffff ? i + 1 : i;
    const before = n;
    n = foldSlow(cp, start, ue ? ue[last]! : last + 1, n, (text.length - i) * 2);
    for (let x = before; x < n; x++)
      if (folding.kind[x] === LEET || folding.kind[x] === APOS) leetOrApos = true;
    i = last;
  }
  leetOrAposSeen ||= leetOrApos;
  return n;
}

/** Stage 2: leet symbols and apostrophes inside words; every other non-word character separates. */
function leetStage(fc: Uint16Array, fk: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const k = fk[i]!;
    if (k !== LEET && k !== APOS) continue;
    const prevWord = i > 0 && fk[i - 1] === WORD;
    const nextWord = i + 1 < n && (fk[i + 1] === WORD || fk[i + 1] === LEET);
    const nextLetter = i + 1 < n && isAsciiLetter(fc[i + 1]!);
    if (k === APOS) {
      fk[i] = prevWord && nextWord ? 0 : SEP; // "don't" → "dont"; quotes separate
    } else if ((prevWord && nextWord) || (!prevWord && nextLetter && fc[i] === DOLLAR)) {
      fc[i] = SYMBOL_LEET_CODE.get(fc[i]!)!;
      fk[i] = WORD;
    } else {
      fk[i] = SEP;
    }
  }
}

/** Stage 3: tokens (runs of word characters; dropped apostrophes inside are skipped); returns their count. */
function tokenStage(fc: Uint16Array, fk: Uint8Array, n: number): number {
  const tok = scratchTokens(n + 1);
  const tokFrom = tok.from;
  const tokTo = tok.to;
  const tokLen = tok.len;
  const sepFrom = tok.sepFrom; // separator before the token: [sepFrom, tokFrom) in fc
  const joinBefore = tok.joinBefore;
  let tokens = 0;
  let lastTokenEnd = 0;
  let singles = 0; // consecutive one-character tokens so far
  let spaced = false; // a run of >= 3 of them exists
  for (let i = 0; i < n; ) {
    if (fk[i] !== WORD) {
      i++;
      continue;
    }
    let j = i;
    let len = 0;
    let hasLetter = false;
    let hasDigit = false;
    for (; j < n; j++) {
      const k = fk[j]!;
      if (k === WORD) {
        len++;
        const c = fc[j]!;
        if (c >= 48 && c <= 57) hasDigit = true;
        else hasLetter = true;
      } else if (k !== 0) break;
    }
    // Digits read as letters only inside tokens that also hold letters: "1488" and "420" stay numbers.
    if (hasLetter && hasDigit)
      for (let x = i; x < j; x++) {
        const c = fc[x]!;
        if (c < 128 && fk[x] === WORD && DIGIT_LEET_CODE[c]! !== -1) fc[x] = DIGIT_LEET_CODE[c]!;
      }
    sepFrom[tokens] = lastTokenEnd;
    tokFrom[tokens] = i;
    tokTo[tokens] = j;
    tokLen[tokens] = len;
    joinBefore[tokens] = 0;
    tokens++;
    if (len === 1) {
      if (++singles >= 3) spaced = true;
    } else singles = 0;
    lastTokenEnd = j;
    i = j;
  }
  spacedSeen = spaced;
  return tokens;
}

/**
 * Spaced-out letters ("k i l l  m y s e l f", "s.e.x"): a run of >= 3 single-character tokens
 * is one word where the run's usual separator sits, and a word break where a different one does.
 */
function spacedStage(fc: Uint16Array, tokens: number): void {
  const { from: tokFrom, len: tokLen, sepFrom, joinBefore } = tokenScratch;
  for (let a = 0; a < tokens; ) {
    if (tokLen[a] !== 1) {
      a++;
      continue;
    }
    let b = a;
    while (b + 1 < tokens && tokLen[b + 1] === 1) b++;
    if (b - a + 1 >= 3) {
      const seps: string[] = [];
      const counts = new Map<string, number>();
      for (let t = a + 1; t <= b; t++) {
        const sep = String.fromCharCode(...fc.subarray(sepFrom[t]!, tokFrom[t]!));
        seps.push(sep);
        counts.set(sep, (counts.get(sep) ?? 0) + 1);
      }
      let usual = '';
      let best = 0;
      for (const [sep, c] of counts)
        if (c > best) {
          best = c;
          usual = sep;
        }
      for (let t = a + 1; t <= b; t++) if (seps[t - a - 1] === usual) joinBefore[t] = 1;
    }
    a = b + 1;
  }
}

/** Grows the output scratch (never shrinks it) to hold at least `cap` characters. */
function ensureOutput(cap: number): void {
  if (outCodes.length >= cap) return;
  const size = Math.max(cap, outCodes.length * 2);
  outCodes = new Uint16Array(size);
  outRuns = new Uint8Array(size);
  outStarts = new Int32Array(size);
  outEnds = new Int32Array(size);
  outHits = new Int32Array(size * 2 + 8);
}

/** Stage 4: emit into the output scratch, collapsing runs of the same character. */
function emitStage(f: Folding, n: number, tokens: number): ScratchNormalised {
  const fc = f.code;
  const fk = f.kind;
  const fs = f.start;
  const fe = f.end;
  const { from: tokFrom, to: tokTo, joinBefore } = tokenScratch;
  ensureOutput(n + tokens + 1);
  const out = outCodes;
  const runs = outRuns;
  const os = outStarts;
  const oe = outEnds;
  let len = 0;
  let prev = -1;
  for (let t = 0; t < tokens; t++) {
    if (len > 0 && joinBefore[t] === 0) {
      out[len] = SPACE;
      runs[len] = 1;
      os[len] = oe[len - 1]!;
      oe[len] = fs[tokFrom[t]!]!;
      len++;
      prev = SPACE;
    }
    const to = tokTo[t]!;
    for (let i = tokFrom[t]!; i < to; i++) {
      if (fk[i] === 0) continue;
      const c = fc[i]!;
      if (c === prev) {
        if (runs[len - 1]! < 255) runs[len - 1]!++;
        oe[len - 1] = fe[i]!;
        continue;
      }
      out[len] = c;
      runs[len] = 1;
      os[len] = fs[i]!;
      oe[len] = fe[i]!;
      len++;
      prev = c;
    }
  }
  const r = scratchResult;
  r.codes = out;
  r.length = len;
  r.runs = runs;
  r.starts = os;
  r.ends = oe;
  r.hitCount = -1;
  return r;
}

/**
 * The common case in one pass: text with no leetspeak symbol inside a word, no spaced-out
 * letters, no percent escape and nothing that folds to several characters. Gives exactly what the
 * four stages give (checked against them in the tests); returns false, having written garbage, as
 * soon as it meets anything else, and the stages then run. A word with both letters and digits
 * ("su1c1de", "year10") is written again from its start with its digits read as letters.
 */
function fusedPass(text: string, scan: AutomatonTables | null): boolean {
  const length = text.length;
  ensureOutput(length + 1);
  const out = outCodes;
  const runs = outRuns;
  const os = outStarts;
  const oe = outEnds;
  // the automaton (see normaliseAndScan): stepped on every character written to `out`
  const scanning = scan !== null;
  const alpha = scan === null ? NO_ALPHA : scan.alpha;
  const dense = scan === null ? NO_ALPHA : scan.dense;
  const denseStates = scan === null ? 0 : scan.denseStates;
  const denseAlpha = scan === null ? 0 : scan.denseAlpha;
  const accepts = scan === null ? NO_ACCEPTS : scan.accepts;
  // the root idles on every character but a space (see AutomatonTables.rootExit): a word
  // character read in the root leaves it there, so the step is skipped
  const rootIdle = scan !== null && scan.rootExit === alpha[SPACE];
  const hits = outHits;
  let nh = 0;
  let st = 0;
  if (scan !== null) {
    st = scan.step(0, alpha[SPACE]!);
    if (accepts[st] === 1) {
      hits[nh++] = st;
      hits[nh++] = 1;
    }
  }
  let len = 0;
  let prev = -1;
  let tokLen = 0;
  let letter = false;
  let digit = false;
  let singles = 0;
  let lastWord = false; // the previous kept character was a word character
  let asterisk = false;
  // Where the current word began (input index; output length, automaton state, reports and
  // previous character before it), to write it again when it turns out to hold letters and digits.
  let leet = false; // the current word is being written again: its digits read as letters
  let tokIn = 0;
  let tokOut = 0;
  let tokState = 0;
  let tokHits = 0;
  let tokPrev = -1;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    let k = BMP_KIND[code]!;
    if (k === BMP_UNKNOWN) k = learnBmp(code);
    if (k === WORD) {
      let c = BMP_CODE[code]!;
      if (tokLen === 0) {
        tokIn = i;
        tokOut = len;
        tokState = st;
        tokHits = nh;
        tokPrev = prev;
      }
      if (c >= 48 && c <= 57) {
        if (leet) {
          if (DIGIT_LEET_CODE[c] !== -1) c = DIGIT_LEET_CODE[c]!;
        } else digit = true;
      } else letter = true;
      if (digit && letter && !leet) {
        // digits read as letters only inside words that also hold letters: back to its start
        leet = true;
        i = tokIn - 1;
        len = tokOut;
        st = tokState;
        nh = tokHits;
        prev = tokPrev;
        tokLen = 0;
        lastWord = false;
        continue;
      }
      if (tokLen === 0 && len > 0) {
        if (scanning) {
          const a = alpha[SPACE]!;
          st = st < denseStates && a < denseAlpha ? dense[st * denseAlpha + a]! : scan.step(st, a);
          if (accepts[st] === 1) {
            hits[nh++] = st;
            hits[nh++] = len + 2;
          }
        }
        out[len] = SPACE;
        runs[len] = 1;
        os[len] = oe[len - 1]!;
        oe[len] = i;
        len++;
        prev = SPACE;
      }
      if (c === prev) {
        if (runs[len - 1]! < 255) runs[len - 1]!++;
        oe[len - 1] = i + 1;
      } else {
        if (scanning && (st !== 0 || !rootIdle)) {
          const a = alpha[c]!;
          st = st < denseStates && a < denseAlpha ? dense[st * denseAlpha + a]! : scan.step(st, a);
          if (accepts[st] === 1) {
            hits[nh++] = st;
            hits[nh++] = len + 2;
          }
        }
        out[len] = c;
        runs[len] = 1;
        os[len] = i;
        oe[len] = i + 1;
        len++;
        prev = c;
      }
      tokLen++;
      lastWord = true;
      // The rest of a run of letters in a tight loop (most characters of most text): the same
      // steps as above for a letter inside a word. Digits and anything else go round the outer
      // loop; so does a letter after a digit not yet read as a letter (the word is written again).
      if (digit && !leet) continue;
      letter = true;
      while (i + 1 < length) {
        const c2 = BMP_LETTER[text.charCodeAt(i + 1)]!;
        if (c2 === 0) break;
        i++;
        tokLen++;
        if (c2 === prev) {
          if (runs[len - 1]! < 255) runs[len - 1]!++;
          oe[len - 1] = i + 1;
          continue;
        }
        if (scanning && (st !== 0 || !rootIdle)) {
          const a = alpha[c2]!;
          st = st < denseStates && a < denseAlpha ? dense[st * denseAlpha + a]! : scan.step(st, a);
          if (accepts[st] === 1) {
            hits[nh++] = st;
            hits[nh++] = len + 2;
          }
        }
        out[len] = c2;
        runs[len] = 1;
        os[len] = i;
        oe[len] = i + 1;
        len++;
        prev = c2;
      }
    } else if (k === SEP || k === APOS || k === LEET) {
      if (k === SEP) {
        if (code === PERCENT) {
          // a percent escape: decoding needs the stages (a lone % is a separator)
          if (i + 2 < length && isHexCode(text.charCodeAt(i + 1)) && isHexCode(text.charCodeAt(i + 2)))
            return false;
        } else if (code === ASTERISK) asterisk = true;
      } else if (i + 1 < length) {
        const nc = text.charCodeAt(i + 1);
        let nk = BMP_KIND[nc]!;
        if (nk === BMP_UNKNOWN) nk = learnBmp(nc);
        if (k === LEET) {
          // "help!", "wow !": a leetspeak symbol not followed by a word character separates
          // ("k!ll", "le$bean", "!!" and "$ex" go to the stages)
          if (nk !== SEP && nk !== APOS) return false;
        } else if (lastWord) {
          // an apostrophe inside a word ("don't") is dropped and the word goes on
          if (nk !== WORD && nk !== SEP && nk !== APOS) return false;
          if (nk === WORD) {
            lastWord = false;
            continue;
          }
        }
      }
      lastWord = false;
      if (tokLen === 0) continue;
      if (tokLen === 1) {
        if (++singles >= 3) return false;
      } else singles = 0;
      tokLen = 0;
      letter = false;
      digit = false;
      leet = false;
    } else if (k !== BMP_DROPPED) return false; // several characters, astral
  }
  if (tokLen === 1 && singles + 1 >= 3) return false;
  if (scan !== null) {
    st = scan.step(st, alpha[SPACE]!);
    if (accepts[st] === 1) {
      hits[nh++] = st;
      hits[nh++] = len + 2;
    }
  }
  const r = scratchResult;
  r.codes = out;
  r.length = len;
  r.runs = runs;
  r.starts = os;
  r.ends = oe;
  r.hitCount = scanning ? nh >> 1 : -1;
  r.hitPairs = hits;
  r.asterisk = asterisk;
  return true;
}

const PERCENT = 37;
const ASTERISK = 42;
const NO_ALPHA = new Uint16Array(1);
const NO_ACCEPTS = new Uint8Array(1);

/** The one result object normaliseScratch hands out (valid until the next call, like its arrays). */
const scratchResult: ScratchNormalised = {
  codes: new Uint16Array(0),
  length: 0,
  runs: new Uint8Array(0),
  starts: new Int32Array(0),
  ends: new Int32Array(0),
  hitCount: -1,
  hitPairs: new Int32Array(0),
  asterisk: false,
};

/**
 * Appends the folds of one code point at `n` in the scratch folding (growing it, with `reserve`
 * more entries free for the rest of the text); returns the new length.
 */
function foldSlow(cp: number, start: number, end: number, n: number, reserve: number): number {
  const folded = fold(cp);
  if (n + folded.length + reserve >= folding.code.length) {
    folding.length = n;
    growFolding(n + folded.length + reserve + 16);
  }
  const f = folding;
  for (const x of folded) {
    f.code[n] = x.out.charCodeAt(0);
    f.kind[n] = x.kind;
    f.start[n] = start;
    f.end[n] = end;
    n++;
  }
  return n;
}

/** Whether `%XX` (a hex escape) occurs: indexOf is much cheaper than a RegExp per text. */
function hasPercentEscape(text: string): boolean {
  for (let i = text.indexOf('%'); i !== -1 && i + 2 < text.length; i = text.indexOf('%', i + 1))
    if (isHexCode(text.charCodeAt(i + 1)) && isHexCode(text.charCodeAt(i + 2))) return true;
  return false;
}

// Non-ASCII BMP code units, learnt on first sight: one output character and its kind, or a
// marker for "dropped" and "needs the general path" (several characters, surrogates).
const BMP_UNKNOWN = 0;
const BMP_DROPPED = 5;
const BMP_SLOW = 6;
const BMP_CODE = new Uint16Array(65536);
const BMP_KIND = new Uint8Array(65536);
/** The folded letter of a word character that is not a digit, else 0 (one load in the letter loop). */
const BMP_LETTER = new Uint16Array(65536);
function learnLetter(code: number): void {
  const c = BMP_CODE[code]!;
  if (BMP_KIND[code] === WORD && !(c >= 48 && c <= 57)) BMP_LETTER[code] = c;
}
for (let i = 0; i < 128; i++) {
  BMP_KIND[i] = ASCII_KIND[i] === 0 ? BMP_DROPPED : ASCII_KIND[i]!;
  BMP_CODE[i] = ASCII_CODE[i]!;
  learnLetter(i);
}

function learnBmp(code: number): number {
  let kind = BMP_SLOW;
  if (code < 0xd800 || code > 0xdfff) {
    const f = fold(code);
    if (f.length === 0) kind = BMP_DROPPED;
    else if (f.length === 1) {
      kind = f[0]!.kind;
      BMP_CODE[code] = f[0]!.out.charCodeAt(0);
    }
  }
  BMP_KIND[code] = kind;
  learnLetter(code);
  return kind;
}

interface Tokens {
  from: Int32Array;
  to: Int32Array;
  len: Int32Array;
  sepFrom: Int32Array;
  joinBefore: Uint8Array;
}
let tokenScratch: Tokens = newTokens(256);
function newTokens(capacity: number): Tokens {
  return {
    from: new Int32Array(capacity),
    to: new Int32Array(capacity),
    len: new Int32Array(capacity),
    sepFrom: new Int32Array(capacity),
    joinBefore: new Uint8Array(capacity),
  };
}
function scratchTokens(capacity: number): Tokens {
  if (tokenScratch.from.length < capacity)
    tokenScratch = newTokens(Math.max(capacity, tokenScratch.from.length * 2));
  return tokenScratch;
}

const utf16 = new TextDecoder('utf-16le');

function codesToString(codes: Uint16Array, len: number): string {
  if (len < 4096) return String.fromCharCode.apply(null, codes.subarray(0, len) as unknown as number[]);
  return utf16.decode(codes.subarray(0, len));
}
