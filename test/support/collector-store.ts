// Reads a collector's store straight from its data dir (level) or its database (PostgreSQL)
// while the collector is down (after a kill -9): what it had made durable at that moment, before
// a restart can add to it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openLevelStore, openPostgresStore, parseKey } from '../../collector/src/store/index.ts';
import type { Store, TimelineRecord } from '../../collector/src/store/types.ts';

/** A level data dir, or the URL of a PostgreSQL store. */
export type StoreLocation = string | { postgresUrl: string };

/**
 * Opens the store at `where`. The at-rest key decrypts the events that hold safeguarding text
 * (sealed since issue 19); collector-process.ts keeps it beside the data dir. Elsewhere (a data
 * dir on a test mount, a PostgreSQL store) a random key reads every record except sealed ones,
 * which then fail loudly (CUST_ERR_STORAGE), never silently.
 */
export function openStoreAt(where: StoreLocation): Promise<Store> {
  if (typeof where !== 'string')
    return openPostgresStore({ url: where.postgresUrl, poolMax: 2 }, randomBytes(32));
  const keyFile = join(dirname(where), 'screenshot.key');
  const key = existsSync(keyFile) ? parseKey(readFileSync(keyFile), 'screenshot.key') : randomBytes(32);
  return openLevelStore(where, key);
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
