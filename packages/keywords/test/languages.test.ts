// The ten languages beside English (issue 16): each language's own corpus (test/corpus/languages),
// the typed/page-text corpus, and identity words in every language. Floors: recall >= 0.9 per
// language, >= 0.95 over all of them and on typed text; false positives <= 1% over everything.
// These corpora were written by the engineer who wrote the library, so they flatter it; no blind
// corpus exists yet (see README).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMatcher, DATA_DIR, LANGUAGES } from '../src/index.ts';
import { loadCorpus, scoreCorpus, scoreMixed } from './corpus.ts';

const secondary = createMatcher({ ageBand: 'secondary' });
const codes = Object.keys(LANGUAGES).filter((c) => c !== 'en');
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

describe('languages beside English', () => {
  it('has a data folder and a corpus for every language', () => {
    const folders = readdirSync(join(DATA_DIR, 'languages')).sort();
    expect(folders).toEqual([...codes].sort());
    for (const code of codes)
      expect(scoreMixed(secondary, `languages/${code}.tsv`).shouldFlag).toBeGreaterThanOrEqual(12);
  });

  it('meets recall >= 0.9 on each language, >= 0.95 over all of them', () => {
    let caught = 0;
    let total = 0;
    const failing: string[] = [];
    for (const code of codes) {
      const s = scoreMixed(secondary, `languages/${code}.tsv`);
      caught += s.shouldFlag - s.missed.length;
      total += s.shouldFlag;
      console.log(
        `corpus ${code}: recall ${pct(s.recall)} (${s.shouldFlag - s.missed.length}/${s.shouldFlag}), ` +
          `false positives ${s.falsePositives.length}/${s.mustNotFlag}`,
      );
      for (const m of s.missed) console.log(`  missed [${m.category}] ${code}.tsv:${m.line} ${m.text}`);
      if (s.recall < 0.9) failing.push(code);
    }
    expect(failing).toEqual([]);
    expect(caught / total).toBeGreaterThanOrEqual(0.95);
  });

  it('meets recall >= 0.95 on typed and page text', () => {
    const s = scoreMixed(secondary, 'typed.tsv');
    console.log(
      `corpus typed/page: recall ${pct(s.recall)} (${s.shouldFlag - s.missed.length}/${s.shouldFlag})`,
    );
    for (const m of s.missed) console.log(`  missed [${m.category}] typed.tsv:${m.line} ${m.text}`);
    expect(s.shouldFlag).toBeGreaterThanOrEqual(50);
    expect(s.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps false positives <= 1% over every must-not-flag line (English, typed, each language)', () => {
    const english = scoreCorpus(secondary);
    let fp = english.falsePositives.length;
    let total = english.counts.mustNotFlag;
    for (const file of ['typed.tsv', ...codes.map((c) => `languages/${c}.tsv`)]) {
      const s = scoreMixed(secondary, file);
      for (const f of s.falsePositives)
        console.log(`  false positive ${file}:${f.item.line} ${f.item.text} -> ${f.terms.join(', ')}`);
      fp += s.falsePositives.length;
      total += s.mustNotFlag;
    }
    console.log(`must-not-flag overall: ${fp}/${total} (${pct(fp / total)})`);
    expect(total).toBeGreaterThanOrEqual(loadCorpus().mustNotFlag.length + 200);
    expect(fp / total).toBeLessThanOrEqual(0.01);
  });

  it('never flags an identity word of any language on its own, in any age band', () => {
    const flagged: string[] = [];
    let words = 0;
    for (const ageBand of ['primary', 'secondary', 'staff'] as const) {
      const m = createMatcher({ ageBand });
      for (const code of codes) {
        const file = readFileSync(join(DATA_DIR, 'languages', code, 'identity.tsv'), 'utf8');
        for (const line of file.split('\n').slice(1)) {
          const word = line.split('\t')[0]!.trim();
          if (word === '' || word.startsWith('#') || word === 'word') continue;
          words++;
          for (const text of [word, word.toUpperCase(), `${word} ${word}`])
            if (m.match(text).length > 0) flagged.push(`${ageBand} ${code}: ${text}`);
        }
      }
    }
    expect(words).toBeGreaterThanOrEqual(codes.length * 10 * 3);
    expect(flagged).toEqual([]);
  });

  it('reports language codes on non-English matches, and rule fields on rule matches', () => {
    const [pl] = secondary.match('chcę umrzeć');
    expect(pl).toMatchObject({ category: 'suicide', language: 'pl', term: 'chce umrzec' });
    const [ar] = secondary.match('والانتحار'); // Arabic "and the suicide": a proclitic variant
    expect(ar).toMatchObject({ category: 'suicide', language: 'ar', start: 0, end: 9 });
    const [cy] = secondary.match('sut i guddio creithiau'); // Welsh soft mutation of cuddio
    expect(cy).toMatchObject({ category: 'self-harm', language: 'cy' });
    const [rule] = secondary.match('500 robux for a pic of you');
    expect(rule).toMatchObject({ category: 'grooming', rule: 'gr-currency-for-photo' });
    expect(rule!.description).toMatch(/currency/);
    expect(rule!.language).toBeUndefined();
  });
});

describe('the library with rules', () => {
  it('has rules for every kind the held-back sets missed', () => {
    const ids = new Set(
      secondary
        .match(
          [
            'which blade from a sharpener is best to cut myself',
            'jump off the bridge tonight',
            '1000 robux for a pic',
            'download the turner diaries pdf',
            'how many paracetamol to die',
            'how to hide my cuts',
            'bringing a blade to school',
            'anyone got za',
            'used my mums card on the casino',
            'havent eaten for 3 days',
          ].join(' . . . . . . . . . . . . . . '),
        )
        .map((m) => m.category),
    );
    expect([...ids].sort()).toEqual(
      [
        'drugs',
        'eating-disorders',
        'extremism',
        'gambling',
        'grooming',
        'self-harm',
        'suicide',
        'weapons',
      ].sort(),
    );
  });
});
