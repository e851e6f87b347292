// The console's error codes are the one catalogue's (protocol/src/errors.ts), served in the console's
// options module (console/options.ts, checked in options.test.ts): no console module or agent source
// writes a code by hand.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return files(full, ext);
    return full.endsWith(ext) ? [full] : [];
  });
}

describe('console error codes', () => {
  it('no stray CUST_ERR_ literal in the console modules or the agent sources', () => {
    const sources = [
      ...files(join(ROOT, 'collector', 'src', 'console', 'static', 'js'), '.js'),
      ...files(join(ROOT, 'agent', 'src'), '.ts'),
    ];
    expect(sources.length).toBeGreaterThan(20);
    const stray = sources.flatMap((f) =>
      (readFileSync(f, 'utf8').match(/['"`]CUST_ERR_[A-Z_]*['"`]/g) ?? []).map((m) => `${f}: ${m}`),
    );
    expect(stray).toEqual([]);
  });
});
