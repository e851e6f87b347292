import { describe, expect, it } from 'vitest';
import { createMatcher, type Library, parseRuleFile, parseTermFile } from '../src/index.ts';

const HEADER = 'id\tpattern\tseverity\tbands\teducational\tunless\tdescription\tnotes\n';

/** A tiny library holding only these rules (and a negation list). */
function lib(rules: string, cues = ''): Library {
  return {
    terms: parseTermFile('term\tseverity\nunrelated\t1', 'drugs', 't.tsv'),
    rules: parseRuleFile(HEADER + rules, 'suicide', 'r.tsv'),
    negations: ['not', 'never'].map((phrase) => ({ phrase, notes: '', source: 'n' })),
    educationalCues: cues === '' ? [] : [{ phrase: cues, notes: '', source: 'c' }],
    allow: [{ phrase: 'suicide prevention', notes: '', source: 'a' }],
  };
}

function rules(text: string, l: Library): string[] {
  return createMatcher({ ageBand: 'secondary', library: l })
    .match(text)
    .filter((m) => m.rule !== undefined)
    .map((m) => m.rule!);
}

describe('rules', () => {
  it('matches ordered groups within the gap and not beyond it', () => {
    const l = lib('r1\thow many ~3 pills|tablets ..4 die|overdose\t5\tpst\tkeep\t\tdose question\n');
    expect(rules('how many pills would make me die', l)).toEqual(['r1']);
    expect(rules('pills, how many to overdose', l)).toEqual(['r1']); // ~ is either order
    expect(rules('how many pills are in the box I bought before we die', l)).toEqual([]); // gap 5 > 4
    expect(rules('die how many pills', l)).toEqual([]); // ..4 is ordered
  });

  it('reports offsets, pattern, id and description in the original text', () => {
    const l = lib('r1\tjump ..3 off|from ..3 bridge|roof\t5\tpst\tkeep\t\tjump from a height\n');
    const text = 'gonna JUMP right off the BRIDGE tonight';
    const [m] = createMatcher({ ageBand: 'secondary', library: l }).match(text);
    expect(m).toMatchObject({
      term: 'jump from a height', // the description, so a display made for terms shows it
      category: 'suicide',
      severity: 5,
      rule: 'r1',
      description: 'jump from a height',
      pattern: 'jump ..3 off|from ..3 bridge|roof',
    });
    expect(text.slice(m!.start, m!.end)).toBe('JUMP right off the BRIDGE');
  });

  it('drops a rule when a negation cue or an unless phrase is near, only when the rule asks', () => {
    const neg = lib('r1\tcut ..2 myself\t4\tpst\tlower\t@neg|hair\tcut\n');
    expect(rules('i want to cut myself', neg)).toEqual(['r1']);
    expect(rules('i would never cut myself', neg)).toEqual([]);
    expect(rules('cut myself a hair fringe', neg)).toEqual([]);
    const plain = lib('r1\tcut ..2 myself\t4\tpst\tlower\t\tcut\n');
    expect(rules('i would never cut myself', plain)).toEqual(['r1']);
  });

  it('lowers severity in an educational context unless keep, and honours allow phrases', () => {
    const l = lib('r1\tsuicide ~3 prevention|method\t3\tpst\tlower\t\tx\n', 'pshe lesson');
    const m = createMatcher({ ageBand: 'secondary', library: l });
    expect(m.match('suicide method pshe lesson')[0]).toMatchObject({ severity: 1, educational: true });
    expect(m.match('suicide prevention')).toEqual([]);
  });

  it('filters rules by age band and category, and counts them', () => {
    const l = lib('r1\ta1 ..1 b1\t3\tt\tlower\t\tx\nr2\ta2 ..1 b2\t3\tpst\tlower\t\ty\n');
    expect(createMatcher({ ageBand: 'secondary', library: l }).ruleCount).toBe(1);
    expect(createMatcher({ ageBand: 'staff', library: l }).ruleCount).toBe(2);
    expect(createMatcher({ ageBand: 'staff', library: l, categories: ['drugs'] }).ruleCount).toBe(0);
  });

  it('stays bounded on hostile text full of anchors', () => {
    const l = lib('r1\thow to ~5 cut ..2 myself\t4\tpst\tlower\t\tx\n');
    const m = createMatcher({ ageBand: 'secondary', library: l });
    const hostile = 'how to '.repeat(50_000) + 'cut myself';
    const started = performance.now();
    expect(m.match(hostile).some((x) => x.rule === 'r1')).toBe(false); // first 64 hits per rule only
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('rejects malformed rules naming file and line', () => {
    expect(() => parseRuleFile(`${HEADER}Bad Id\ta ..1 b\t3`, 'x', 'r.tsv')).toThrow(/r\.tsv:2: id/);
    expect(() => parseRuleFile(`${HEADER}r\tjust one\t3\t\t\t\td`, 'x', 'r.tsv')).toThrow(/two groups/);
    expect(() => parseRuleFile(`${HEADER}r\ta ..99 b\t3\t\t\t\td`, 'x', 'r.tsv')).toThrow(/gap 99/);
    expect(() => parseRuleFile(`${HEADER}r\ta ..1 b\t3\t\t\t\t`, 'x', 'r.tsv')).toThrow(/description/);
    expect(() => parseRuleFile(`${HEADER}r\ta ..1 |b\t3\t\t\t\td`, 'x', 'r.tsv')).toThrow(
      /empty alternative/,
    );
  });
});

describe('rules beside terms', () => {
  it('keep a term that spans the same text as a rule (what v1 consumers expect), and win when longer', () => {
    const m = createMatcher({ ageBand: 'secondary' });
    const [noose] = m.match('https://www.google.com/search?q=how+to+tie+a+noose&hl=en');
    expect(noose).toMatchObject({ term: 'how to tie a noose', category: 'suicide' });
    expect(noose!.rule).toBeUndefined();
    const [plan] = m.match('going to kill myself tonight');
    expect(plan).toMatchObject({
      category: 'suicide',
      rule: 'su-plan-time',
      term: 'Suicide with a time or plan',
    });
  });
});
