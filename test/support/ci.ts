// One answer, for every part of the test setup, to "is this a CI run?": there a skipped test
// fails the run (summary-reporter.ts) and the environment guard runs (test/e2e/environment.test.ts).
export function inCi(): boolean {
  return process.env['CI'] === 'true';
}
