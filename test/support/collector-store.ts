// Reads a collector's store straight from its data dir while the collector is down (after a
// kill -9): what it had made durable at that moment, before a restart can add to it.
import { randomBytes } from 'node:crypto';
import { openLevelStore } from '../../collector/src/store/index.ts';
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
  // The key only decrypts screenshots, which this does not read.
  const store = await openLevelStore(dataDir, randomBytes(32));
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
