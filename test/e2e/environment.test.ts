// Several suites skip themselves (with the reason in the test name) on a machine that lacks a
// tool they drive: a developer's laptop without Xvfb or root. In CI none of those skips may
// happen (the summary reporter fails a CI run with any skipped test); this suite says up front
// what is missing. The tool list is test/support/tools.ts, the one list every suite probes
// through, so it cannot fall behind the suites; the last test below keeps it that way.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inCi } from '../support/ci.ts';
import { missingTools, TOOL_PACKAGES, type ToolName } from '../support/tools.ts';

const ROOT = join(import.meta.dirname, '../..');
const TOOLS = Object.keys(TOOL_PACKAGES) as ToolName[];
/** A suite probing on its own (`command -v`, `which`) could skip on a tool the guard does not check. */
const PROBE = /command -v|['"`]which['"`]/;
const SELF_OR_LIST = ['test/support/tools.ts', 'test/e2e/environment.test.ts'];

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : testSources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe.runIf(inCi())('CI machine has everything the suites drive (no silent skips)', () => {
  it('every tool in test/support/tools.ts is installed', () => {
    // One test naming every missing tool and its package (a skip outside CI, not thirty).
    expect(missingTools(TOOLS).map((t) => `${t} (Debian package ${TOOL_PACKAGES[t]})`)).toEqual([]);
  });
  it('systemd-udevd is installed (the USB suite starts and stops it)', () => {
    expect(['/lib/systemd/systemd-udevd', '/usr/lib/systemd/systemd-udevd'].some((p) => existsSync(p))).toBe(
      true,
    );
  });
  it('Chromium is at /usr/bin/chromium', () => {
    expect(existsSync('/usr/bin/chromium')).toBe(true);
  });
  it('runs as root (loop devices, mounts, udev rules)', () => {
    expect(process.getuid?.()).toBe(0);
  });
  it('can create a loop device', () => {
    expect(existsSync('/dev/loop-control')).toBe(true);
  });
});

describe('the tool list cannot fall behind the suites', () => {
  it('scripts/system-deps.sh installs the package of every tool in test/support/tools.ts', () => {
    const script = readFileSync(join(ROOT, 'scripts/system-deps.sh'), 'utf8');
    const listed = new Set(/pkgs=\(([^)]*)\)/.exec(script)?.[1]?.split(/\s+/).filter(Boolean));
    const missing = [...new Set(Object.values(TOOL_PACKAGES))].filter((p) => !listed.has(p));
    expect(missing).toEqual([]);
  });
  it('no test source probes for a tool except through test/support/tools.ts', () => {
    const dirs = ['agent/test', 'collector/test', 'protocol/test', 'test/support', 'test/e2e'];
    const pkgs = readdirSync(join(ROOT, 'packages')).map((p) => `packages/${p}/test`);
    const offenders = [...dirs, ...pkgs]
      .filter((d) => existsSync(join(ROOT, d)))
      .flatMap((d) => testSources(join(ROOT, d)))
      .map((f) => relative(ROOT, f))
      .filter((f) => !SELF_OR_LIST.includes(f) && PROBE.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
