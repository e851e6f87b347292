// Reads a collector's store straight from its data dir while the collector is down (after a
// kill -9): what it had made durable at that moment, before a restart can add to it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openLevelStore, parseKey } from '../../collector/src/store/index.ts';
import type { TimelineRecord } from '../../collector/src/store/types.ts';

/** Every timeline record of one device, all streams, newest first (the store's order). */
export async function storedTimeline(dataDir: string, deviceId: string): Promise<TimelineRecord[]> {
  return (await storedTimelines(dataDir, [deviceId])).get(deviceId) ?? [];
}

/** storedTimeline for many devices, opening the store once. */
export async function storedTimelines(
  dataDir: string,
  deviceIds: readonly string[],
): Promise<Map<string, TimelineRecord[]>> {
  // The at-rest key decrypts the events that hold safeguarding text (sealed since issue 19).
  // collector-process.ts keeps it beside the data dir.
  const keyFile = join(dirname(dataDir), 'screenshot.key');
  // Elsewhere (a data dir on a test mount): a random key reads every record except sealed ones,
  // which then fail loudly (CUST_ERR_STORAGE), never silently.
  const key = existsSync(keyFile) ? parseKey(readFileSync(keyFile), 'screenshot.key') : randomBytes(32);
  const store = await openLevelStore(dataDir, key);
  try {
    const all = new Map<string, TimelineRecord[]>();
    for (const deviceId of deviceIds) {
      const out: TimelineRecord[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.timeline.query({ deviceId, limit: 1000, ...(cursor ? { cursor } : {}) });
        out.push(...page.records);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      all.set(deviceId, out);
    }
    return all;
  } finally {
    await store.close();
  }
}
