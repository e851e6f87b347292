// Chunked screenshot uploads: hashed, encrypted at rest, acked only when complete and matching.
import { randomBytes } from 'node:crypto';
import { BLOB_CHUNK_BYTES, CloseCode, MAX_BLOB_BYTES, v1 } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIGH, K, SEP } from '../../src/store/keys.ts';
import { type AgentClient, flagged, sha256 } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

function sendBlob(
  client: AgentClient,
  blobId: string,
  data: Uint8Array,
  opts: { sha?: Uint8Array; contentType?: string } = {},
) {
  const total = Math.ceil(data.byteLength / BLOB_CHUNK_BYTES);
  for (let i = 0; i < total; i++) {
    client.send({
      blobChunk: {
        blobId,
        index: i,
        totalChunks: total,
        totalSize: data.byteLength,
        sha256: opts.sha ?? sha256(data),
        contentType: opts.contentType ?? 'image/png',
        data: data.subarray(i * BLOB_CHUNK_BYTES, (i + 1) * BLOB_CHUNK_BYTES),
      },
    });
  }
}

/** Everything the store holds for one blob: a second copy would show up in one of these. */
async function storedCopies(deviceId: string, blobId: string) {
  const { engine } = h.app.store;
  const chunks: string[] = [];
  const prefix = K.blobChunkPrefix(deviceId, blobId);
  for await (const [key, value] of engine.entries({ gte: prefix, lt: `${prefix}${HIGH}` })) {
    chunks.push(`${key}=${Buffer.from(value).toString('base64')}`);
  }
  const timeSuffix = `${SEP}${deviceId}${SEP}${blobId}`;
  let timeIndex = 0;
  const timePrefix = K.blobTimePrefix();
  for await (const [key] of engine.entries({ gte: timePrefix, lt: `${timePrefix}${HIGH}` })) {
    if (key.endsWith(timeSuffix)) timeIndex++;
  }
  return {
    meta: await h.app.store.blobs.meta(deviceId, blobId),
    chunks,
    timeIndex,
    uploadMarker: (await engine.get(K.blobUpload(deviceId, blobId))) !== undefined,
  };
}

describe('blob upload', () => {
  it('stores a complete, matching blob encrypted and acks STORED; the alert references it', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    const marker = Buffer.from('PLAINTEXT-MARKER-'.repeat(4));
    const data = new Uint8Array(Buffer.concat([marker, randomBytes(BLOB_CHUNK_BYTES * 2 + 1000)]));
    const blobId = 'b7c0ffee-0000-4000-8000-000000000001';
    sendBlob(client, blobId, data);
    const ack = (await client.next('blobAck')).blobAck!;
    expect(ack).toMatchObject({ blobId, status: v1.BlobAck.Status.STORED });
    const read = await h.app.store.blobs.read(dev.deviceId, blobId);
    expect(read?.meta).toMatchObject({ size: data.byteLength, chunks: 3, contentType: 'image/png' });
    expect(Buffer.from(read!.data).equals(Buffer.from(data))).toBe(true);
    const raw = await h.app.store.engine.get(K.blobChunk(dev.deviceId, blobId, 0));
    expect(raw).toBeDefined();
    expect(Buffer.from(raw!).includes(marker)).toBe(false);

    await client.batch(stream, [flagged(1, 'kms', [blobId])]);
    const [alert] = await h.app.store.alerts.list({ deviceId: dev.deviceId });
    expect(alert?.screenshotBlobIds).toEqual([blobId]);

    client.close();
  });

  it('a blob sent again is acked STORED and the store still holds exactly one copy of it', async () => {
    const { dev, client } = await connectedDevice(h);
    const data = new Uint8Array(randomBytes(BLOB_CHUNK_BYTES * 2 + 1000));
    const blobId = 'b7c0ffee-0000-4000-8000-000000000002';
    sendBlob(client, blobId, data);
    expect((await client.next('blobAck')).blobAck).toMatchObject({
      blobId,
      status: v1.BlobAck.Status.STORED,
    });
    const first = await storedCopies(dev.deviceId, blobId);
    expect(first.chunks).toHaveLength(3);
    expect(first.timeIndex).toBe(1);
    // A later clock: a second write would show as a new storedAt and a second time-index entry.
    h.clock.now = Date.now() + 60_000;
    try {
      sendBlob(client, blobId, data);
      expect((await client.next('blobAck')).blobAck).toMatchObject({
        blobId,
        status: v1.BlobAck.Status.STORED,
      });
    } finally {
      h.clock.now = undefined;
    }
    // Same meta, same ciphertext (a rewrite would use fresh nonces), one time-index entry, no upload marker.
    expect(await storedCopies(dev.deviceId, blobId)).toEqual(first);
    expect(first.uploadMarker).toBe(false);
    client.close();
  });

  it('answers HASH_MISMATCH and keeps nothing when the hash does not match', async () => {
    const { dev, client } = await connectedDevice(h);
    const data = new Uint8Array(randomBytes(1000));
    sendBlob(client, 'blob-mismatch', data, { sha: sha256(new Uint8Array([1, 2, 3])) });
    expect((await client.next('blobAck')).blobAck).toMatchObject({ status: v1.BlobAck.Status.HASH_MISMATCH });
    expect(await h.app.store.blobs.meta(dev.deviceId, 'blob-mismatch')).toBeUndefined();
    // The session stays usable: a correct resend is stored.
    sendBlob(client, 'blob-mismatch', data);
    expect((await client.next('blobAck')).blobAck).toMatchObject({ status: v1.BlobAck.Status.STORED });
    client.close();
  });

  it('rejects path-like ids, unknown content types and chunks out of order', async () => {
    const { client } = await connectedDevice(h);
    const data = new Uint8Array(randomBytes(100));
    sendBlob(client, '../../etc/passwd', data);
    expect((await client.next('blobAck')).blobAck).toMatchObject({ status: v1.BlobAck.Status.REJECTED });
    sendBlob(client, 'blob-html', data, { contentType: 'text/html' });
    expect((await client.next('blobAck')).blobAck).toMatchObject({
      blobId: 'blob-html',
      status: v1.BlobAck.Status.REJECTED,
    });
    client.send({
      blobChunk: {
        blobId: 'blob-order',
        index: 1,
        totalChunks: 2,
        totalSize: 200,
        sha256: sha256(data),
        contentType: 'image/png',
        data,
      },
    });
    expect((await client.next('blobAck')).blobAck).toMatchObject({
      blobId: 'blob-order',
      status: v1.BlobAck.Status.REJECTED,
    });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.close();
  });

  it('closes with LIMIT_EXCEEDED for a blob over the maximum size', async () => {
    const { client } = await connectedDevice(h);
    client.send({
      blobChunk: {
        blobId: 'huge',
        index: 0,
        totalChunks: 100,
        totalSize: MAX_BLOB_BYTES + 1,
        sha256: sha256(new Uint8Array(1)),
        contentType: 'image/png',
        data: new Uint8Array(10),
      },
    });
    expect((await client.closed).code).toBe(CloseCode.LIMIT_EXCEEDED);
    expect(client.messages.find((m) => m.body === 'error')?.error?.code).toBe('CUST_ERR_BLOB_TOO_LARGE');
  });
});
