import { describe, expect, it } from 'vitest';
import { normalise } from '../src/normalise.ts';

/** The original text a normalised range came from. */
function source(input: string, from: number, to: number): string {
  const n = normalise(input);
  return input.slice(n.starts[from], n.ends[to - 1]);
}

describe('normalise', () => {
  it('folds case, diacritics and look-alike letters', () => {
    expect(normalise('Ça VA Très BIEN').text).toBe('ca va tres bien');
    expect(normalise('Ѕех').text).toBe('sex'); // Cyrillic Ѕ, е, х
    expect(normalise('ｋｉｌｌ').text).toBe('kil'); // fullwidth
  });

  it('reads leetspeak digits only inside words that have letters', () => {
    expect(normalise('su1c1de').text).toBe('suicide');
    expect(normalise('s3lf h4rm').text).toBe('self harm');
    expect(normalise('1488 and 420').text).toBe('148 and 420'); // runs collapse; digits stay digits
    expect(normalise('k!ll le$bean $ex').text).toBe('kil lesbean sex');
    expect(normalise('help!').text).toBe('help');
  });

  it('collapses repeated letters and keeps the run lengths', () => {
    const n = normalise('kiiiill asss');
    expect(n.text).toBe('kil as');
    expect(Array.from(n.runs)).toEqual([1, 4, 2, 1, 1, 3]);
  });

  it('joins spaced-out letters, breaking words where the separator differs', () => {
    expect(normalise('k i l l  m y s e l f').text).toBe('kil myself');
    expect(normalise('k.i.l.l m.y.s.e.l.f').text).toBe('kil myself');
    expect(normalise('s-e-x').text).toBe('sex');
    expect(normalise('a b').text).toBe('a b'); // two letters are not a spelled word
  });

  it('drops zero-width characters and apostrophes inside words', () => {
    expect(normalise('ki\u200bll my\u00adself').text).toBe('kil myself');
    expect(normalise("don't i'm").text).toBe('dont im');
    expect(normalise('don\u2019t').text).toBe('dont');
  });

  it('percent-decodes (UTF-8 aware, double encoding) with offsets into the original', () => {
    const url = 'https://x.test/?q=%6B%69%6C%6C%20myself';
    const n = normalise(url);
    expect(n.text).toBe('htps x test q kil myself');
    const at = n.text.indexOf('kil');
    expect(source(url, at, at + 3)).toBe('%6B%69%6C%6C');
    expect(normalise('caf%C3%A9').text).toBe('cafe');
    expect(normalise('%2520sex').text).toBe('sex');
    expect(normalise('100%').text).toBe('10'); // a lone % is not an escape (and runs collapse)
  });

  it('maps every normalised character back to its original span', () => {
    const input = 'Hello — K I L L  me NOW';
    const n = normalise(input);
    const k = n.text.indexOf('kil');
    expect(source(input, k, k + 3)).toBe('K I L L');
    const me = n.text.indexOf('me');
    expect(source(input, me, me + 2)).toBe('me');
    expect(n.starts.length).toBe(n.text.length);
    expect(n.ends.length).toBe(n.text.length);
  });

  it('copes with empty, separator-only and astral input', () => {
    expect(normalise('').text).toBe('');
    expect(normalise(' -- !! ').text).toBe('');
    expect(normalise('😀 kill 😀 me').text).toBe('kil me');
  });
});

describe('normalise: the scripts of the ten languages', () => {
  it('folds Polish, Romanian, Lithuanian, Welsh, Spanish and Portuguese diacritics', () => {
    expect(normalise('Samobójstwo ŁÓDŹ').text).toBe('samobojstwo lodz');
    expect(normalise('sinucidere știință ţară şcoală').text).toBe('sinucidere stinta tara scoala'); // ii collapses (run kept);
    expect(normalise('savižudybė ąčęįšųž').text).toBe('savizudybe aceisuz');
    expect(normalise('ŵyr ŷd').text).toBe('wyr yd');
    expect(normalise('suicidio não ação').text).toBe('suicidio nao acao');
  });

  it('folds Arabic and Urdu letter variants, tashkeel and tatweel, whatever the keyboard', () => {
    const want = normalise('خودکشی').text;
    expect(normalise('خودكشى').text).toBe(want); // Arabic kaf and alef maksura
    expect(normalise('الإنتحار').text).toBe(normalise('الانتحار').text);
    expect(normalise('اَلْاِنْتِحَار').text).toBe(normalise('الانتحار').text); // tashkeel
    expect(normalise('انـــتحار').text).toBe(normalise('انتحار').text); // tatweel
    expect(normalise('مدرسة').text).toBe(normalise('مدرسہ').text); // teh marbuta, Urdu heh
  });

  it('keeps Bengali and Gurmukhi vowel signs and virama, so different words stay different', () => {
    expect(normalise('আত্মহত্যা').text).toBe('আত্মহত্যা'.normalize('NFKD'));
    expect(normalise('কি').text).not.toBe(normalise('ক').text);
    expect(normalise('ਖ਼ੁਦਕੁਸ਼ੀ').text).toBe(normalise('ਖੁਦਕੁਸੀ').text); // nukta optional in Gurmukhi
    expect(normalise('ਖੁਦਕੁਸ਼ੀ').text).not.toBe(normalise('ਖੁਦਕਸੀ').text); // vowel sign kept
    expect(normalise('য়').text).not.toBe(normalise('য').text); // Bengali nukta kept
  });

  it('maps offsets back into right-to-left and combining-mark text', () => {
    const text = '\u202bأريد الانتحار\u202c';
    const n = normalise(text);
    const at = n.text.indexOf(normalise('الانتحار').text);
    expect(text.slice(n.starts[at], n.ends[at + normalise('الانتحار').text.length - 1])).toBe('الانتحار');
    const bn = 'আমি আত্মহত্যা করব';
    const b = normalise(bn);
    const word = normalise('আত্মহত্যা').text;
    const i = b.text.indexOf(word);
    expect(bn.slice(b.starts[i], b.ends[i + word.length - 1])).toBe('আত্মহত্যা');
  });
});

/**
 * Every corpus line (all kinds and languages) and random hostile text over an alphabet of the
 * tricks the normaliser undoes (leetspeak, digits inside words, spacing, escapes, other scripts).
 */
async function corpusAndRandomTexts(): Promise<string[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(import.meta.dirname, 'corpus');
  const texts: string[] = [];
  for (const f of readdirSync(dir))
    if (f.endsWith('.tsv')) texts.push(...readFileSync(join(dir, f), 'utf8').split('\n'));
  for (const f of readdirSync(join(dir, 'languages')))
    texts.push(...readFileSync(join(dir, 'languages', f), 'utf8').split('\n'));
  const alphabet = [
    ..."abkil .-!$@'1305%2B6ßéłـایਸ਼আ্*|x s",
    '\u200b',
    '😀',
    '\u2019',
    'Ѕ',
    'ﻻ',
    '\u202b',
    'kill',
    'k1ll',
    'year10 ',
    '4ever',
    'g00d',
    'm3',
  ];
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let k = 0; k < 5000; k++) {
    let t = '';
    for (let j = Math.floor(rnd() * 30); j > 0; j--) t += alphabet[Math.floor(rnd() * alphabet.length)];
    texts.push(t);
  }
  return texts;
}

describe('normalise: the one-pass fast path', () => {
  it('gives exactly what the four stages give, on every corpus line and on random hostile text', async () => {
    const { normaliseScratch, normaliseStaged } = await import('../src/normalise.ts');
    const texts = await corpusAndRandomTexts();
    const snapshot = (n: ReturnType<typeof normaliseScratch>) =>
      [n.codes, n.runs, n.starts, n.ends].map((a) => Array.from(a.subarray(0, n.length)).join()).join('|');
    let fused = 0;
    for (const t of texts) {
      const fast = snapshot(normaliseScratch(t));
      const staged = snapshot(normaliseStaged(t));
      expect(fast, JSON.stringify(t)).toBe(staged);
      if (!/[%!$@|€¡'’`\d*]/.test(t)) fused++;
    }
    expect(fused).toBeGreaterThan(500); // the fast path was really exercised
  });

  it('scans as it normalises: the same reports, in the same order, as scanning what the four stages give', async () => {
    const { normaliseAndScan, normaliseStaged } = await import('../src/normalise.ts');
    const { buildAutomaton } = await import('../src/aho-corasick.ts');
    const { loadLibrary } = await import('../src/library.ts');
    // the matcher's kind of automaton: every library term normalised, a space before, and after
    const lib = loadLibrary();
    const patterns = lib.terms.map((t) => ` ${normalise(t.term.replace(/\*$/, '')).text} `);
    patterns.push(' how ', ' how to ', ' my ', ' i ', ' a', ' 4 ');
    const automaton = buildAutomaton(patterns);
    expect(automaton.tables.rootExit).toBe(automaton.tables.alpha[32]); // the idle-root shortcut applies
    const texts = await corpusAndRandomTexts();
    let reported = 0;
    for (const t of texts) {
      const staged = normaliseStaged(t);
      const codes = staged.codes.slice(0, staged.length);
      const starts = staged.starts.slice(0, staged.length);
      const want: string[] = [];
      automaton.scanCodes(codes, codes.length, 32, (p, s, e) => want.push(`${p}@${s}-${e}`));
      const n = normaliseAndScan(t, automaton.tables);
      expect(Array.from(n.codes.subarray(0, n.length)), JSON.stringify(t)).toEqual(Array.from(codes));
      expect(Array.from(n.starts.subarray(0, n.length)), JSON.stringify(t)).toEqual(Array.from(starts));
      const got: string[] = [];
      for (let k = 0; k < n.hitCount; k++)
        automaton.tables.report(n.hitPairs[2 * k]!, n.hitPairs[2 * k + 1]!, (p, s, e) =>
          got.push(`${p}@${s}-${e}`),
        );
      expect(got, JSON.stringify(t)).toEqual(want);
      reported += got.length;
    }
    expect(reported).toBeGreaterThan(1000); // the texts really hit patterns
  });
});
