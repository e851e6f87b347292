// Prints the plain closing line 'N passed, N failed, N skipped' that CI reads. In CI (CI=true) a
// skipped test fails the run: a suite that skips because a tool is missing has checked nothing,
// so the run says which tests did not run and why, and exits non-zero. Outside CI skips stay
// allowed (a developer's laptop without Xvfb or root), with their reason listed.
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { inCi } from './ci.ts';

function describeSkip(test: TestCase): string {
  const r = test.result();
  const why =
    r.state === 'skipped' && r.note ? r.note : test.options.mode === 'run' ? 'not run' : test.options.mode;
  return `  ${test.module.relativeModuleId} > ${test.fullName} (${why})`;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const mod of testModules) {
      let failedHere = 0;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped.push(describeSkip(test));
      }
      // A file can fail with no failed test (a beforeAll that throws skips its tests): count it.
      if (failedHere === 0 && mod.state() === 'failed') failedHere = 1;
      failed += failedHere;
    }
    if (skipped.length > 0) {
      const verdict = inCi() ? 'CI is set: skipped tests fail the run' : 'allowed outside CI';
      process.stdout.write(`\nSkipped tests (${verdict}):\n${skipped.join('\n')}\n`);
      if (inCi()) process.exitCode = 1;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped.length} skipped\n`);
  }
}
