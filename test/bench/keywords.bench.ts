// Keyword matcher throughput (MB/s of realistic window titles and URLs, full library) next to two
// naive baselines measured in the same run on the SAME text: one big RegExp alternation, and
// `includes` per term. The baselines do no normalisation at all (no leetspeak, spacing or URL
// decoding), so they do less work than the matcher; their recall is shown in the notes.
// Statistics: every figure and its baseline are the median of RUNS timed runs (CPU time of this
// process), each side after one untimed warm-up run on the same text.
// Leaves out: building the workload, memory use (see the agent footprint), the worker thread
// hand-off the agent uses for large texts, and matching outside the secondary age band.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAutomaton, createMatcher, loadLibrary, normalise } from '@custodian/keywords';
import type { BenchResult } from './types.ts';

const CORPUS = join(import.meta.dirname, '..', '..', 'packages', 'keywords', 'test', 'corpus');

function corpusLines(): string[] {
  const lines: string[] = [];
  for (const f of ['should-flag.tsv', 'must-not-flag.tsv', 'educational.tsv']) {
    const rows = readFileSync(join(CORPUS, f), 'utf8').split('\n').slice(1);
    for (const r of rows) if (r.trim() !== '') lines.push(r.split('\t')[0]!);
  }
  return lines;
}

/** Realistic mix: mostly ordinary titles (as on a real machine), about 1 in 10 concerning. */
function workload(targetBytes: number): { lines: string[]; bytes: number } {
  const corpus = corpusLines();
  const ordinary = readFileSync(join(CORPUS, 'must-not-flag.tsv'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
  const lines: string[] = [];
  let bytes = 0;
  let i = 0;
  while (bytes < targetBytes) {
    const line = i % 10 === 0 ? corpus[i % corpus.length]! : ordinary[(i * 7) % ordinary.length]!;
    lines.push(line);
    bytes += Buffer.byteLength(line);
    i++;
  }
  return { lines, bytes };
}

/** CPU time (user + system) of this process: steadier than wall time on a shared, busy machine. */
function time(fn: () => number): { ms: number; found: number } {
  const start = process.cpuUsage();
  const found = fn();
  const used = process.cpuUsage(start);
  return { ms: (used.user + used.system) / 1000, found };
}

const RUNS = 5;

/** One untimed warm-up run (JIT, caches), then the median CPU time of `RUNS` timed runs. */
function medianOf(fn: () => number): { ms: number; found: number } {
  fn();
  const runs = Array.from({ length: RUNS }, () => time(fn)).sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(RUNS / 2)]!;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function run(): Promise<BenchResult> {
  const { lines, bytes } = workload(4 * 1024 * 1024);
  const mb = bytes / (1024 * 1024);
  const terms = loadLibrary().terms.filter((t) => t.bands.includes('secondary'));
  const plain = terms.map((t) => t.term.replace(/\*$/, '').toLowerCase());

  const matcher = createMatcher({ ageBand: 'secondary' });
  const compile = medianOf(() => createMatcher({ ageBand: 'secondary' }).termCount);

  const regex = new RegExp(`\\b(?:${plain.map(escapeRegex).join('|')})\\b`, 'g');

  const ac = medianOf(() => {
    let n = 0;
    for (const l of lines) n += matcher.match(l).length > 0 ? 1 : 0;
    return n;
  });
  const re = medianOf(() => {
    let n = 0;
    for (const l of lines) {
      regex.lastIndex = 0;
      n += regex.test(l.toLowerCase()) ? 1 : 0;
    }
    return n;
  });
  const inc = medianOf(() => {
    let n = 0;
    for (const l of lines) {
      const lower = l.toLowerCase();
      if (plain.some((p) => lower.includes(p))) n++;
    }
    return n;
  });

  // The multi-pattern engines alone, on the same pre-normalised text: Aho–Corasick vs RegExp.
  const normTerms = [...new Set(plain.map((p) => normalise(p).text).filter((t) => t !== ''))];
  const automaton = buildAutomaton(normTerms);
  const normRegex = new RegExp(`(?:${normTerms.map(escapeRegex).join('|')})`, 'g');
  const normLines = lines.map((l) => normalise(l).text);
  const normMb = normLines.reduce((a, l) => a + l.length, 0) / (1024 * 1024);
  const scanAc = medianOf(() => {
    let n = 0;
    for (const l of normLines)
      automaton.scan(l, () => {
        n++;
      });
    return n;
  });
  const scanRe = medianOf(() => {
    let n = 0;
    for (const l of normLines) n += l.match(normRegex)?.length ?? 0;
    return n;
  });

  // One long text: linear in length, whatever the library size.
  const long = lines.join('\n');
  const acLong = medianOf(() => matcher.match(long).length);
  const small = createMatcher({ ageBand: 'secondary', categories: ['gambling'] });
  const acSmall = medianOf(() => {
    let n = 0;
    for (const l of lines) n += small.match(l).length > 0 ? 1 : 0;
    return n;
  });

  const acMbs = mb / (ac.ms / 1000);
  const reMbs = mb / (re.ms / 1000);
  const incMbs = mb / (inc.ms / 1000);
  const smallMbs = mb / (acSmall.ms / 1000);
  return {
    title: 'Keyword matcher (packages/keywords)',
    rows: [
      {
        metric: `matcher throughput, ${lines.length.toLocaleString('en-GB')} titles/URLs (${mb.toFixed(1)} MB), ${terms.length} terms`,
        value: acMbs,
        unit: 'MB/s',
        baseline: reMbs,
        baselineLabel: 'one big RegExp alternation, no normalisation',
        ratio: acMbs / reMbs,
      },
      {
        metric: 'matcher throughput vs includes() per term',
        value: acMbs,
        unit: 'MB/s',
        baseline: incMbs,
        baselineLabel: 'lowercase + includes() for each term, no normalisation',
        ratio: acMbs / incMbs,
      },
      {
        metric: 'Aho–Corasick scan alone, pre-normalised text (all occurrences)',
        value: normMb / (scanAc.ms / 1000),
        unit: 'MB/s',
        baseline: normMb / (scanRe.ms / 1000),
        baselineLabel: 'RegExp alternation on the same text',
        ratio: scanRe.ms / scanAc.ms,
      },
      {
        metric: 'matcher throughput, one 4 MB text',
        value: mb / (acLong.ms / 1000),
        unit: 'MB/s',
        baseline: acMbs,
        baselineLabel: 'same text as short titles',
        ratio: mb / (acLong.ms / 1000) / acMbs,
      },
      {
        metric: `full library vs one category (${small.termCount} terms)`,
        value: acMbs,
        unit: 'MB/s',
        baseline: smallMbs,
        baselineLabel: 'gambling terms only',
        ratio: acMbs / smallMbs,
        target: '≈ 1 (independent of library size)',
      },
      { metric: `compile the full library (median of ${RUNS})`, value: compile.ms, unit: 'ms CPU' },
    ],
    notes: [
      `Occurrences in the pre-normalised text: Aho–Corasick ${scanAc.found} (every overlap), RegExp ${scanRe.found} (leftmost, non-overlapping).`,
      `Lines flagged of ${lines.length}: matcher ${ac.found}, RegExp ${re.found}, includes ${inc.found} (all three on the same lines).`,
      'includes() also hits inside words (the Scunthorpe problem), so its count is not a recall figure.',
      `Throughput is MB of text per CPU-second of this process, median of ${RUNS} runs after one warm-up run, for every figure and every baseline; CPU time rather than wall time, so other work on the machine skews it less (caches and frequency still move with load).`,
      "The RegExp baseline does no normalisation: it misses leetspeak, spacing and encoded URLs. On the same pre-normalised text (row 3) the automaton is the faster engine; the matcher's remaining cost is normalisation with offset mapping.",
      'Matcher figures include normalisation (case, diacritics, leetspeak, spacing, URL decoding) and original-offset mapping.',
    ],
  };
}
