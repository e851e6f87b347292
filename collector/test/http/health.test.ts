// GET /api/v1/health answers 503 with the storage code while the store refuses writes (a LevelDB
// wedged by a full disk, level-engine.ts), so a load balancer or monitor sees what agents see.
import { afterEach, describe, expect, it } from 'vitest';
import type { StorageHealth } from '../../src/store/types.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('health', () => {
  it('is 200 while the store writes and 503 CUST_ERR_STORAGE while it is failing', async () => {
    let storage: StorageHealth = { ok: true };
    h = await startHarness({
      wrapEngine: (e) => ({
        get: (k) => e.get(k),
        getMany: (k) => e.getMany(k),
        entries: (r) => e.entries(r),
        batch: (ops, o) => e.batch(ops, o),
        close: () => e.close(),
        health: () => storage,
      }),
    });
    const ok = await fetch(`${h.url}/api/v1/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, bus: { kind: 'none', connected: true } });
    storage = { ok: false, since: Date.now(), error: 'IO error: No space left on device' };
    const failing = await fetch(`${h.url}/api/v1/health`);
    expect(failing.status).toBe(503);
    const body = (await failing.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CUST_ERR_STORAGE');
    // The engine's own message (paths of the data dir) is not served to anyone who asks.
    expect(JSON.stringify(body)).not.toContain('No space left');
    storage = { ok: true };
    expect((await fetch(`${h.url}/api/v1/health`)).status).toBe(200);
  });
});
