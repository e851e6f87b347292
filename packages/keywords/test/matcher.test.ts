import { describe, expect, it } from 'vitest';
import {
  CATEGORIES,
  createMatcher,
  EDUCATIONAL_SEVERITY_DROP,
  type Library,
  libraryStats,
  loadLibrary,
  normalise,
  parseTermFile,
} from '../src/index.ts';

const secondary = createMatcher({ ageBand: 'secondary' });

function terms(text: string, m = secondary): string[] {
  return m.match(text).map((x) => x.term);
}

/** A tiny library for rule tests, independent of the shipped data. */
function lib(tsv: string, cues = '', allow = ''): Library {
  return {
    terms: parseTermFile(
      `term\tseverity\tbands\teducational\texceptions\tnotes\n${tsv}`,
      'weapons',
      'test.tsv',
    ),
    educationalCues: cues === '' ? [] : cues.split(',').map((phrase) => ({ phrase, notes: '', source: 't' })),
    allow: allow === '' ? [] : allow.split(',').map((phrase) => ({ phrase, notes: '', source: 't' })),
  };
}

describe('the shipped library', () => {
  it('has at least 1,000 terms across every required category', () => {
    const stats = libraryStats();
    expect(stats.terms).toBeGreaterThanOrEqual(1000);
    for (const c of CATEGORIES) expect(stats.byCategory[c] ?? 0, c).toBeGreaterThanOrEqual(60);
    for (const s of ['1', '2', '3', '4', '5']) expect(stats.bySeverity[s] ?? 0).toBeGreaterThan(0);
  });

  it('has no two terms that normalise to the same thing', () => {
    const seen = new Map<string, string>();
    for (const t of loadLibrary().terms) {
      const n = normalise(t.term.replace(/\*$/, ''));
      const key = `${n.text}|${Array.from(n.runs).join(',')}|${t.term.endsWith('*')}`;
      expect(seen.get(key), `${t.source} duplicates ${seen.get(key)}`).toBeUndefined();
      seen.set(key, t.source);
      expect(n.text.trim(), t.source).not.toBe('');
    }
  });

  it('never flags identity words on their own, in any age band', () => {
    const identity = [
      'gay',
      'lesbian',
      'bisexual',
      'bi',
      'trans',
      'transgender',
      'queer',
      'lgbt',
      'lgbtq',
      'lgbtqia',
      'non binary',
      'nonbinary',
      'asexual',
      'intersex',
      'pride',
      'homosexual',
      'muslim',
      'islam',
      'islamic',
      'jew',
      'jewish',
      'judaism',
      'christian',
      'catholic',
      'hindu',
      'sikh',
      'buddhist',
      'atheist',
      'mosque',
      'synagogue',
      'church',
      'black',
      'white',
      'asian',
      'african',
      'caribbean',
      'chinese',
      'indian',
      'pakistani',
      'polish',
      'romanian',
      'irish',
      'gypsy',
      'roma',
      'traveller',
      'immigrant',
      'refugee',
      'arab',
      'mexican',
      'japanese',
      'disabled',
      'disability',
      'autism',
      'autistic',
      'adhd',
      'dyslexia',
      'deaf',
      'blind',
      'wheelchair',
      'down syndrome',
      'cerebral palsy',
      'le$bean',
      'g@y',
      'tr4ns',
      'lesbians',
      'gays',
      'muslims',
      'jews',
    ];
    for (const ageBand of ['primary', 'secondary', 'staff'] as const) {
      const m = createMatcher({ ageBand });
      for (const w of identity) expect(terms(w, m), `${w} (${ageBand})`).toEqual([]);
    }
  });
});

describe('createMatcher', () => {
  it('has no Scunthorpe problem', () => {
    for (const text of [
      'Scunthorpe',
      'Essex',
      'cocktail',
      'therapist',
      'assassin',
      'analysis',
      'grape',
      'Sussex',
      'Middlesex',
      'shitake',
      'class',
      'pass',
      'button',
      'Cockburn',
      'Dickens',
      'Hancock',
      'Penistone',
      'Cumbria',
      'Arsenal',
      'scrape',
      'drape',
      'sextant',
      'analyst',
      'niggle',
      'raccoon',
      'Sexton',
      'cocktails',
      'peacock',
      'spicy',
      'skunkworks',
      'weeder',
      'ketchup',
      'methane',
      'hobbit',
      'cockpit',
      'assassins creed',
      'therapists',
    ]) {
      expect(terms(text), text).toEqual([]);
    }
  });

  it('reports offsets in the original text, whatever normalisation undid', () => {
    for (const [text, expected] of [
      ['why k i l l  m y s e l f today', 'k i l l  m y s e l f'],
      ['https://www.google.com/search?q=%6B%69%6C%6C+myself&oq=1', '%6B%69%6C%6C+myself'],
      ['Ｐｏｒｎｈｕｂ!', 'Ｐｏｒｎｈｕｂ'],
      ['ok su1c1de?', 'su1c1de'],
      ['#KillMyself lol', 'KillMyself'],
      ['I want to dieeee', 'I want to dieeee'],
    ] as const) {
      const found = secondary.match(text);
      expect(found.length, text).toBeGreaterThan(0);
      const widest = found.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
      expect(text.slice(widest.start, widest.end)).toBe(expected);
    }
  });

  it('matches algospeak and euphemisms', () => {
    expect(secondary.match('unalive')[0]).toMatchObject({ category: 'suicide' });
    expect(secondary.match('sewerslide')[0]).toMatchObject({ category: 'suicide' });
    expect(secondary.match('kms')[0]).toMatchObject({ category: 'suicide' });
    expect(secondary.match('seggs')[0]).toMatchObject({ category: 'sexual' });
    expect(secondary.match('corn star')[0]).toMatchObject({ category: 'sexual' });
    expect(terms('corn on the cob')).toEqual([]);
  });

  it('reads a letter masked with * as each vowel in turn, with original offsets', () => {
    expect(secondary.match('best p*rn ever')[0]).toMatchObject({ term: 'porn', start: 5, end: 9 });
    expect(secondary.match('f*gg*t')[0]).toMatchObject({
      term: 'faggot',
      category: 'hate',
      start: 0,
      end: 6,
    });
    expect(terms('5 * 3 = 15')).toEqual([]);
    // far into a long text, with the educational cue outside the re-matched window
    const long = `Romeo and Juliet ${'filler '.repeat(100)}the s*icide scene`;
    const [m] = secondary.match(long);
    expect(m).toMatchObject({ term: 'suicide', educational: true });
    expect(long.slice(m!.start, m!.end)).toBe('s*icide');
    expect(m!.severity).toBeLessThan(secondary.match('suicide')[0]!.severity);
    expect(terms('p*p music')).toEqual([]);
  });

  it('tells emphasis from a different word', () => {
    expect(terms('kiiiiill myself')).toContain('kill myself');
    expect(terms('kil myself')).toEqual([]); // a single l is not "kill"
    const m = createMatcher({ ageBand: 'secondary', library: lib('ass\t2') });
    expect(terms('ass', m)).toEqual(['ass']);
    expect(terms('asssss', m)).toEqual(['ass']);
    expect(terms('as', m)).toEqual([]);
  });

  it('applies per-term exceptions (covering phrases and ~context words)', () => {
    const m = createMatcher({
      ageBand: 'secondary',
      library: lib('shoot\t3\tpst\tlower\tphoto shoot;~camera\nstab\t3'),
    });
    expect(terms('shoot him', m)).toEqual(['shoot']);
    expect(terms('photo shoot tomorrow', m)).toEqual([]);
    expect(terms('shoot with the camera', m)).toEqual([]);
    expect(terms('photo shoot then shoot him', m)).toEqual(['shoot']);
    expect(terms('photo shoot and stab', m)).toEqual(['stab']); // an exception only covers its own term
  });

  it('lowers severity in an evident educational context without hiding the match', () => {
    const m = createMatcher({
      ageBand: 'secondary',
      library: lib('stab\t4\nstab him\t5\tpst\tkeep', 'revision,romeo and juliet'),
    });
    expect(m.match('stab')[0]).toMatchObject({ severity: 4, educational: false });
    expect(m.match('Romeo and Juliet stab')[0]).toMatchObject({
      severity: 4 - EDUCATIONAL_SEVERITY_DROP,
      educational: true,
    });
    expect(m.match('stab him - revision')[0]).toMatchObject({
      term: 'stab him',
      severity: 5,
      educational: true,
    });
    // on the shipped library
    const r = secondary.match('Romeo and Juliet - suicide scene - BBC Bitesize');
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ category: 'suicide', educational: true });
    expect(r[0]!.severity).toBeLessThan(secondary.match('suicide')[0]!.severity);
  });

  it('drops matches inside an allow phrase', () => {
    expect(terms('Relationships and Sex Education - Year 9')).toEqual([]);
    expect(terms('sex')).toEqual(['sex']);
  });

  it('keeps the longest match of a category and reports different categories', () => {
    expect(terms('how to kill myself')).toEqual(['how to kill myself']);
    const found = secondary.match('send nudes or i will stab you');
    expect([...new Set(found.map((f) => f.category))].sort()).toEqual(['grooming', 'weapons']);
    expect(found.find((f) => f.category === 'grooming')!.term).toBe('send nudes');
  });

  it('selects terms by age band', () => {
    const m = createMatcher({ ageBand: 'secondary', library: lib('fatty\t2\tps\ncasino\t2\tt') });
    expect(terms('fatty casino', m)).toEqual(['fatty']);
    const staff = createMatcher({ ageBand: 'staff', library: lib('fatty\t2\tps\ncasino\t2\tt') });
    expect(terms('fatty casino', staff)).toEqual(['casino']);
    const primary = createMatcher({ ageBand: 'primary' });
    const staffFull = createMatcher({ ageBand: 'staff' });
    expect(primary.termCount).toBeGreaterThan(staffFull.termCount);
  });

  it('adds school custom terms and filters categories', () => {
    const m = createMatcher({
      ageBand: 'secondary',
      categories: ['gambling'],
      customTerms: [{ term: 'Mr Smith is a paedo', category: 'bullying', severity: 4 }],
    });
    expect(m.match('porn')).toEqual([]);
    expect(m.match('bet365')[0]).toMatchObject({ category: 'gambling' });
    expect(m.match('I think MR SMITH IS A PAEDO lol')[0]).toMatchObject({
      term: 'Mr Smith is a paedo',
      category: 'bullying',
      severity: 4,
      start: 8,
      end: 27,
    });
    expect(() =>
      createMatcher({ ageBand: 'secondary', customTerms: [{ term: '  ', category: 'x', severity: 3 }] }),
    ).toThrow(/customTerms\[0\]\.term/);
    expect(() =>
      createMatcher({ ageBand: 'secondary', customTerms: [{ term: '!!', category: 'x', severity: 3 }] }),
    ).toThrow(/no letters/);
    expect(() => createMatcher({ ageBand: 'infant' as 'primary' })).toThrow(/ageBand/);
  });

  it('supports stem terms ending in *', () => {
    const m = createMatcher({ ageBand: 'secondary', library: lib('anorex*\t3') });
    expect(terms('anorexia anorexic anorex', m)).toEqual(['anorex*', 'anorex*', 'anorex*']);
    expect(terms('xanorexia', m)).toEqual([]);
  });

  it('returns plain data with every field the contract names', () => {
    const [m] = secondary.match('I want to die');
    expect(Object.keys(m!).sort()).toEqual(['category', 'educational', 'end', 'severity', 'start', 'term']);
  });
});

describe('parseTermFile', () => {
  it('rejects malformed rows, naming file and line', () => {
    expect(() => parseTermFile('term\tseverity\nfoo\t6', 'x', 'x.tsv')).toThrow(/x\.tsv:2: severity/);
    expect(() => parseTermFile('foo\t3\tpq', 'x', 'x.tsv')).toThrow(/x\.tsv:1: bands/);
    expect(() => parseTermFile('foo\t3\tp\tmaybe', 'x', 'x.tsv')).toThrow(/educational/);
    expect(() => parseTermFile(' foo\t3', 'x', 'x.tsv')).toThrow(/padded/);
  });

  it('fills defaults for omitted columns and skips comments', () => {
    const [t] = parseTermFile('# comment\n\nfoo bar\t3', 'drugs', 'd.tsv');
    expect(t).toMatchObject({
      term: 'foo bar',
      severity: 3,
      bands: ['primary', 'secondary', 'staff'],
      educational: 'lower',
      exceptions: [],
      category: 'drugs',
      source: 'd.tsv:3',
    });
  });
});
