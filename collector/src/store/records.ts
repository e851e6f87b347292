// Encoding of stored records and the write operations ingest puts into its group commit. Kept
// in one place so ingest, retention and the store read and write the same layout.
import { createHash, randomBytes } from 'node:crypto';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { BlobCipher } from './blob-crypto.ts';
import { fromJsonBytes, K, toJsonBytes } from './keys.ts';
import type { Alert, BlobMeta, DeviceLiveStatus, KvOp, StreamState, TimelineRecord } from './types.ts';

type StoredTimelineRecord = Omit<TimelineRecord, 'event'> & { event: string };

export function encodeTimelineRecord(rec: TimelineRecord): Uint8Array {
  const stored: StoredTimelineRecord = { ...rec, event: Buffer.from(rec.event).toString('base64') };
  return toJsonBytes(stored);
}

export function decodeTimelineRecord(bytes: Uint8Array): TimelineRecord {
  const stored = fromJsonBytes<StoredTimelineRecord>(bytes);
  return { ...stored, event: new Uint8Array(Buffer.from(stored.event, 'base64')) };
}

/** The two writes of one event: the record under its time index, and the dedup pointer. */
export function timelineOps(rec: TimelineRecord): KvOp[] {
  const tlKey = K.timeline(rec.deviceId, rec.time, rec.streamId, rec.seq);
  return [
    { type: 'put', key: tlKey, value: encodeTimelineRecord(rec) },
    { type: 'put', key: K.eventRef(rec.deviceId, rec.streamId, rec.seq), value: toJsonBytes(tlKey) },
  ];
}

export function streamOp(state: StreamState): KvOp {
  return { type: 'put', key: K.stream(state.deviceId, state.streamId), value: toJsonBytes(state) };
}

/** Retention's high-water mark of a stream: every seq up to `seq` was held once (and deleted). */
export function streamFloorOp(deviceId: string, streamId: string, seq: number): KvOp {
  return { type: 'put', key: K.streamFloor(deviceId, streamId), value: toJsonBytes({ seq }) };
}

export function alertOps(alert: Alert, previous?: Alert): KvOp[] {
  const ops: KvOp[] = [{ type: 'put', key: K.alert(alert.id), value: toJsonBytes(alert) }];
  if (!previous)
    ops.push({ type: 'put', key: K.alertTime(alert.createdAt, alert.id), value: new Uint8Array() });
  return ops;
}

export function statusOp(status: DeviceLiveStatus): KvOp {
  return { type: 'put', key: K.status(status.deviceId), value: toJsonBytes(status) };
}

/** One encrypted chunk of a blob being uploaded (unsynced: the final meta write syncs the log). */
export function blobChunkOp(
  cipher: BlobCipher,
  deviceId: string,
  blobId: string,
  index: number,
  data: Uint8Array,
): KvOp {
  const key = K.blobChunk(deviceId, blobId, index);
  return { type: 'put', key, value: cipher.encrypt(key, data) };
}

export function blobMetaOps(meta: BlobMeta): KvOp[] {
  return [
    { type: 'put', key: K.blobMeta(meta.deviceId, meta.blobId), value: toJsonBytes(meta) },
    { type: 'put', key: K.blobTime(meta.storedAt, meta.deviceId, meta.blobId), value: new Uint8Array() },
    // The upload is complete: its chunks are no longer retention's orphans.
    { type: 'del', key: K.blobUpload(meta.deviceId, meta.blobId) },
  ];
}

/** Marks an upload as started (written with its chunk 0), so chunks a crash strands can be found and aged. */
export function blobUploadOp(deviceId: string, blobId: string, startedAt: number): KvOp {
  return { type: 'put', key: K.blobUpload(deviceId, blobId), value: toJsonBytes({ startedAt }) };
}

/** Alert ids are derived from the event, so a replayed flaggedActivity can never open a second alert. */
export function alertIdFor(deviceId: string, streamId: string, seq: number): string {
  return `al_${createHash('sha256').update(`${deviceId}\n${streamId}\n${seq}`).digest('base64url').slice(0, 22)}`;
}

export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, prefix: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[A-Za-z0-9_-]{1,1024}$/.test(cursor) || !key.startsWith(prefix)) {
    throw new CustodianError(ErrorCode.INVALID_INPUT, 'cursor is not valid for this list', {
      details: { field: 'cursor' },
    });
  }
  return key;
}
