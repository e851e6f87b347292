// Dead keys and Compose (Multi_key) sequences → the character they type (pure). An X input method
// does this for the application with the locale's Compose table; the keyboard hook only sees the
// keys, so the same result is rebuilt here: a dead key adds its combining mark to the next letter
// and Unicode composition (NFC) gives the precomposed letter — dead_acute + e → é,
// dead_circumflex + w → ŵ (Welsh), dead_ogonek + a → ą. Space after a dead key types the accent
// itself; the same dead key twice types its spacing form. Compose + two characters covers accents
// in either order (' e, e ', ^ w, " u, , c, ...) and the common symbols (L- £, =e €, ss ß, ae æ,
// oe œ, o/ ø); the rest of the locale's ~5,000 Compose sequences are not rebuilt.

/** Combining mark and spacing form of each dead keysym. */
const DEAD: Readonly<Record<string, { mark: string; space: string; twice: string }>> = {
  dead_grave: { mark: '\u0300', space: '`', twice: '`' },
  dead_acute: { mark: '\u0301', space: "'", twice: '´' },
  dead_circumflex: { mark: '\u0302', space: '^', twice: '^' },
  dead_tilde: { mark: '\u0303', space: '~', twice: '~' },
  dead_macron: { mark: '\u0304', space: '¯', twice: '¯' },
  dead_breve: { mark: '\u0306', space: '˘', twice: '˘' },
  dead_abovedot: { mark: '\u0307', space: '˙', twice: '˙' },
  dead_diaeresis: { mark: '\u0308', space: '"', twice: '¨' },
  dead_abovering: { mark: '\u030a', space: '°', twice: '°' },
  dead_doubleacute: { mark: '\u030b', space: '˝', twice: '˝' },
  dead_caron: { mark: '\u030c', space: 'ˇ', twice: 'ˇ' },
  dead_hook: { mark: '\u0309', space: '\u0309', twice: '\u0309' },
  dead_horn: { mark: '\u031b', space: '\u031b', twice: '\u031b' },
  dead_belowdot: { mark: '\u0323', space: '\u0323', twice: '\u0323' },
  dead_cedilla: { mark: '\u0327', space: '¸', twice: '¸' },
  dead_ogonek: { mark: '\u0328', space: '˛', twice: '˛' },
  dead_belowmacron: { mark: '\u0331', space: '\u0331', twice: '\u0331' },
};

/** Letters with a stroke have no decomposition: dead_stroke (and Compose /) by table. */
const STROKE: Readonly<Record<string, string>> = {
  l: 'ł',
  L: 'Ł',
  o: 'ø',
  O: 'Ø',
  d: 'đ',
  D: 'Đ',
  h: 'ħ',
  H: 'Ħ',
  g: 'ǥ',
  G: 'Ǥ',
  t: 'ŧ',
  T: 'Ŧ',
};

/** Compose + these characters acts as the dead key (either order with the letter). */
const COMPOSE_ACCENTS: Readonly<Record<string, string>> = {
  "'": 'dead_acute',
  '`': 'dead_grave',
  '^': 'dead_circumflex',
  '~': 'dead_tilde',
  '"': 'dead_diaeresis',
  ',': 'dead_cedilla',
  ';': 'dead_ogonek',
  '<': 'dead_caron',
  '-': 'dead_macron',
  U: 'dead_breve',
  '.': 'dead_abovedot',
  '/': 'dead_stroke',
};

/** Compose pairs that are symbols, not accented letters (either order unless both same). */
const COMPOSE_SYMBOLS: Readonly<Record<string, string>> = {
  'L-': '£',
  'l-': '£',
  '=e': '€',
  '=E': '€',
  '=C': '€',
  'Y=': '¥',
  'c/': '¢',
  'c|': '¢',
  ss: 'ß',
  ae: 'æ',
  AE: 'Æ',
  oe: 'œ',
  OE: 'Œ',
  oo: '°',
  '!!': '¡',
  '??': '¿',
  '<<': '«',
  '>>': '»',
  so: '§',
  oc: '©',
  or: '®',
  '+-': '±',
  '12': '½',
  '14': '¼',
  '34': '¾',
};

export function isDeadKeysym(keysym: string): boolean {
  return keysym in DEAD || keysym === 'dead_stroke';
}

/** Longest pending sequence kept (dead keys stacked, or Compose + its first character). */
export const MAX_PENDING = 3;

export interface ComposeResult {
  /** What was typed (may be empty: the sequence was cancelled). */
  text?: string;
  /** The sequence goes on: keysyms/characters still pending. */
  pending: readonly string[];
}

/** Applies the dead keys (innermost last pressed) to one character; undefined when they do not combine. */
function withAccents(deads: readonly string[], ch: string): string | undefined {
  let out = ch;
  for (const d of [...deads].reverse()) {
    if (d === 'dead_stroke') {
      const s = STROKE[out];
      if (!s) return undefined;
      out = s;
      continue;
    }
    const mark = DEAD[d]?.mark;
    if (!mark) return undefined;
    const composed = (out + mark).normalize('NFC');
    if ([...composed].length !== 1) return undefined;
    out = composed;
  }
  return out;
}

/**
 * The next step of a pending sequence (`pending` starts with a dead keysym or `Multi_key`) given
 * the next key: a dead keysym, `Multi_key`, or the character the key types.
 */
export function composeNext(
  pending: readonly string[],
  next: { keysym?: string; char?: string },
): ComposeResult {
  if (pending[0] === 'Multi_key') return composeMulti(pending, next);
  const last = pending[pending.length - 1]!;
  if (next.keysym && isDeadKeysym(next.keysym)) {
    if (pending.length === 1 && next.keysym === last) return { text: DEAD[last]?.twice ?? '', pending: [] };
    return { pending: pending.length < MAX_PENDING ? [...pending, next.keysym] : [] };
  }
  if (next.char === undefined) return { pending: [] }; // another key cancels the sequence
  if (next.char === ' ' && pending.length === 1) return { text: DEAD[last]?.space ?? ' ', pending: [] };
  // An accent that does not combine with the letter is dropped (the letter is kept).
  return { text: withAccents(pending, next.char) ?? next.char, pending: [] };
}

function composeMulti(pending: readonly string[], next: { keysym?: string; char?: string }): ComposeResult {
  if (next.char === undefined) return { pending: [] };
  if (pending.length === 1) return { pending: ['Multi_key', next.char] };
  const a = pending[1]!;
  const b = next.char;
  const symbol = COMPOSE_SYMBOLS[a + b] ?? COMPOSE_SYMBOLS[b + a];
  if (symbol) return { text: symbol, pending: [] };
  const accentA = COMPOSE_ACCENTS[a];
  const accentB = COMPOSE_ACCENTS[b];
  const composed =
    (accentA ? withAccents([accentA], b) : undefined) ?? (accentB ? withAccents([accentB], a) : undefined);
  // An unknown sequence types nothing, as X input methods do.
  return { text: composed ?? '', pending: [] };
}
