// Reads a collector's store straight from its data dir (level) or its database (PostgreSQL)
// while the collector is down (after a kill -9): what it had made durable at that moment, before
// a restart can add to it.
import { randomBytes } from 'node:crypto';
import { openLevelStore, openPostgresStore } from '../../collector/src/store/index.ts';
import type { Store, TimelineRecord } from '../../collector/src/store/types.ts';

/** A level data dir, or the URL of a PostgreSQL store. */
export type StoreLocation = string | { postgresUrl: string };

/** Opens the store at `where` (the key only decrypts screenshots, which these readers do not read). */
export function openStoreAt(where: StoreLocation): Promise<Store> {
  const key = randomBytes(32);
  return typeof where === 'string'
    ? openLevelStore(where, key)
    : openPostgresStore({ url: where.postgresUrl, poolMax: 2 }, key);
}

/** Every timeline record of one device, all streams, newest first (the store's order). */
export async function storedTimeline(where: StoreLocation, deviceId: string): Promise<TimelineRecord[]> {
  return (await storedTimelines(where, [deviceId])).get(deviceId) ?? [];
}

/** storedTimeline for many devices, opening the store once. */
export async function storedTimelines(
  where: StoreLocation,
  deviceIds: readonly string[],
): Promise<Map<string, TimelineRecord[]>> {
  const store = await openStoreAt(where);
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
