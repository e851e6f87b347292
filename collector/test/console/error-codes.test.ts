// The console's error codes are the one catalogue's (protocol/src/errors.ts): the generated
// browser module matches it exactly, and no console module or agent source writes a code by hand.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES_JS, renderErrorCodes } from '../../src/console/gen-error-codes.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return files(full, ext);
    return full.endsWith(ext) ? [full] : [];
  });
}

describe('console error codes', () => {
  it('the checked-in error-codes.js is what the generator makes from protocol/src/errors.ts', () => {
    expect(readFileSync(ERROR_CODES_JS, 'utf8')).toBe(renderErrorCodes());
  });

  it('the browser module exports exactly the catalogue', async () => {
    const mod = (await import(ERROR_CODES_JS)) as { ErrorCode: Record<string, string> };
    expect(mod.ErrorCode).toEqual({ ...ErrorCode });
    expect(Object.isFrozen(mod.ErrorCode)).toBe(true);
  });

  it('a changed catalogue gives a different module (the comparison can fail)', () => {
    expect(renderErrorCodes({ ...ErrorCode, LATER: 'CUST_ERR_LATER' })).not.toBe(renderErrorCodes());
  });

  it('no stray CUST_ERR_ literal in the console modules or the agent sources', () => {
    const sources = [
      ...files(join(ROOT, 'collector', 'src', 'console', 'static', 'js'), '.js').filter(
        (f) => f !== ERROR_CODES_JS,
      ),
      ...files(join(ROOT, 'agent', 'src'), '.ts'),
    ];
    expect(sources.length).toBeGreaterThan(20);
    const stray = sources.flatMap((f) =>
      (readFileSync(f, 'utf8').match(/['"`]CUST_ERR_[A-Z_]*['"`]/g) ?? []).map((m) => `${f}: ${m}`),
    );
    expect(stray).toEqual([]);
  });
});
