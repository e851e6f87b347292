// A LevelDB that hit a full disk keeps the I/O error and refuses every later write, even after
// the disk has room (issue 21's soak found the collector wedged this way until restarted by
// hand). The engine must recover by itself once space is back, keep every synced write, and say
// in health() that it is failing meanwhile. Real LevelDB on a real (tiny) tmpfs; needs root.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLevelEngine } from '../../src/store/level-engine.ts';
import type { KvEngine } from '../../src/store/types.ts';

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];

afterEach(() => {
  for (const dir of mounts.splice(0)) {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

function tinyTmpfs(mib: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function fill(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, Buffer.alloc(bytes, 1));
  } finally {
    closeSync(fd);
  }
}

async function put(engine: KvEngine, key: string, value: Uint8Array): Promise<boolean> {
  try {
    await engine.batch([{ type: 'put', key, value }], { sync: true });
    return true;
  } catch (err) {
    expect((err as { code?: string }).code).toBe('CUST_ERR_STORAGE');
    return false;
  }
}

describe.runIf(isRoot)('level engine after a full disk (real LevelDB on tmpfs)', () => {
  it('refuses writes while full, says so in health(), and writes again once the disk has room — keeping every synced write', async () => {
    const dir = tinyTmpfs(16);
    const health: boolean[] = [];
    const engine = await openLevelEngine(join(dir, 'db'), {
      reopenIntervalMs: 0,
      onHealthChange: (h) => health.push(h.ok),
    });
    try {
      fill(join(dir, 'filler'), 9 * 1024 * 1024);
      const value = new Uint8Array(64 * 1024).map((_, i) => (i * 7919) % 251);
      const written: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const key = `k${String(i).padStart(5, '0')}`;
        if (!(await put(engine, key, value))) break;
        written.push(key);
      }
      expect(written.length).toBeGreaterThan(0);
      expect(written.length).toBeLessThan(2000);
      expect(engine.health?.().ok).toBe(false);

      // Still full: refused, and still reported failing.
      expect(await put(engine, 'while-full', new Uint8Array(10))).toBe(false);
      expect(engine.health?.().ok).toBe(false);

      rmSync(join(dir, 'filler'));
      // LevelDB without a reopen fails every one of these; the engine reopens on the first.
      let firstOk = -1;
      for (let j = 0; j < 5 && firstOk < 0; j++)
        if (await put(engine, `after-${j}`, new Uint8Array(10))) firstOk = j;
      expect(firstOk).toBe(0);
      expect(engine.health?.()).toEqual({ ok: true });
      expect(health).toEqual([false, true]);

      const back = await engine.getMany(written);
      expect(back.every((v) => v !== undefined && v.length === value.length && v[100] === value[100])).toBe(
        true,
      );
      const keys: string[] = [];
      for await (const [k] of engine.entries({ gte: 'after-', lt: 'after.' })) keys.push(k);
      expect(keys).toEqual(['after-0']);
    } finally {
      await engine.close();
    }
  });
});
