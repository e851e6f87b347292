// A really full filesystem: the outbox on a 4 MiB tmpfs filled up by another file (needs root
// for mount; skipped with the reason otherwise).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventKind } from '@custodian/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import { Outbox } from '../../src/outbox/outbox.ts';

const canMount = process.getuid?.() === 0;
let mnt: string;
let mounted = false;
let outbox: Outbox | undefined;

beforeEach(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'outbox-tmpfs-'));
  if (canMount) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    mounted = true;
  }
});

afterEach(async () => {
  await outbox?.close().catch(() => undefined);
  outbox = undefined;
  if (mounted) execFileSync('umount', ['-l', mnt]);
  mounted = false;
  await rm(mnt, { recursive: true, force: true });
});

const win = (title: string) => ({ activeWindow: { app: 'x', title, url: '', pid: 1 } });

describe('Outbox on a full disk', () => {
  it.skipIf(!canMount)(
    'keeps running: low-priority events become a disk-full gap, high-priority ones fail loudly',
    async () => {
      outbox = await Outbox.open({
        dir: join(mnt, 'outbox'),
        log: silentLogger,
        minFreeDiskBytes: 1,
        diskCheckMs: 0,
      });
      await outbox.emit(win('before'));
      let emitted = 1;
      // Fill the filesystem to the last byte.
      try {
        await writeFile(join(mnt, 'filler'), Buffer.alloc(8 * 1024 * 1024));
      } catch {
        // ENOSPC once full: exactly what we want
      }
      // LevelDB may buffer small writes in its log: write until the disk refuses.
      let refused = false;
      for (let i = 0; i < 200 && !refused; i++) {
        await outbox.emit(win(`w${i}`.padEnd(20_000, 'x')));
        emitted++;
        refused = outbox.stats().diskLow;
      }
      expect(refused).toBe(true);
      // High-priority events are still attempted (page slack may hold a few); once the disk
      // really refuses, the caller gets a STORAGE error instead of a silent loss.
      let failure: Error | undefined;
      for (let i = 0; i < 500 && !failure; i++) {
        emitted++;
        await outbox
          .emit({ usbRemoved: { device: 'sdb', label: 'L'.repeat(20_000) } })
          .catch((err: Error) => {
            failure = err;
          });
      }
      expect(failure?.message).toMatch(/outbox write failed/);
      expect((failure as { code?: string }).code).toBe('CUST_ERR_STORAGE');
      expect(outbox.stats().pendingGaps.some((g) => g.reason === 'disk-full')).toBe(true);
      // Space comes back: the gap is written and events flow again.
      await rm(join(mnt, 'filler'));
      await outbox.emit({ usbRemoved: { device: 'sdc' } });
      emitted++;
      const events = await outbox.read(0, 1_000);
      const gap = events.find((e) => e.gap?.reason === 'disk-full');
      // The gap counts exactly the events that are not in the outbox: none lost without a trace.
      const kept = events.filter((e) => !e.gap).length;
      expect(kept).toBeLessThan(emitted);
      expect(gap?.gap?.dropped).toBe(emitted - kept);
      expect(events.map((e) => eventKind(e))).toContain('usbRemoved');
      expect(outbox.stats().diskLow).toBe(false);
    },
  );
});
