// The labelled corpus (test/corpus/*.tsv): realistic window titles and URLs. Floors agreed in
// issue 6: recall >= 0.95 on should-flag (a match in the labelled category, any severity),
// false positives <= 2% on must-not-flag (any match at all), at the default age band.
import { describe, expect, it } from 'vitest';
import { createMatcher } from '../src/index.ts';
import { loadCorpus, scoreCorpus } from './corpus.ts';

export const RECALL_FLOOR = 0.95;
/** Issue 6 agreed 2%; issue 16 lowered it to 1%. */
export const FALSE_POSITIVE_CEILING = 0.01;

describe('keyword corpus', () => {
  it('holds at least 300 labelled texts, identity-word titles among the must-not-flag ones', () => {
    const c = loadCorpus();
    expect(c.shouldFlag.length + c.mustNotFlag.length).toBeGreaterThanOrEqual(300);
    const texts = c.mustNotFlag.map((m) => m.text);
    for (const t of ['LGBT history month assembly', 'Islam RE homework', 'Autism support group'])
      expect(texts.some((x) => x.includes(t))).toBe(true);
  });

  it(`meets the floors: recall >= ${RECALL_FLOOR}, false positives <= ${FALSE_POSITIVE_CEILING * 100}%`, () => {
    const s = scoreCorpus(createMatcher({ ageBand: 'secondary' }));
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    console.log(
      `keyword corpus: recall ${pct(s.recall)} (${s.counts.shouldFlag - s.missed.length}/${s.counts.shouldFlag}), ` +
        `false positives ${pct(s.falsePositiveRate)} (${s.falsePositives.length}/${s.counts.mustNotFlag}), ` +
        `educational context recognised ${pct(s.educationalRecall)} (${s.counts.educational - s.educationalMissed.length}/${s.counts.educational})`,
    );
    for (const m of s.missed) console.log(`  missed [${m.category}] should-flag.tsv:${m.line} ${m.text}`);
    for (const f of s.falsePositives)
      console.log(
        `  false positive must-not-flag.tsv:${f.item.line} ${f.item.text} -> ${f.terms.join(', ')}`,
      );
    for (const m of s.educationalMissed)
      console.log(`  educational not recognised educational.tsv:${m.line} ${m.text}`);
    expect(s.recall).toBeGreaterThanOrEqual(RECALL_FLOOR);
    expect(s.falsePositiveRate).toBeLessThanOrEqual(FALSE_POSITIVE_CEILING);
    expect(s.educationalRecall).toBeGreaterThanOrEqual(0.9);
  });

  it('reports the other age bands too (informational: the floors apply to secondary)', () => {
    for (const ageBand of ['primary', 'staff'] as const) {
      const s = scoreCorpus(createMatcher({ ageBand }));
      console.log(
        `keyword corpus (${ageBand}): recall ${(s.recall * 100).toFixed(1)}%, false positives ${(s.falsePositiveRate * 100).toFixed(1)}%` +
          (s.falsePositives.length
            ? ` — ${s.falsePositives.map((f) => `${f.item.text} -> ${f.terms.join(', ')}`).join('; ')}`
            : ''),
      );
      expect(s.counts.shouldFlag).toBeGreaterThan(0);
    }
  });

  it('recognises every category in the corpus', () => {
    const c = loadCorpus();
    expect(new Set(c.shouldFlag.map((s) => s.category)).size).toBe(11);
  });
});
