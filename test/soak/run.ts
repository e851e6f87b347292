// `pnpm soak [name…] [--seed N] [--param value…]`: runs the soak campaigns of issue 21 (all, or
// those named) one after the other against real processes, and writes each one's figures into
// its block of BENCHMARKS.md (test/soak/benchmarks-file.ts) with the seed, parameters and
// duration, so a failure replays with the same command. Exits 1 if any campaign found a problem
// (the block is written anyway, problems listed). Not part of `pnpm test`: the smoke versions run
// there (test/e2e/soak-smoke.test.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withSoakBlock } from './benchmarks-file.ts';
import { consoleLoadSoak } from './console-load.ts';
import { crashSoak } from './crash.ts';
import { diskSoak } from './disk.ts';
import { enrolCrashSoak } from './enrol-crash.ts';
import { fuzzSoak } from './fuzz.ts';
import { offlineSoak } from './offline.ts';
import { readonlySoak } from './readonly.ts';
import { reconnectSoak } from './reconnect.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

const CAMPAIGNS: SoakCampaign[] = [
  crashSoak,
  enrolCrashSoak,
  diskSoak,
  readonlySoak,
  fuzzSoak,
  offlineSoak,
  reconnectSoak,
  consoleLoadSoak,
];
const file = join(dirname(fileURLToPath(import.meta.url)), '../../BENCHMARKS.md');

const names: string[] = [];
const overrides: Record<string, number> = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (!a.startsWith('--')) {
    names.push(a);
    continue;
  }
  const v = Number(argv[++i]);
  if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
  overrides[a.slice(2)] = v;
}
const unknown = names.filter((n) => !CAMPAIGNS.some((c) => c.name === n));
if (unknown.length) {
  console.error(
    `soak: no campaign ${unknown.join(', ')}; there are: ${CAMPAIGNS.map((c) => c.name).join(', ')}`,
  );
  process.exit(2);
}

let failed = 0;
for (const c of CAMPAIGNS.filter((c) => names.length === 0 || names.includes(c.name))) {
  const seed = overrides['seed'] ?? Math.floor(Math.random() * 2 ** 31);
  const params = { ...c.defaults, ...overrides, seed };
  const extra = Object.keys(overrides).filter((k) => k !== 'seed' && !(k in c.defaults));
  if (extra.length) throw new Error(`soak ${c.name}: unknown parameter(s) ${extra.join(', ')}`);
  const replay = `pnpm soak ${c.name} ${Object.entries(params)
    .map(([k, v]) => `--${k} ${v}`)
    .join(' ')}`;
  console.log(`soak: ${replay}`);
  const started = new Date();
  const loadBefore = loadavg()[0]!.toFixed(1);
  let outcome: SoakOutcome;
  try {
    outcome = await c.run(params, (l) => console.log(l));
  } catch (err) {
    outcome = {
      title: c.name,
      rows: [],
      notes: [],
      problems: [`the campaign itself failed: ${(err as Error).stack}`],
    };
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  const loadAfter = loadavg()[0]!.toFixed(1);
  const lines = [
    `## ${outcome.title}: ${outcome.problems.length === 0 ? 'passed' : `FAILED (${outcome.problems.length} problems)`}`,
    '',
    `Ran ${started.toISOString()} for ${seconds.toFixed(0)} s, seed ${seed}; load average ${loadBefore} → ${loadAfter} on ${cpus().length} cores. Replay: \`${replay}\``,
    '',
    '| metric | value | target |',
    '|---|---|---|',
    ...outcome.rows.map((r) => `| ${r.metric} | ${fmt(r.value)} ${r.unit} | ${r.target ?? ''} |`),
    '',
    ...outcome.notes.map((n) => `- ${n}`),
    ...(outcome.problems.length
      ? ['', '**Problems found:**', '', ...outcome.problems.map((p) => `- ${p}`)]
      : []),
  ];
  for (const l of lines) console.log(l);
  writeFileSync(file, withSoakBlock(readFileSync(file, 'utf8'), c.name, lines.join('\n')));
  if (outcome.problems.length) failed++;
}
console.log(`soak: BENCHMARKS.md updated${failed ? `; ${failed} campaign(s) FAILED` : ''}`);
process.exit(failed ? 1 : 0);

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-GB');
  return n.toFixed(Math.abs(n) >= 10 ? 1 : 3);
}
