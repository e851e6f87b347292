// `pnpm bench`: runs every test/bench/*.bench.ts (or those named on the command line), one at
// a time so they do not disturb each other, and rewrites BENCHMARKS.md with the figures (with
// names: only those sections are replaced, each noting that it was re-run alone and when).
// A section that produced no rows (or a figure that is not a number) fails the run and
// BENCHMARKS.md is left as it was: an empty table would read as "measured, nothing to see".
// The machine's load average is recorded around each section: figures are ratios against
// baselines of the same run, but a busy machine still moves them.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SOAK_MARKER, soakTail } from '../soak/benchmarks-file.ts';
import { sectionProblem } from './section.ts';
import type { BenchResult } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
// `--name value` pairs are options of the benches that take them (`pnpm bench scale --agents 2000
// --collectors 3`, read by that bench from process.argv); the other arguments name benches.
const args = process.argv.slice(2);
const only = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
// CUSTODIAN_BENCH_DIR: run the *.bench.ts of another directory (tests of this runner); the
// figures are then printed only, never written to BENCHMARKS.md.
const benchDir = process.env['CUSTODIAN_BENCH_DIR'] ?? here;
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results: BenchResult[] = [];
const failures: string[] = [];
const load = () => loadavg()[0]!.toFixed(1);
for (const file of files) {
  console.log(`bench: ${file}`);
  const mod = (await import(pathToFileURL(join(benchDir, file)).href)) as { run: () => Promise<BenchResult> };
  const started = Date.now();
  const loadBefore = load();
  const result = await mod.run();
  const loadAfter = load();
  console.log(`bench: ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const problem = sectionProblem(result);
  if (problem) {
    console.error(`bench: ${file}: ${problem}`);
    failures.push(`${file}: ${problem}`);
  }
  result.notes = [
    ...(result.notes ?? []),
    `Load average (1 min) of the machine: ${loadBefore} at the start of this section, ${loadAfter} at its end, on ${cpus().length} cores.`,
  ];
  for (const row of result.rows)
    console.log(
      `  ${row.metric}: ${fmt(row.value)} ${row.unit}${row.ratio !== undefined ? ` (ratio ${fmt(row.ratio)})` : ''}`,
    );
  for (const note of result.notes) console.log(`  - ${note}`);
  results.push(result);
}

if (failures.length > 0) {
  console.error(`bench: ${failures.length} section(s) failed; BENCHMARKS.md not written`);
  process.exit(1);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-GB');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 3);
}

/** One section of BENCHMARKS.md, as markdown (heading, table, notes). */
function sectionText(r: BenchResult): string {
  const lines = [
    `## ${r.title}`,
    '',
    '| metric | value | baseline | ratio | target |',
    '|---|---|---|---|---|',
  ];
  for (const row of r.rows) {
    const base =
      row.baseline !== undefined
        ? `${fmt(row.baseline)} ${row.unit} (${row.baselineLabel ?? 'baseline'})`
        : '';
    lines.push(
      `| ${row.metric} | ${fmt(row.value)} ${row.unit} | ${base} | ${row.ratio !== undefined ? `${fmt(row.ratio)}×` : ''} | ${row.target ?? ''} |`,
    );
  }
  if (r.notes?.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
  lines.push('');
  return lines.join('\n');
}

const benchmarksFile = join(here, '../../BENCHMARKS.md');
if (only.length === 0 && benchDir === here) {
  const header = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench`. Every figure sits next to a baseline measured in the same run on the same',
    'machine, and the ratio is the figure that matters: absolute numbers move with the machine. Each',
    'figure and its baseline use the same statistic (the median of N, N stated in the row or the notes),',
    'and both sides get a warm-up. The machine may be shared and busy while this runs (the load average',
    'around each section is in its notes): load lengthens latencies and CPU shares on both sides of a',
    'ratio, but not always equally, so read ratios from a loaded run with that in mind.',
    '',
    `Last run: ${new Date().toISOString()} on ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'} (${arch()}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}.`,
    '',
  ];
  const tail = soakTail(readFileSync(benchmarksFile, 'utf8'));
  // The soak campaigns' figures (pnpm soak) are kept as they are.
  writeFileSync(
    benchmarksFile,
    [...header, ...results.map(sectionText)].join('\n') + (tail ? `\n${tail}` : ''),
  );
  console.log('bench: wrote BENCHMARKS.md');
} else if (benchDir === here) {
  // `pnpm bench NAME`: only the sections that ran are replaced (or added), each saying when it ran.
  let text = readFileSync(benchmarksFile, 'utf8');
  for (const r of results) {
    r.notes = [
      ...(r.notes ?? []),
      `Section re-run alone (\`pnpm bench ${args.join(' ')}\`) at ${new Date().toISOString()}.`,
    ];
    const heading = `## ${r.title}\n`;
    const at = text.indexOf(heading);
    if (at < 0) {
      // A new section goes before the soak campaigns' part, which stays last.
      const tailAt = text.indexOf(SOAK_MARKER);
      text =
        tailAt < 0
          ? `${text.trimEnd()}\n\n${sectionText(r)}`
          : `${text.slice(0, tailAt).trimEnd()}\n\n${sectionText(r).trimEnd()}\n\n${text.slice(tailAt)}`;
      continue;
    }
    // The section ends where the next section, the soak campaigns' part or its marker begins.
    const ends = ['\n## ', '\n# ', '\n<!--']
      .map((m) => text.indexOf(m, at + heading.length))
      .filter((i) => i >= 0);
    const next = ends.length > 0 ? Math.min(...ends) : -1;
    text = text.slice(0, at) + sectionText(r) + (next < 0 ? '' : `\n${text.slice(next + 1)}`);
  }
  writeFileSync(benchmarksFile, text);
  console.log(`bench: updated ${results.length} section(s) of BENCHMARKS.md`);
}
