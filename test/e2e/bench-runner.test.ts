// `pnpm bench` must not write an empty table: a section without rows (or with a figure that is
// not a number) fails the run. Runs the real runner (test/bench/run.ts) on bench files made here.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function runBench(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'custodian-bench-runner-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'test/bench/run.ts')],
      { cwd: root, env: { ...process.env, CUSTODIAN_BENCH_DIR: dir }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

const section = (rows: string) =>
  `export async function run() { return { title: 't', rows: ${rows}, notes: ['why: no loop devices'] }; }\n`;

describe('pnpm bench runner', () => {
  it('fails when a section produced no rows, and says which and why', async () => {
    const before = await readFile(join(root, 'BENCHMARKS.md'), 'utf8');
    const r = await runBench({
      'a-good.bench.ts': section("[{ metric: 'm', value: 1, unit: 'ms', baseline: 2 }]"),
      'b-empty.bench.ts': section('[]'),
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('b-empty.bench.ts: produced no rows (why: no loop devices)');
    expect(r.out).toContain('BENCHMARKS.md not written');
    expect(await readFile(join(root, 'BENCHMARKS.md'), 'utf8')).toBe(before);
  }, 90_000);

  it('fails on a figure that is not a number', async () => {
    const r = await runBench({
      'nan.bench.ts': section("[{ metric: 'median of nothing', value: NaN, unit: 'ms' }]"),
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('rows without a figure: median of nothing');
  }, 90_000);

  it('passes when every section has its figures', async () => {
    const r = await runBench({
      'ok.bench.ts': section("[{ metric: 'm', value: 1, unit: 'ms', baseline: 2 }]"),
    });
    expect(r.out).not.toContain('failed');
    expect(r.code).toBe(0);
  }, 90_000);
});
