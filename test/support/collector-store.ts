// Reads a collector's store straight from its data dir (level) or its database (PostgreSQL)
// while the collector is down (after a kill -9): what it had made durable at that moment, before
// a restart can add to it.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openLevelStore, openPostgresStore, parseKey } from '../../collector/src/store/index.ts';
import type { Store, TimelineRecord } from '../../collector/src/store/types.ts';

/**
 * A level data dir, or the URL of a PostgreSQL store; with `keyFile`, the collector's at-rest key
 * (CollectorProcess.keyFile), which decrypts the events that hold safeguarding text (sealed since
 * issue 19).
 */
export type StoreLocation =
  | string
  | { dataDir: string; keyFile?: string }
  | { postgresUrl: string; keyFile?: string };

/**
 * Opens the store at `where`. Without a key file given, a level data dir's key is looked for
 * beside it (where collector-process.ts puts it for a data dir it made); otherwise a random key
 * reads every record except sealed ones, which then fail loudly (CUST_ERR_STORAGE), never silently.
 */
export function openStoreAt(where: StoreLocation): Promise<Store> {
  const at = typeof where === 'string' ? { dataDir: where } : where;
  const keyFile = at.keyFile ?? ('dataDir' in at ? join(dirname(at.dataDir), 'screenshot.key') : undefined);
  const key =
    keyFile && existsSync(keyFile) ? parseKey(readFileSync(keyFile), 'screenshot.key') : randomBytes(32);
  return 'postgresUrl' in at
    ? openPostgresStore({ url: at.postgresUrl, poolMax: 2 }, key)
    : openLevelStore(at.dataDir, key);
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
