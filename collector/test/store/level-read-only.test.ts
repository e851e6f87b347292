// A LevelDB whose filesystem turns read-only under it (ext4 errors=remount-ro after a disk error,
// here /sys/fs/ext4/<dev>/trigger_fs_error): writes are refused with CUST_ERR_STORAGE, health()
// keeps naming the read-only filesystem (before the fix it said "Database is not open" after the
// first failed reopen, and the health route could not tell an operator what to do), the engine
// holds no file open so the filesystem can be unmounted, checked and mounted again while it
// runs (without creating a new empty store in the bare mountpoint meanwhile), and it then
// writes again with every synced write kept. Real LevelDB on a real loop
// device; needs root and loop devices.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { attachLoop, canUseLoopDevices, type LoopDevice, makeImage } from '../../../test/support/loopdev.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { storageReason } from '../../src/ops/health-routes.ts';
import { openLevelEngine } from '../../src/store/level-engine.ts';

const can = canUseLoopDevices();
let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

describe.runIf(can.ok)(
  'level engine when its filesystem turns read-only (real ext4 on a loop device)',
  () => {
    it('refuses writes naming the read-only filesystem, lets it be unmounted, and writes again after e2fsck and mount', async () => {
      const dev: LoopDevice = attachLoop(makeImage('ext4', { sizeMb: 32 }));
      const mnt = mkdtempSync(join(tmpdir(), 'custodian-ro-'));
      const mount = () => execFileSync('mount', ['-o', 'errors=remount-ro', dev.path, mnt]);
      mount();
      cleanup = () => {
        spawnSync('umount', ['-l', mnt]);
        spawnSync('losetup', ['-d', dev.path]);
        rmSync(mnt, { recursive: true, force: true });
        rmSync(dev.image, { force: true });
      };
      const engine = await openLevelEngine(join(mnt, 'db'), { reopenIntervalMs: 0 });
      try {
        const value = new Uint8Array([1, 2, 3]);
        await engine.batch([{ type: 'put', key: 'before', value }], { sync: true });
        writeFileSync(`/sys/fs/ext4/${dev.name}/trigger_fs_error`, 'test: read-only mid-run');
        await expect(
          engine.batch([{ type: 'put', key: 'during', value }], { sync: true }),
        ).rejects.toMatchObject({
          code: 'CUST_ERR_STORAGE',
        });
        // Several failed reopens later, health still says why.
        for (let i = 0; i < 3; i++) await engine.get('before').catch(() => undefined);
        const h = engine.health?.();
        expect(h?.ok).toBe(false);
        expect(storageReason(h?.ok === false ? h.error : undefined)).toBe('read-only filesystem');
        // No file held open: the operator's umount succeeds with the engine still in use.
        await waitFor(async () => spawnSync('umount', [mnt]).status === 0, 'umount allowed', 10_000, 100);
        // Unmounted, the engine goes on trying to reopen: it must not create a fresh empty store in
        // the bare directory beneath (it did: everything acked then was written where no restart
        // would find it; the readonly soak campaign lost 1,000 acked events that way).
        for (let i = 0; i < 3; i++) {
          await engine.get('before').catch(() => undefined);
          await new Promise((r) => setTimeout(r, 20));
        }
        expect(existsSync(join(mnt, 'db', 'CURRENT'))).toBe(false);
        expect(existsSync(join(mnt, 'db'))).toBe(false);
        expect(spawnSync('e2fsck', ['-fy', dev.path]).status).toBeLessThan(4);
        mount();
        await waitFor(
          async () =>
            engine.batch([{ type: 'put', key: 'after', value }], { sync: true }).then(
              () => true,
              () => false,
            ),
          'writes accepted again',
          10_000,
          100,
        );
        expect(engine.health?.().ok).toBe(true);
        expect([...((await engine.get('before')) ?? [])]).toEqual([...value]);
        expect([...((await engine.get('after')) ?? [])]).toEqual([...value]);
      } finally {
        await engine.close().catch(() => undefined);
      }
    });
  },
);
