// One answer, for every part of the test setup, to "is this a CI run?": there a skipped test
// fails the run (summary-reporter.ts) and the environment guard runs (test/e2e/environment.test.ts).
// CI=true is what CI services set; any other value but empty, 0 or false counts too.
export function inCi(): boolean {
  const v = process.env['CI']?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}
