// The X test support's display claim: leftovers of a killed Xvfb (its lock file naming a pid that
// is gone) do not use up display numbers on a machine that runs the suite many times.
import { rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { staleDisplay } from '../support/xvfb.ts';

// A number the support never hands out (it claims 100–999).
const N = 42;
const lock = `/tmp/.X${N}-lock`;

afterEach(() => rmSync(lock, { force: true }));

describe('staleDisplay', () => {
  it('is free when nothing is there, stale when the lock names a dead pid, in use when it names a live one', () => {
    rmSync(lock, { force: true });
    expect(staleDisplay(N)).toBe(false);
    // Xvfb writes its pid right-aligned in 10 characters and a newline.
    writeFileSync(lock, `${String(2 ** 22 + 17).padStart(10)}\n`); // above pid_max's default: never alive
    expect(staleDisplay(N)).toBe(true);
    writeFileSync(lock, `${String(process.pid).padStart(10)}\n`);
    expect(staleDisplay(N)).toBeUndefined();
    writeFileSync(lock, 'garbage\n');
    expect(staleDisplay(N)).toBeUndefined();
  });
});
