import { describe, expect, it } from 'vitest';
import { buildAutomaton } from '../src/aho-corasick.ts';

function naive(patterns: string[], text: string): string[] {
  const hits: string[] = [];
  patterns.forEach((p, pi) => {
    for (let i = text.indexOf(p); i !== -1; i = text.indexOf(p, i + 1)) hits.push(`${pi}@${i}`);
  });
  return hits.sort();
}

describe('buildAutomaton', () => {
  it('finds every occurrence of every pattern, overlaps included', () => {
    const patterns = ['he', 'she', 'his', 'hers', 'e'];
    const hits: string[] = [];
    buildAutomaton(patterns).scan('ushers', (p, s, e) => {
      expect(e - s).toBe(patterns[p]!.length);
      hits.push(`${p}@${s}`);
    });
    expect(hits.sort()).toEqual(naive(patterns, 'ushers'));
  });

  it('agrees with a naive search on random text over a small alphabet', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const word = (len: number) => Array.from({ length: len }, () => 'abc '[Math.floor(rand() * 4)]).join('');
    for (let round = 0; round < 50; round++) {
      const patterns = Array.from({ length: 1 + Math.floor(rand() * 8) }, () =>
        word(1 + Math.floor(rand() * 4)),
      );
      const text = word(200) + 'xyz' + word(50); // characters outside the alphabet reset the automaton
      const hits: string[] = [];
      buildAutomaton(patterns).scan(text, (p, s) => hits.push(`${p}@${s}`));
      expect(hits.sort()).toEqual(naive(patterns, text));
    }
  });
});
