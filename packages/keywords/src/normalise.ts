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

const PERCENT_ESCAPE = /%[0-9a-fA-F]{2}/;
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

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Growable parallel typed arrays for the folded characters. */
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
  push(code: number, kind: number, start: number, end: number): void {
    if (this.length === this.code.length) this.grow();
    const i = this.length++;
    this.code[i] = code;
    this.kind[i] = kind;
    this.start[i] = start;
    this.end[i] = end;
  }
  private grow(): void {
    const cap = this.code.length * 2 + 16;
    const code = new Uint16Array(cap);
    code.set(this.code);
    const kind = new Uint8Array(cap);
    kind.set(this.kind);
    const start = new Int32Array(cap);
    start.set(this.start);
    const end = new Int32Array(cap);
    end.set(this.end);
    this.code = code;
    this.kind = kind;
    this.start = start;
    this.end = end;
  }
}

// Scratch buffers reused across calls (normalise is synchronous, so never re-entered): window
// titles are short and arrive often, and allocating a dozen typed arrays per call dominated.
let folding = new Folding(256);
function scratchFolding(capacity: number): Folding {
  if (folding.code.length < capacity) folding = new Folding(capacity);
  folding.length = 0;
  return folding;
}
let outCodes = new Uint16Array(256);
let outRuns = new Uint8Array(256);
let outStarts = new Int32Array(256);
let outEnds = new Int32Array(256);

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
}

/**
 * normalise() without copying or building a string: the arrays are shared scratch buffers,
 * longer than `length`, valid only until the next call. The matcher's hot path (allocations
 * per title dominated its cost).
 */
export function normaliseScratch(input: string): ScratchNormalised {
  // --- stage 0: percent-decoding (twice, for %2520-style double encoding)
  let units: Units | undefined;
  if (PERCENT_ESCAPE.test(input)) {
    const starts = new Int32Array(input.length);
    const ends = new Int32Array(input.length);
    for (let i = 0; i < input.length; i++) {
      starts[i] = i;
      ends[i] = i + 1;
    }
    units = percentDecode({ text: input, starts, ends });
    if (PERCENT_ESCAPE.test(units.text)) units = percentDecode(units);
  }
  const text = units ? units.text : input;
  const us = units?.starts;
  const ue = units?.ends;

  // --- stage 1: fold each code point (case, diacritics, homoglyphs) and classify
  const f = scratchFolding(text.length + 8);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128) {
      const k = ASCII_KIND[code]!;
      if (k !== 0) f.push(ASCII_CODE[code]!, k, us ? us[i]! : i, ue ? ue[i]! : i + 1);
      continue;
    }
    const cp = text.codePointAt(i)!;
    const start = us ? us[i]! : i;
    const last = cp > 0xffff ? i + 1 : i;
    const end = ue ? ue[last]! : last + 1;
    for (const folded of fold(cp)) f.push(folded.out.charCodeAt(0), folded.kind, start, end);
    i = last;
  }
  const n = f.length;
  const fc = f.code;
  const fk = f.kind;
  const fs = f.start;
  const fe = f.end;

  // --- stage 2: leet symbols and apostrophes inside words; everything else non-word separates
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

  // --- stage 3: tokens (runs of word chars; dropped chars inside are skipped) and separators
  const tokFrom: number[] = [];
  const tokTo: number[] = [];
  const tokLen: number[] = [];
  const sepFrom: number[] = []; // separator before the token: [sepFrom, tokFrom) in fc
  let lastTokenEnd = 0;
  for (let i = 0; i < n; ) {
    const k = fk[i]!;
    if (k !== WORD) {
      i++;
      continue;
    }
    let j = i;
    let len = 0;
    let hasLetter = false;
    while (j < n && (fk[j] === WORD || fk[j] === 0)) {
      if (fk[j] === WORD) {
        len++;
        if (!isDigit(fc[j]!)) hasLetter = true;
      }
      j++;
    }
    // Digits read as letters only inside tokens that also hold letters: "1488" and "420" stay numbers.
    if (hasLetter)
      for (let x = i; x < j; x++) {
        const c = fc[x]!;
        if (c < 128 && fk[x] === WORD && DIGIT_LEET_CODE[c]! !== -1) fc[x] = DIGIT_LEET_CODE[c]!;
      }
    sepFrom.push(lastTokenEnd);
    tokFrom.push(i);
    tokTo.push(j);
    tokLen.push(len);
    lastTokenEnd = j;
    i = j;
  }
  const tokens = tokFrom.length;

  // Spaced-out letters ("k i l l  m y s e l f", "s.e.x"): a run of >= 3 single-character tokens
  // is one word where the run's usual separator sits, and a word break where a different one does.
  const joinBefore = new Uint8Array(tokens);
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

  // --- stage 4: emit, collapsing runs of the same character
  const cap = n + tokens + 1;
  if (outCodes.length < cap) {
    outCodes = new Uint16Array(cap);
    outRuns = new Uint8Array(cap);
    outStarts = new Int32Array(cap);
    outEnds = new Int32Array(cap);
  }
  const out = outCodes;
  const runs = outRuns;
  const os = outStarts;
  const oe = outEnds;
  let len = 0;
  for (let t = 0; t < tokens; t++) {
    if (len > 0 && !joinBefore[t]) {
      out[len] = SPACE;
      runs[len] = 1;
      os[len] = oe[len - 1]!;
      oe[len] = fs[tokFrom[t]!]!;
      len++;
    }
    for (let i = tokFrom[t]!; i < tokTo[t]!; i++) {
      if (fk[i] === 0) continue;
      const c = fc[i]!;
      if (len > 0 && out[len - 1] === c) {
        if (runs[len - 1]! < 255) runs[len - 1]!++;
        oe[len - 1] = fe[i]!;
        continue;
      }
      out[len] = c;
      runs[len] = 1;
      os[len] = fs[i]!;
      oe[len] = fe[i]!;
      len++;
    }
  }
  return { codes: out, length: len, runs, starts: os, ends: oe };
}

const utf16 = new TextDecoder('utf-16le');

function codesToString(codes: Uint16Array, len: number): string {
  if (len < 4096) return String.fromCharCode.apply(null, codes.subarray(0, len) as unknown as number[]);
  return utf16.decode(codes.subarray(0, len));
}
