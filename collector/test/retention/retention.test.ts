// Retention against a real level store: old events and screenshots go, the run is recorded,
// and the alert keeps a note that its image expired.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagged, heartbeat, sha256 } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

const DAY = 86_400_000;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (c) => {
      c.retention.timelineDays = 90;
      c.retention.screenshotDays = 30;
    },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('retention', () => {
  it('purges old events and screenshots, records what it deleted, notes expired images on alerts', async () => {
    const { dev, client: c, stream } = await connectedDevice(h);
    const now = Date.now();
    const data = new Uint8Array(randomBytes(1000));
    c.send({
      blobChunk: {
        blobId: 'shot-1',
        index: 0,
        totalChunks: 1,
        totalSize: data.byteLength,
        sha256: sha256(data),
        contentType: 'image/png',
        data,
      },
    });
    await c.next('blobAck');
    await c.batch(stream, [
      heartbeat(1, now - 100 * DAY),
      heartbeat(2, now - 95 * DAY),
      flagged(3, 'kms', ['shot-1'], now - 40 * DAY),
      heartbeat(4, now - DAY),
    ]);

    // 31 days later the screenshot (stored "now") is past its 30 days; events older than 90 days go.
    h.clock.now = now + 31 * DAY;
    try {
      const res = await h.api('POST', '/api/v1/retention/purge', {});
      expect(res.status).toBe(200);
      const run = res.json.run;
      expect(run.timelineEventsDeleted).toBe(2);
      expect(run.perDevice[dev.deviceId]).toBe(2);
      expect(run.blobsDeleted).toBe(1);
      expect(run.blobBytesDeleted).toBe(1000);
      const [alert] = await h.app.store.alerts.list({ deviceId: dev.deviceId });
      expect(run.alertsMarked).toEqual([alert?.id]);
      expect(alert?.screenshotsExpired?.note).toMatch(/deleted by retention after 30 days/);
      expect(await h.app.store.blobs.read(dev.deviceId, 'shot-1')).toBeUndefined();
      const left = await h.app.store.timeline.query({ deviceId: dev.deviceId, limit: 10 });
      expect(left.records.map((r) => r.seq)).toEqual([4, 3]);
      expect(await h.app.store.timeline.has(dev.deviceId, stream, 1)).toBe(false);
      const runs = await h.api('GET', '/api/v1/retention/runs');
      expect(runs.json.runs[0].id).toBe(run.id);
      const audit = await h.app.store.audit.list({ action: 'retention.purge' });
      expect(audit.records[0]?.details).toMatchObject({ runId: run.id, timelineEventsDeleted: 2 });
    } finally {
      h.clock.now = undefined;
    }
    c.close();
  });
});
