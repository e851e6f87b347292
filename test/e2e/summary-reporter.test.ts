// The closing summary CI reads, and the rule it enforces: with CI set, a skipped test fails the
// run (a suite that skipped checked nothing), and the reason is printed; without CI the same run
// passes and still lists the skip. A real vitest run of a fixture file, reported by the real reporter.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const FIXTURE = join(import.meta.dirname, 'fixtures/skip-in-ci');
const VITEST = join(import.meta.dirname, '../../node_modules/vitest/vitest.mjs');

function runFixture(ci: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env['CI'];
  if (ci !== undefined) env['CI'] = ci;
  const r = spawnSync(process.execPath, [VITEST, 'run', '--root', FIXTURE, '--config', 'vitest.config.ts'], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: r.stdout };
}

describe('summary reporter', () => {
  it('fails a CI run that skipped a test, naming the test and its reason', () => {
    const r = runFixture('true');
    expect(r.out).toContain('1 passed, 0 failed, 1 skipped');
    expect(r.out).toContain(
      'one-skip.check.ts > needs a tool this machine lacks (frobnicate is not installed)',
    );
    expect(r.out).toContain('CI is set: skipped tests fail the run');
    expect(r.status).toBe(1);
  });

  it('lets the same run pass outside CI, still listing the skip', () => {
    const r = runFixture(undefined);
    expect(r.out).toContain('1 passed, 0 failed, 1 skipped');
    expect(r.out).toContain('needs a tool this machine lacks (frobnicate is not installed)');
    expect(r.out).toContain('allowed outside CI');
    expect(r.status).toBe(0);
  });
});
