// `pnpm bench`: runs every test/bench/*.bench.ts (or those named on the command line), one at
// a time so they do not disturb each other, and rewrites BENCHMARKS.md with the figures.
import { readdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  console.log(`bench: ${file}`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run: () => Promise<BenchResult> };
  const started = Date.now();
  const result = await mod.run();
  console.log(`bench: ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const row of result.rows)
    console.log(
      `  ${row.metric}: ${fmt(row.value)} ${row.unit}${row.ratio !== undefined ? ` (ratio ${fmt(row.ratio)})` : ''}`,
    );
  results.push(result);
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-GB');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 3);
}

if (only.length === 0) {
  const lines = [
    '# Benchmarks',
    '',
    'Written by `pnpm bench`. Every figure sits next to a baseline measured in the same run on the same',
    'machine, and the ratio is the figure that matters: absolute numbers move with the machine.',
    '',
    `Last run: ${new Date().toISOString()} on ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'} (${arch()}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}.`,
    '',
  ];
  for (const r of results) {
    lines.push(
      `## ${r.title}`,
      '',
      '| metric | value | baseline | ratio | target |',
      '|---|---|---|---|---|',
    );
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
  }
  writeFileSync(join(here, '../../BENCHMARKS.md'), lines.join('\n'));
  console.log('bench: wrote BENCHMARKS.md');
}
