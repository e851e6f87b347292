// Loads the labelled corpus (test/corpus/*.tsv) and scores a matcher on it. Shared by the corpus
// test and anyone auditing the library by hand.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Matcher } from '../src/index.ts';

const DIR = join(import.meta.dirname, 'corpus');

export interface LabelledText {
  text: string;
  category: string;
  line: number;
}

/** Data rows: blank and `#` lines skipped, and the header (the first other line). */
function rows(file: string): { cols: string[]; line: number }[] {
  return readFileSync(join(DIR, file), 'utf8')
    .split('\n')
    .map((l, i) => ({ cols: l.split('\t'), line: i + 1 }))
    .filter((r) => r.cols[0] !== '' && !r.cols[0]!.startsWith('#'))
    .slice(1);
}

export function loadCorpus(): {
  shouldFlag: LabelledText[];
  mustNotFlag: LabelledText[];
  educational: LabelledText[];
} {
  const labelled = (file: string) =>
    rows(file).map(({ cols, line }) => ({ text: cols[0]!, category: cols[1] ?? '', line }));
  return {
    shouldFlag: labelled('should-flag.tsv'),
    mustNotFlag: labelled('must-not-flag.tsv'),
    educational: labelled('educational.tsv'),
  };
}

export interface CorpusScore {
  recall: number;
  falsePositiveRate: number;
  educationalRecall: number;
  missed: LabelledText[];
  falsePositives: { item: LabelledText; terms: string[] }[];
  educationalMissed: LabelledText[];
  counts: { shouldFlag: number; mustNotFlag: number; educational: number };
}

export function scoreCorpus(matcher: Matcher): CorpusScore {
  const c = loadCorpus();
  const missed = c.shouldFlag.filter((s) => !matcher.match(s.text).some((m) => m.category === s.category));
  const falsePositives = c.mustNotFlag
    .map((item) => ({ item, terms: matcher.match(item.text).map((m) => `${m.term} (${m.category})`) }))
    .filter((f) => f.terms.length > 0);
  const educationalMissed = c.educational.filter(
    (s) => !matcher.match(s.text).some((m) => m.category === s.category && m.educational),
  );
  return {
    recall: 1 - missed.length / c.shouldFlag.length,
    falsePositiveRate: falsePositives.length / c.mustNotFlag.length,
    educationalRecall: 1 - educationalMissed.length / c.educational.length,
    missed,
    falsePositives,
    educationalMissed,
    counts: {
      shouldFlag: c.shouldFlag.length,
      mustNotFlag: c.mustNotFlag.length,
      educational: c.educational.length,
    },
  };
}

/** A corpus where each line is labelled with a category, or `-` for must-not-flag. */
export function loadMixedCorpus(file: string): { shouldFlag: LabelledText[]; mustNotFlag: LabelledText[] } {
  const all = rows(file).map(({ cols, line }) => ({ text: cols[0]!, category: cols[1] ?? '', line }));
  return {
    shouldFlag: all.filter((r) => r.category !== '-'),
    mustNotFlag: all.filter((r) => r.category === '-'),
  };
}

export interface MixedScore {
  recall: number;
  missed: LabelledText[];
  falsePositives: { item: LabelledText; terms: string[] }[];
  shouldFlag: number;
  mustNotFlag: number;
}

/** Recall (a match in the labelled category) and false positives (any match) on a mixed corpus. */
export function scoreMixed(matcher: Matcher, file: string): MixedScore {
  const c = loadMixedCorpus(file);
  const missed = c.shouldFlag.filter((s) => !matcher.match(s.text).some((m) => m.category === s.category));
  const falsePositives = c.mustNotFlag
    .map((item) => ({
      item,
      terms: matcher.match(item.text).map((m) => `${m.rule ?? m.term} (${m.category})`),
    }))
    .filter((f) => f.terms.length > 0);
  return {
    recall: c.shouldFlag.length === 0 ? 0 : 1 - missed.length / c.shouldFlag.length,
    missed,
    falsePositives,
    shouldFlag: c.shouldFlag.length,
    mustNotFlag: c.mustNotFlag.length,
  };
}
