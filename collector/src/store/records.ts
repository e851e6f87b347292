// Encoding of stored records and the write operations ingest puts into its group commit. Kept
// in one place so ingest, retention and the store read and write the same layout.
import { createHash, randomBytes } from 'node:crypto';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { BlobCipher } from './blob-crypto.ts';
import { fromJsonBytes, K, toJsonBytes } from './keys.ts';
import type { Alert, BlobMeta, DeviceLiveStatus, KvOp, StreamState, TimelineRecord } from './types.ts';

type StoredTimelineRecord = Omit<TimelineRecord, 'event'> & {
  /** The event bytes, base64: an event with no safeguarding text in it. */
  event?: string;
  /** The event bytes sealed with the at-rest key (AAD = the record's key), base64. */
  eventSealed?: string;
};

/**
 * Whether a timeline record holds safeguarding text: the flaggedActivity that opened an alert
 * (term, context, window) or device text that matched the library at ingest. Those are sealed
 * at rest; every other event is stored as is (base64 protobuf).
 */
export function isSensitiveRecord(rec: Pick<TimelineRecord, 'alertId' | 'sensitive' | 'kind'>): boolean {
  return rec.alertId !== undefined || rec.kind === 'flaggedActivity' || (rec.sensitive?.length ?? 0) > 0;
}

/** `key` is the record's `tl` key: a sealed event cannot be moved to another device, time or seq. */
export function encodeTimelineRecord(cipher: BlobCipher, key: string, rec: TimelineRecord): Uint8Array {
  const { event, ...rest } = rec;
  const stored: StoredTimelineRecord = isSensitiveRecord(rec)
    ? { ...rest, eventSealed: Buffer.from(cipher.encrypt(key, event)).toString('base64') }
    : { ...rest, event: Buffer.from(event).toString('base64') };
  return toJsonBytes(stored);
}

/** Reads both shapes: sealed (since issue 19) and plain (older records, until the start migration). */
export function decodeTimelineRecord(cipher: BlobCipher, key: string, bytes: Uint8Array): TimelineRecord {
  const { event, eventSealed, ...rest } = fromJsonBytes<StoredTimelineRecord>(bytes);
  const bytesOut =
    eventSealed !== undefined
      ? cipher.decrypt(key, Buffer.from(eventSealed, 'base64'))
      : Buffer.from(event ?? '', 'base64');
  return { ...rest, event: new Uint8Array(bytesOut) };
}

/** Is this stored timeline value plain although it holds safeguarding text (written before sealing)? */
export function timelineNeedsSealing(bytes: Uint8Array): boolean {
  const stored = fromJsonBytes<StoredTimelineRecord>(bytes);
  return stored.eventSealed === undefined && isSensitiveRecord(stored);
}

/** The two writes of one event: the record under its time index, and the dedup pointer. */
export function timelineOps(cipher: BlobCipher, rec: TimelineRecord): KvOp[] {
  const tlKey = K.timeline(rec.deviceId, rec.time, rec.streamId, rec.seq);
  return [
    { type: 'put', key: tlKey, value: encodeTimelineRecord(cipher, tlKey, rec) },
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

/** The safeguarding text of an alert: sealed at rest (AAD = the alert's key), plain in memory. */
export const SEALED_ALERT_FIELDS = [
  'term',
  'context',
  'windowTitle',
  'windowUrl',
  'windowApp',
  'notes',
] as const;
type SealedAlertField = (typeof SEALED_ALERT_FIELDS)[number];
type StoredAlert = Omit<Alert, SealedAlertField> &
  Partial<Pick<Alert, SealedAlertField>> & { sealed?: string };

export function encodeAlert(cipher: BlobCipher, alert: Alert): Uint8Array {
  const text: Partial<Pick<Alert, SealedAlertField>> = {};
  const rest: Record<string, unknown> = { ...alert };
  for (const f of SEALED_ALERT_FIELDS) {
    (text as Record<string, unknown>)[f] = alert[f];
    delete rest[f];
  }
  const sealed = cipher.encrypt(K.alert(alert.id), toJsonBytes(text));
  return toJsonBytes({ ...rest, sealed: Buffer.from(sealed).toString('base64') });
}

/** Reads both shapes: sealed (since issue 19) and plain (older records, until the start migration). */
export function decodeAlert(cipher: BlobCipher, bytes: Uint8Array): Alert {
  const { sealed, ...stored } = fromJsonBytes<StoredAlert>(bytes);
  if (sealed === undefined) return stored as Alert;
  const text = fromJsonBytes<Pick<Alert, SealedAlertField>>(
    cipher.decrypt(K.alert(stored.id), Buffer.from(sealed, 'base64')),
  );
  return { ...stored, ...text } as Alert;
}

/** Is this stored alert value plain (written before sealing)? */
export function alertNeedsSealing(bytes: Uint8Array): boolean {
  return fromJsonBytes<StoredAlert>(bytes).sealed === undefined;
}

export function alertOps(cipher: BlobCipher, alert: Alert, previous?: Alert): KvOp[] {
  const ops: KvOp[] = [{ type: 'put', key: K.alert(alert.id), value: encodeAlert(cipher, alert) }];
  if (!previous)
    ops.push({ type: 'put', key: K.alertTime(alert.createdAt, alert.id), value: new Uint8Array() });
  return ops;
}

type StoredStatus = Omit<DeviceLiveStatus, 'currentWindow'> & {
  currentWindow?: DeviceLiveStatus['currentWindow'];
  /** The current window (title, URL, app) sealed: it may be what just opened an alert. */
  currentWindowSealed?: string;
};

export function statusOp(cipher: BlobCipher, status: DeviceLiveStatus): KvOp {
  const key = K.status(status.deviceId);
  const { currentWindow, ...rest } = status;
  const stored: StoredStatus =
    currentWindow === undefined
      ? rest
      : {
          ...rest,
          currentWindowSealed: Buffer.from(cipher.encrypt(key, toJsonBytes(currentWindow))).toString(
            'base64',
          ),
        };
  return { type: 'put', key, value: toJsonBytes(stored) };
}

export function decodeStatus(cipher: BlobCipher, bytes: Uint8Array): DeviceLiveStatus {
  const { currentWindowSealed, ...stored } = fromJsonBytes<StoredStatus>(bytes);
  if (currentWindowSealed === undefined) return stored;
  const currentWindow = fromJsonBytes<NonNullable<DeviceLiveStatus['currentWindow']>>(
    cipher.decrypt(K.status(stored.deviceId), Buffer.from(currentWindowSealed, 'base64')),
  );
  return { ...stored, currentWindow };
}

/** Is this stored status snapshot's current window plain (written before sealing)? */
export function statusNeedsSealing(bytes: Uint8Array): boolean {
  return fromJsonBytes<StoredStatus>(bytes).currentWindow !== undefined;
}

/** The index key part of a user name as agents report it: names compare without case. */
export function userHash(name: string): string {
  return sha256Hex(name.toLowerCase());
}

/**
 * "This user was reported signed in on this device" (written by ingest when the reported user
 * changes): lets a subject access request read only the timelines of the devices a user used.
 */
export function userSeenOp(deviceId: string, user: string, at: number): KvOp {
  return { type: 'put', key: K.userSeen(userHash(user), deviceId), value: toJsonBytes({ user, at }) };
}

/**
 * Namespaces of other modules sealed whole at rest: safeguarding records (incidents) and the
 * records that hold secrets a copy of the data dir must not give away — staff accounts (password
 * hashes, TOTP secrets and recovery-code hashes), the sign-in settings (the OIDC client secret)
 * and the notification settings (the SMTP password, webhook secrets; a school's notify layer with
 * them, its contacts being the same kind of record).
 */
export const SEALED_NAMESPACES: ReadonlySet<string> = new Set([
  'incidents',
  'users',
  'sign-in-settings',
  'notify-settings',
  'notify-school-settings',
]);

type SealedValue = { sealed: string };
function isSealedValue(v: unknown): v is SealedValue {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === 'sealed' && typeof (v as SealedValue).sealed === 'string';
}

/** A kv value as stored: JSON, or in a sealed namespace `{sealed}` (AAD = its `kv!ns!key` key). */
export function encodeKvValue(cipher: BlobCipher, ns: string, key: string, value: unknown): Uint8Array {
  if (!SEALED_NAMESPACES.has(ns)) return toJsonBytes(value);
  return toJsonBytes({ sealed: Buffer.from(cipher.encrypt(key, toJsonBytes(value))).toString('base64') });
}

/** Reads both shapes in a sealed namespace (plain: written before sealing, until the start migration). */
export function decodeKvValue<T>(cipher: BlobCipher, ns: string, key: string, bytes: Uint8Array): T {
  const v = fromJsonBytes<unknown>(bytes);
  if (!SEALED_NAMESPACES.has(ns) || !isSealedValue(v)) return v as T;
  return fromJsonBytes<T>(cipher.decrypt(key, Buffer.from(v.sealed, 'base64')));
}

export function kvNeedsSealing(ns: string, bytes: Uint8Array): boolean {
  return SEALED_NAMESPACES.has(ns) && !isSealedValue(fromJsonBytes<unknown>(bytes));
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
