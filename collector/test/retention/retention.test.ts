// Retention against a real level store: old events and screenshots go, the run is recorded,
// and the alert keeps a note that its image expired.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K } from '../../src/store/keys.ts';
import { blobUploadOp } from '../../src/store/records.ts';
import { flagged, heartbeat, sha256 } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (c) => {
      c.retention.timelineDays = 90;
      c.retention.screenshotDays = 30;
      c.retention.incompleteUploadHours = 24;
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
    // Events received long ago (agent clocks far behind the receive time are not believed, so
    // the collector's clock is moved back for them).
    h.clock.now = now - 100 * DAY;
    await c.batch(stream, [heartbeat(1, now - 100 * DAY)]);
    h.clock.now = now - 95 * DAY;
    await c.batch(stream, [heartbeat(2, now - 95 * DAY)]);
    h.clock.now = undefined;
    await c.batch(stream, [flagged(3, 'kms', ['shot-1'], now - 40 * DAY), heartbeat(4, now - DAY)]);

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

describe('retention of incomplete uploads', () => {
  /** Keys of one blob's chunks and its upload marker, as they are on disk. */
  async function onDisk(deviceId: string, blobId: string): Promise<string[]> {
    const keys: string[] = [];
    const chunks = K.blobChunkPrefix(deviceId, blobId);
    for await (const [k] of h.app.store.engine.entries({ gte: chunks, lt: `${chunks}\xff` })) keys.push(k);
    if (await h.app.store.engine.get(K.blobUpload(deviceId, blobId)))
      keys.push(K.blobUpload(deviceId, blobId));
    return keys;
  }

  it('ingest marks an upload on chunk 0 and clears the mark when the blob is stored', async () => {
    const { dev, client: c } = await connectedDevice(h);
    const data = new Uint8Array(randomBytes(2000));
    const chunk = (index: number) => ({
      blobChunk: {
        blobId: 'two-part',
        index,
        totalChunks: 2,
        totalSize: data.byteLength,
        sha256: sha256(data),
        contentType: 'image/png',
        data: data.subarray(index * 1000, (index + 1) * 1000),
      },
    });
    c.send(chunk(0));
    const deadline = Date.now() + 10_000;
    while ((await onDisk(dev.deviceId, 'two-part')).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(await onDisk(dev.deviceId, 'two-part')).toEqual([
      K.blobChunk(dev.deviceId, 'two-part', 0),
      K.blobUpload(dev.deviceId, 'two-part'),
    ]);
    c.send(chunk(1));
    const ack = await c.next('blobAck');
    expect(ack.blobAck?.reason).toBe('');
    expect(await h.app.store.engine.get(K.blobUpload(dev.deviceId, 'two-part'))).toBeUndefined();
    expect((await h.app.store.blobs.read(dev.deviceId, 'two-part'))?.data).toEqual(data);
    c.close();
  });

  it('deletes the chunks of an upload a crash left behind once older than the bound, keeps recent ones', async () => {
    const dev = await h.enrol();
    const store = h.app.store;
    // What ingest had written when the collector died: chunks 0 and 1 of 3 plus the marker.
    const strand = (blobId: string, at: number) =>
      store.engine.batch(
        [
          store.blobs.sealChunk(dev.deviceId, blobId, 0, new Uint8Array(randomBytes(500))),
          store.blobs.sealChunk(dev.deviceId, blobId, 1, new Uint8Array(randomBytes(500))),
          blobUploadOp(dev.deviceId, blobId, at),
        ],
        { sync: true },
      );
    const now = Date.now();
    await strand('crashed', now);
    await strand('recent', now + 20 * HOUR);
    // A complete blob whose marker outlived it (never its chunks' death warrant).
    const complete = new Uint8Array(randomBytes(700));
    await store.blobs.put(dev.deviceId, 'complete', 'image/png', complete);
    await store.engine.batch([blobUploadOp(dev.deviceId, 'complete', now)], { sync: true });

    h.clock.now = now + 25 * HOUR;
    try {
      const res = await h.api('POST', '/api/v1/retention/purge', {});
      expect(res.status).toBe(200);
      const run = res.json.run;
      expect(run.cutoffs.incompleteUploads).toBe(now + HOUR);
      expect(run.incompleteUploadsDeleted).toBe(1);
      expect(run.incompleteChunksDeleted).toBe(2);
      expect(await onDisk(dev.deviceId, 'crashed')).toEqual([]);
      expect(await onDisk(dev.deviceId, 'recent')).toHaveLength(3);
      expect((await store.blobs.read(dev.deviceId, 'complete'))?.data).toEqual(complete);
      expect(await store.engine.get(K.blobUpload(dev.deviceId, 'complete'))).toBeUndefined();
      const runs = await h.api('GET', '/api/v1/retention/runs');
      // Runs are listed by time; the first test's purge ran at a later clock.
      const recorded = runs.json.runs.find((r: { id: string }) => r.id === run.id);
      expect(recorded).toMatchObject({ incompleteUploadsDeleted: 1, incompleteChunksDeleted: 2 });
      const audit = await store.audit.list({ action: 'retention.purge' });
      const entry = audit.records.find((r) => r.details?.['runId'] === run.id);
      expect(entry?.details).toMatchObject({ incompleteUploadsDeleted: 1 });

      // A day later the recent one is past the bound too.
      h.clock.now = now + 45 * HOUR;
      const later = (await h.api('POST', '/api/v1/retention/purge', {})).json.run;
      expect(later.incompleteUploadsDeleted).toBe(1);
      expect(await onDisk(dev.deviceId, 'recent')).toEqual([]);
    } finally {
      h.clock.now = undefined;
    }
  });
});

describe('retention of retired devices', () => {
  let h2: Harness;
  beforeAll(async () => {
    h2 = await startHarness({
      config: (c) => {
        c.retention.timelineDays = 90;
        c.retention.screenshotDays = 60;
        c.retention.retiredDays = 30;
      },
    });
  });
  afterAll(async () => {
    await h2?.close();
  });

  async function upload(c: Awaited<ReturnType<typeof connectedDevice>>['client'], blobId: string) {
    const data = new Uint8Array(randomBytes(500));
    c.send({
      blobChunk: {
        blobId,
        index: 0,
        totalChunks: 1,
        totalSize: data.byteLength,
        sha256: sha256(data),
        contentType: 'image/png',
        data,
      },
    });
    await c.next('blobAck');
  }

  it('removes a device retired longer than retiredDays: young events and unreferenced screenshots; alerts and their evidence stay', async () => {
    const now = Date.now();
    const gone = await connectedDevice(h2);
    await upload(gone.client, 'shot-alert');
    await upload(gone.client, 'shot-loose');
    await gone.client.batch(gone.stream, [
      heartbeat(1, now - DAY),
      flagged(2, 'kms', ['shot-alert'], now - DAY),
      heartbeat(3, now),
    ]);
    const retire = await h2.api('POST', `/api/v1/devices/${gone.dev.deviceId}/retire`, {
      reason: 'recycled',
    });
    expect(retire.status).toBe(200);
    const recent = await connectedDevice(h2);
    await recent.client.batch(recent.stream, [heartbeat(1, now)]);
    h2.clock.now = now + 20 * DAY;
    try {
      expect(
        (await h2.api('POST', `/api/v1/devices/${recent.dev.deviceId}/retire`, { reason: 'spare' })).status,
      ).toBe(200);
      h2.clock.now = now + 31 * DAY;
      const res = await h2.api('POST', '/api/v1/retention/purge', {});
      expect(res.status).toBe(200);
      const run = res.json.run;
      expect(run.retiredDevicesPurged).toEqual([gone.dev.deviceId]);
      // The record of what was purged and what was kept, per device, on the run and in the audit log.
      const purged = {
        deviceId: gone.dev.deviceId,
        retiredAt: (await h2.app.store.devices.get(gone.dev.deviceId))?.retiredAt,
        retiredBy: 'admin-token',
        timelineEvents: 3,
        eventRefs: 3,
        streams: 1,
        screenshots: 1,
        screenshotBytes: 500,
        statusSnapshot: true,
        policyOverride: false,
        alertsKept: 1,
        screenshotsKept: 1,
      };
      expect(run.retiredPurges).toEqual([purged]);
      const audit = (await h2.app.store.audit.list({ action: 'device.purge' })).records;
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ target: `device:${gone.dev.deviceId}`, details: purged });
      expect(run.timelineEventsDeleted).toBe(3);
      expect(run.perDevice).toEqual({ [gone.dev.deviceId]: 3 });
      expect(run.blobsDeleted).toBe(1);
      expect(run.blobBytesDeleted).toBe(500);
      const timeline = await h2.api('GET', `/api/v1/devices/${gone.dev.deviceId}/timeline`);
      expect(timeline.json.events).toEqual([]);
      expect((await h2.api('GET', `/api/v1/devices/${gone.dev.deviceId}/streams`)).json.streams).toEqual([]);
      expect(await h2.app.store.timeline.has(gone.dev.deviceId, gone.stream, 2)).toBe(false);
      expect(await h2.app.store.blobs.read(gone.dev.deviceId, 'shot-loose')).toBeUndefined();
      expect((await h2.app.store.blobs.read(gone.dev.deviceId, 'shot-alert'))?.data.byteLength).toBe(500);
      expect(await h2.app.store.alerts.list({ deviceId: gone.dev.deviceId })).toHaveLength(1);
      expect((await h2.app.store.devices.get(gone.dev.deviceId))?.purgedAt).toBe(now + 31 * DAY);
      // Retired 11 days ago: not yet.
      const kept = await h2.api('GET', `/api/v1/devices/${recent.dev.deviceId}/timeline`);
      expect(kept.json.events).toHaveLength(1);
      // Purged once: the next run finds nothing more to do for it.
      const again = (await h2.api('POST', '/api/v1/retention/purge', {})).json.run;
      expect(again.retiredDevicesPurged).toBeUndefined();
      expect(again.timelineEventsDeleted).toBe(0);
    } finally {
      h2.clock.now = undefined;
    }
  });
});
