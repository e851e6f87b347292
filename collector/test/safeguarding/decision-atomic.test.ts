// Issue 10 item 12: a DSL decision and its audit record are ONE atomic store batch. The store's
// engine is made to fail any write that carries an audit record (a full disk, an I/O error at
// that moment). Before the fix the grade was written first and its audit record second, so the
// failure left a graded alert with no record of who graded it; now neither is stored.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { createAuthModule } from '../../src/auth/index.ts';
import { defaultConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { createBlobCipher } from '../../src/store/blob-crypto.ts';
import { K } from '../../src/store/keys.ts';
import { createMemoryEngine } from '../../src/store/memory-engine.ts';
import { openStore } from '../../src/store/store.ts';
import type { KvEngine } from '../../src/store/types.ts';
import { type Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { passwordOnly } from '../helpers/password-only.ts';
import { seedAlert, seedDevice } from './seed.ts';

const ADMIN_TOKEN = 'atomic-decision-admin-token-0123456789';
let app: App;
let url: string;
let dir: string;
let dsl: Client;
const failing = { audit: false };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custodian-atomic-'));
  const real = createMemoryEngine();
  const auditPrefix = K.auditPrefix();
  const engine: KvEngine = new Proxy(real, {
    get(target, prop) {
      if (prop === 'batch')
        return async (ops: Parameters<KvEngine['batch']>[0], o: Parameters<KvEngine['batch']>[1]) => {
          if (failing.audit && ops.some((op) => op.key.startsWith(auditPrefix)))
            throw new Error('simulated I/O error on the audit write');
          return target.batch(ops, o);
        };
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const store = openStore({ engine, cipher: createBlobCipher(randomBytes(32)) });
  const config = {
    ...passwordOnly(defaultConfig(join(dir, 'data'))),
    port: 0,
    screenshotKeyFile: join(dir, 'key'),
  };
  app = await createApp({
    config,
    store,
    log: createLogger('silent'),
    env: { CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN },
    modules: [createAuthModule({ scrypt: TEST_SCRYPT }), safeguardingModule],
  });
  url = (await app.start()).url;
  dsl = await createStaffClient(url, ADMIN_TOKEN, 'dsl.atomic', 'dsl');
});

afterAll(async () => {
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('DSL decisions are atomic with their audit record', () => {
  for (const [action, body] of [
    ['grade', { grade: 4 }],
    ['false-positive', { reason: 'a song lyric' }],
    ['notes', { text: 'spoke to form tutor' }],
  ] as const) {
    it(`${action}: a failed audit write stores no decision either`, async () => {
      const device = await seedDevice(app.store);
      const alert = await seedAlert(app.store, { device });
      failing.audit = true;
      let refused: number;
      try {
        refused = (await dsl.req('POST', `/api/v1/alerts/${alert.id}/${action}`, body)).status;
      } finally {
        failing.audit = false;
      }
      expect(refused).toBeGreaterThanOrEqual(500);
      const after = await dsl.req('GET', `/api/v1/alerts/${alert.id}`);
      expect(after.json.alert.status).toBe('new');
      expect(after.json.alert.notes).toEqual(alert.notes);
      expect(after.json.alert.history).toEqual(alert.history);
      expect(after.json.alert.updatedAt).toBe(alert.updatedAt);

      // With the disk back, the same decision lands with its record.
      expect((await dsl.req('POST', `/api/v1/alerts/${alert.id}/${action}`, body)).status).toBe(200);
      const records = (await app.store.audit.list({ target: `alert:${alert.id}` })).records;
      expect(records.filter((r) => r.action.startsWith('alert.'))).toHaveLength(1);
    });
  }
});
