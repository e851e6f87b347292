// Issue 16 item 3: the library's size and shape. The corpus tests (corpus.test.ts, languages.test.ts)
// hold its quality; this file holds what a reviewer would check by hand: at least 5,000 entries,
// every category and language represented, rule ids unique (a rule's id is what a match reports).
import { describe, expect, it } from 'vitest';
import { CATEGORIES, LANGUAGES, libraryStats, loadLibrary } from '../src/index.ts';

describe('the shipped library (issue 16 coverage)', () => {
  it('has at least 5,000 entries (terms + rules), with rules for intent in every category', () => {
    const stats = libraryStats();
    expect(stats.entries).toBeGreaterThanOrEqual(5000);
    expect(stats.entries).toBe(stats.terms + stats.rules);
    const rules = loadLibrary().rules ?? [];
    for (const c of CATEGORIES) {
      expect(stats.byCategory[c] ?? 0, c).toBeGreaterThanOrEqual(250);
      expect(
        rules.filter((r) => r.category === c && r.language === 'en').length,
        `${c} rules`,
      ).toBeGreaterThanOrEqual(5);
    }
  });

  it('has entries in every language beside English', () => {
    const stats = libraryStats();
    for (const code of Object.keys(LANGUAGES))
      expect(stats.byLanguage[code] ?? 0, code).toBeGreaterThanOrEqual(40);
  });

  it('gives every rule its own id', () => {
    const seen = new Map<string, string>();
    for (const r of loadLibrary().rules ?? []) {
      expect(seen.get(r.id), `${r.source} reuses the id of ${seen.get(r.id)}`).toBeUndefined();
      seen.set(r.id, r.source);
    }
  });
});
