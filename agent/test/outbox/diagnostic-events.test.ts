// `emit-test-events N --tag T --screenshots K`: the diagnostic the crash campaign feeds agents with.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import { BlobStore } from '../../src/outbox/blob-store.ts';
import { DIAGNOSTIC_SCREENSHOT_BYTES, emitDiagnosticEvents } from '../../src/outbox/diagnostic-events.ts';
import { Outbox } from '../../src/outbox/outbox.ts';

let dir: string;
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('diagnostic events', () => {
  it('appends N tagged events and K flags, each referencing its own stored screenshot', async () => {
    dir = await mkdtemp(join(tmpdir(), 'custodian-diag-'));
    const o = { outboxDir: join(dir, 'outbox'), blobDir: join(dir, 'blobs'), log: silentLogger };
    const s = await emitDiagnosticEvents({ ...o, count: 10, tag: 'c1', screenshots: 3 });
    expect(s).toEqual({ depth: 13, lastSeq: 13 });
    const outbox = await Outbox.open({ dir: o.outboxDir, log: silentLogger });
    const events = await outbox.read(0, 100);
    await outbox.close();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    const titles = events.flatMap((e) => (e.activeWindow ? [e.activeWindow.title] : []));
    expect(titles).toEqual(Array.from({ length: 10 }, (_, i) => `diagnostic event ${i + 1} of 10 [c1]`));
    const flagged = events.flatMap((e) => e.flaggedActivity?.screenshotBlobIds ?? []);
    const blobs = new BlobStore({ dir: o.blobDir, log: silentLogger });
    const stored = await blobs.list();
    expect(flagged.sort()).toEqual(stored.map((b) => b.id).sort());
    for (const b of stored) {
      const data = await blobs.read(b.id);
      expect(data.byteLength).toBe(DIAGNOSTIC_SCREENSHOT_BYTES);
      expect(createHash('sha256').update(data).digest('hex')).toBe(b.sha256);
    }
    // The last event is the last flag: flags are spread through the events, not bunched first.
    expect(events.at(-1)?.flaggedActivity).toBeTruthy();
    expect(events[0]?.activeWindow).toBeTruthy();
  });
});
