// Writes static/js/error-codes.js, the console's copy of the one error catalogue
// (protocol/src/errors.ts). The console is plain browser modules with no build step, so it cannot
// import the TypeScript catalogue; this generated module is what it imports instead.
// `pnpm exec node collector/src/console/gen-error-codes.ts` regenerates it; `--check` fails when the
// checked-in file differs (collector/test/console/error-codes.test.ts runs the same comparison).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@custodian/protocol';

export const ERROR_CODES_JS = join(import.meta.dirname, 'static', 'js', 'error-codes.js');

/** The module text, formatted as Biome formats it (so `pnpm lint` passes on the generated file). */
export function renderErrorCodes(codes: Readonly<Record<string, string>> = ErrorCode): string {
  const lines = Object.entries(codes).map(([name, code]) => `  ${name}: '${code}',`);
  return [
    '// GENERATED from protocol/src/errors.ts by collector/src/console/gen-error-codes.ts: do not edit.',
    '// The stable error codes of the one catalogue, for the console (plain browser modules, no build).',
    '',
    'export const ErrorCode = Object.freeze({',
    ...lines,
    '});',
    '',
  ].join('\n');
}

if (import.meta.main) {
  const want = renderErrorCodes();
  if (process.argv.includes('--check')) {
    if (readFileSync(ERROR_CODES_JS, 'utf8') !== want) {
      process.stderr.write(
        `${ERROR_CODES_JS} is stale: run pnpm exec node collector/src/console/gen-error-codes.ts\n`,
      );
      process.exitCode = 1;
    }
  } else {
    writeFileSync(ERROR_CODES_JS, want);
  }
}
