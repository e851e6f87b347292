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

  it('agrees with a naive search when patterns mix ASCII and other scripts (sparse path), deep and shallow', () => {
    let seed = 9;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const letters = ['a', 'b', ' ', 'ا', 'ل', 'আ', '্'];
    const word = (len: number) =>
      Array.from({ length: len }, () => letters[Math.floor(rand() * letters.length)]).join('');
    for (let round = 0; round < 100; round++) {
      const patterns = Array.from({ length: 1 + Math.floor(rand() * 12) }, () =>
        word(1 + Math.floor(rand() * 12)),
      );
      const text = `${word(300)}xyz${word(100)}`;
      const hits: string[] = [];
      buildAutomaton(patterns).scan(text, (p, s) => hits.push(`${p}@${s}`));
      expect(hits.sort()).toEqual(naive(patterns, text));
      const codes = Uint16Array.from(text, (c) => c.charCodeAt(0));
      const padded: string[] = [];
      buildAutomaton(patterns).scanCodes(codes, codes.length, 32, (p, s) => padded.push(`${p}@${s}`));
      expect(padded.sort()).toEqual(naive(patterns, ` ${text} `));
    }
  });
});
