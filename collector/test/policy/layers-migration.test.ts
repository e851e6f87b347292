// Migration to policy layers (tenancy): a level or PostgreSQL store holding a default and device
// overrides from before layers (the same `pd`/`po`/`cfg!policy-version` keys, devices with no
// school or group) is reopened by this code: the default, the overrides and every device's
// effective policy and version are unchanged, and the first layer change continues the counter.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergePolicy, RECEIVED_LIMITS } from '@custodian/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgCluster, startPostgres } from '../../../test/support/postgres.ts';
import { LiveHub } from '../../src/live/hub.ts';
import { createLogger } from '../../src/log.ts';
import { PolicyService } from '../../src/policy/service.ts';
import { openLevelStore, openPostgresStore } from '../../src/store/index.ts';
import type { Device, Store } from '../../src/store/types.ts';

const device = (id: string): Device => ({
  id,
  kind: 'school',
  machineId: `m-${id}`,
  hostname: id,
  os: 'linux',
  serial: 'S',
  keyHash: 'ab'.repeat(32),
  enrolledAt: 1,
});

function service(store: Store) {
  return new PolicyService({
    store,
    live: new LiveHub(),
    log: createLogger('silent'),
    audit: async () => ({ id: 'a', at: 0, actor: 'x', action: 'x', target: 'x' }),
  });
}

/** Writes what a collector from before layers left behind, closes the store. */
async function before(store: Store) {
  const svc = service(store);
  await svc.init();
  await store.devices.put(device('d1'));
  await store.devices.put(device('d2'));
  await svc.updateDefault({ heartbeatSeconds: 45 }, 'faster', 'it1');
  await svc.updateDevice('d1', { idleLock: { idleLockSeconds: 300 } }, 'exam laptop', 'it1');
  const snapshot = {
    default: await store.policy.getDefault(),
    override: await store.policy.getOverride('d1'),
    d1: await svc.effective('d1'),
    d2: await svc.effective('d2'),
  };
  await store.close();
  return snapshot;
}

async function after(store: Store, was: Awaited<ReturnType<typeof before>>) {
  const svc = service(store);
  await svc.init();
  expect(await store.policy.getDefault()).toEqual(was.default);
  expect(await store.policy.getOverride('d1')).toEqual(was.override);
  const d1 = await svc.effective('d1');
  expect(d1).toEqual(was.d1);
  expect(d1).toEqual({
    ...mergePolicy(was.default!, was.override!.patch, RECEIVED_LIMITS),
    version: Math.max(was.default!.version, was.override!.version),
  });
  expect(await svc.effective('d2')).toEqual(was.d2);
  const layers = await svc.layers('d1');
  expect(layers.layers.map((l) => l.kind)).toEqual(['default', 'device']);
  expect(layers.fields.find((f) => f.field === 'idleLock.idleLockSeconds')).toMatchObject({
    value: 300,
    layer: 'device',
  });
  // The counter continues: a school layer raises both devices past what they had.
  const { version } = await svc.updateLayer(
    { kind: 'school', id: 'default' },
    { capture: { frames: 2 } },
    'school choice',
    'admin1',
  );
  expect(version).toBeGreaterThan(Math.max(was.d1.version, was.d2.version));
  expect((await svc.effective('d2')).version).toBe(version);
  await store.close();
}

describe('stores from before policy layers', () => {
  it('level: reopened, default and overrides unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custodian-layers-'));
    const key = randomBytes(32);
    try {
      const was = await before(await openLevelStore(dir, key));
      await after(await openLevelStore(dir, key), was);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('PostgreSQL', () => {
    let pg: PgCluster;
    beforeAll(async () => {
      pg = await startPostgres();
    }, 120_000);
    afterAll(async () => {
      await pg?.stop();
    });
    it('reopened, default and overrides unchanged', async () => {
      const db = await pg.createDatabase();
      const key = randomBytes(32);
      const was = await before(await openPostgresStore({ url: pg.url(db), poolMax: 2 }, key));
      await after(await openPostgresStore({ url: pg.url(db), poolMax: 2 }, key), was);
      await pg.dropDatabase(db);
    });
  });
});
