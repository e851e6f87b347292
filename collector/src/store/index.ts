// Opening the one Store of a collector process.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createBlobCipher } from './blob-crypto.ts';
import { type LevelEngineOptions, openLevelEngine } from './level-engine.ts';
import { createMemoryEngine } from './memory-engine.ts';
import { openPostgresEngine, type PostgresEngineOptions } from './postgres-engine.ts';
import { openStore } from './store.ts';
import type { Store } from './types.ts';

export { createBlobCipher, loadOrCreateKeyFile, parseKey } from './blob-crypto.ts';
export { describeUrl as describePostgresUrl } from './postgres-engine.ts';
export type * from './types.ts';

/** The level store under `<dataDir>/db`. `screenshotKey` is the 32-byte AES-256-GCM key. */
export async function openLevelStore(
  dataDir: string,
  screenshotKey: Uint8Array,
  now?: () => number,
  engineOptions: LevelEngineOptions = {},
): Promise<Store> {
  const engine = await openLevelEngine(join(dataDir, 'db'), { ...engineOptions, ...(now ? { now } : {}) });
  return openStore({ engine, cipher: createBlobCipher(screenshotKey), ...(now ? { now } : {}) });
}

/**
 * The PostgreSQL store (one table under the same KvEngine, see README.md): migrations applied and
 * the one-writer lock taken before it returns (CUST_ERR_STORE_LOCKED if another collector holds it).
 */
export async function openPostgresStore(
  options: PostgresEngineOptions,
  screenshotKey: Uint8Array,
  now?: () => number,
): Promise<Store> {
  const engine = await openPostgresEngine(options);
  return openStore({ engine, cipher: createBlobCipher(screenshotKey), ...(now ? { now } : {}) });
}

/** In-memory store for unit tests; a random key unless one is given. */
export function openMemoryStore(screenshotKey?: Uint8Array, now?: () => number): Store {
  return openStore({
    engine: createMemoryEngine(),
    cipher: createBlobCipher(screenshotKey ?? randomBytes(32)),
    ...(now ? { now } : {}),
  });
}
