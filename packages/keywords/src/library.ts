// The keyword library: plain TSV files under packages/keywords/data/, one per category, so a
// change to the library is a readable diff. This file parses them (pure) and loads them once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuleFile, type RuleEntry } from './rules.ts';

export const CATEGORIES = [
  'suicide',
  'self-harm',
  'eating-disorders',
  'bullying',
  'grooming',
  'sexual',
  'extremism',
  'hate',
  'drugs',
  'weapons',
  'gambling',
] as const;
export type Category = (typeof CATEGORIES)[number];

export type AgeBand = 'primary' | 'secondary' | 'staff';

/**
 * Languages beside English, one folder each under data/languages/. Urdu and Punjabi are written
 * both in their own script and romanised (chat), so each has two folders.
 */
export const LANGUAGES = {
  en: 'English',
  cy: 'Welsh',
  pl: 'Polish',
  ro: 'Romanian',
  ur: 'Urdu (Arabic script)',
  'ur-latn': 'Urdu (romanised)',
  pa: 'Punjabi (Gurmukhi)',
  'pa-latn': 'Punjabi (romanised)',
  bn: 'Bengali',
  ar: 'Arabic',
  es: 'Spanish',
  pt: 'Portuguese',
  lt: 'Lithuanian',
} as const;
export type Language = keyof typeof LANGUAGES;

export const BAND_LETTERS: Record<string, AgeBand> = { p: 'primary', s: 'secondary', t: 'staff' };

export interface TermEntry {
  /** The term as written in the library (may end in `*` = also matches longer words with this start). */
  term: string;
  category: string;
  severity: number;
  bands: AgeBand[];
  /** `keep`: an educational context does not lower this term's severity (e.g. grooming phrases). */
  educational: 'lower' | 'keep';
  /** Phrases that contain the term and make it harmless ("photo shoot" for "shoot"). */
  exceptions: string[];
  notes: string;
  /** file:line, for error messages and the audit CLI. */
  source: string;
  /** Language code of the entry (`en`, `cy`, `pl`, `ur`, `ur-latn`, ...; see LANGUAGES). */
  language?: string;
}

export interface ContextCue {
  phrase: string;
  notes: string;
  source: string;
}

export class LibraryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LibraryFormatError';
  }
}

/** Data rows of a TSV file (comments, blank lines and the header, whose first column is `header`, skipped). */
export function dataLines(text: string, header = 'term'): { cols: string[]; line: number }[] {
  const rows: { cols: string[]; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    if (i === firstContentLine(lines) && raw.startsWith(`${header}\t`)) continue; // header
    rows.push({ cols: raw.split('\t'), line: i + 1 });
  }
  return rows;
}

function firstContentLine(lines: string[]): number {
  for (let i = 0; i < lines.length; i++)
    if (!(lines[i]!.trim() === '' || lines[i]!.startsWith('#'))) return i;
  return -1;
}

/**
 * Parses one category file. Columns (tab-separated; trailing ones may be omitted):
 * term, severity (1-5), bands (letters p/s/t, default pst), educational (lower|keep, default lower),
 * exceptions (;-separated phrases), notes.
 */
export function parseTermFile(text: string, category: string, file: string, language = 'en'): TermEntry[] {
  const entries: TermEntry[] = [];
  for (const { cols, line } of dataLines(text)) {
    const where = `${file}:${line}`;
    const [term = '', sev = '', bands = '', edu = '', exceptions = '', notes = ''] = cols;
    if (term.trim() === '' || term !== term.trim())
      throw new LibraryFormatError(`${where}: empty or padded term`);
    const severity = Number(sev);
    if (!Number.isInteger(severity) || severity < 1 || severity > 5)
      throw new LibraryFormatError(`${where}: severity must be 1-5 (got "${sev}")`);
    const bandList = bands.trim() === '' ? 'pst' : bands.trim();
    if (!/^[pst]+$/.test(bandList))
      throw new LibraryFormatError(`${where}: bands must be letters p, s, t (got "${bands}")`);
    const eduValue = edu.trim() === '' ? 'lower' : edu.trim();
    if (eduValue !== 'lower' && eduValue !== 'keep')
      throw new LibraryFormatError(`${where}: educational must be lower or keep (got "${edu}")`);
    entries.push({
      term,
      category,
      severity,
      bands: [...new Set(bandList)].map((l) => BAND_LETTERS[l]!),
      educational: eduValue,
      exceptions: exceptions
        .split(';')
        .map((e) => e.trim())
        .filter((e) => e !== '' && e !== '-'),
      notes: notes.trim(),
      source: where,
      language,
    });
  }
  return entries;
}

/** Parses a context-cue file: phrase, notes. */
export function parseCueFile(text: string, file: string): ContextCue[] {
  return dataLines(text, 'phrase').map(({ cols, line }) => {
    const phrase = (cols[0] ?? '').trim();
    if (phrase === '') throw new LibraryFormatError(`${file}:${line}: empty phrase`);
    return { phrase, notes: (cols[1] ?? '').trim(), source: `${file}:${line}` };
  });
}

export interface Library {
  terms: TermEntry[];
  /** Phrase and proximity rules (data/rules, data/languages/<code>/rules); absent = none. */
  rules?: RuleEntry[];
  /** Negation cues a rule's `@neg` refers to (data/context/negation.tsv). */
  negations?: ContextCue[];
  educationalCues: ContextCue[];
  /** Phrases that make any term inside them harmless ("relationships and sex education"). */
  allow: ContextCue[];
}

export const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'data');

/**
 * Held weakly: a matcher keeps only what it needs, so a long-running process (the agent) does
 * not keep the whole parsed library with its notes once its matcher is built. It is parsed again
 * (a few ms) when a matcher is next built after it was collected.
 */
let loaded: WeakRef<Library> | undefined;

/** Loads (once while in use) and returns the built-in library. Throws LibraryFormatError on a malformed file. */
export function loadLibrary(): Library {
  const cached = loaded?.deref();
  if (cached) return cached;
  const terms: TermEntry[] = [];
  const rules: RuleEntry[] = [];
  const folders: { dir: string; language: string }[] = [{ dir: '', language: 'en' }];
  for (const code of Object.keys(LANGUAGES))
    if (code !== 'en' && existsSync(join(DATA_DIR, 'languages', code)))
      folders.push({ dir: `languages/${code}/`, language: code });
  for (const { dir, language } of folders) {
    for (const [kind, parse] of [
      ['terms', parseTermFile],
      ['rules', parseRuleFile],
    ] as const) {
      const at = join(DATA_DIR, dir, kind);
      if (!existsSync(at)) continue;
      for (const f of readdirSync(at)
        .filter((x) => x.endsWith('.tsv'))
        .sort()) {
        const category = f.replace(/\.tsv$/, '');
        if (!(CATEGORIES as readonly string[]).includes(category))
          throw new LibraryFormatError(`data/${dir}${kind}/${f}: unknown category "${category}"`);
        const parsed = parse(readFileSync(join(at, f), 'utf8'), category, `${dir}${kind}/${f}`, language);
        if (kind === 'terms') terms.push(...(parsed as TermEntry[]));
        else rules.push(...(parsed as RuleEntry[]));
      }
    }
  }
  const negations = parseCueFile(
    readFileSync(join(DATA_DIR, 'context', 'negation.tsv'), 'utf8'),
    'context/negation.tsv',
  );
  const educationalCues = parseCueFile(
    readFileSync(join(DATA_DIR, 'context', 'educational.tsv'), 'utf8'),
    'context/educational.tsv',
  );
  const allow = parseCueFile(
    readFileSync(join(DATA_DIR, 'context', 'allow.tsv'), 'utf8'),
    'context/allow.tsv',
  );
  const library: Library = { terms, rules, negations, educationalCues, allow };
  loaded = new WeakRef(library);
  return library;
}

export interface LibraryStats {
  terms: number;
  rules: number;
  /** terms + rules */
  entries: number;
  /** Terms and rules per language code. */
  byLanguage: Record<string, number>;
  byCategory: Record<string, number>;
  bySeverity: Record<string, number>;
  byBand: Record<AgeBand, number>;
  educationalCues: number;
  allowPhrases: number;
}

export function libraryStats(lib: Library = loadLibrary()): LibraryStats {
  const byCategory: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  const byBand: Record<AgeBand, number> = { primary: 0, secondary: 0, staff: 0 };
  const byLanguage: Record<string, number> = {};
  const rules = lib.rules ?? [];
  for (const t of [...lib.terms, ...rules]) {
    const language = t.language ?? 'en';
    byLanguage[language] = (byLanguage[language] ?? 0) + 1;
    byCategory[t.category] = (byCategory[t.category] ?? 0) + 1;
    bySeverity[String(t.severity)] = (bySeverity[String(t.severity)] ?? 0) + 1;
    for (const b of t.bands) byBand[b]++;
  }
  return {
    terms: lib.terms.length,
    rules: rules.length,
    entries: lib.terms.length + rules.length,
    byLanguage,
    byCategory,
    bySeverity,
    byBand,
    educationalCues: lib.educationalCues.length,
    allowPhrases: lib.allow.length,
  };
}
