// Key layout of the collector DB (see README.md beside this file). Every key is
// `<prefix>!<part>!<part>...`; parts are SAFE_ID strings or zero-padded numbers, so string order
// is the order we want and no part can contain the separator.
import { CustodianError, ErrorCode } from '@custodian/protocol';

export const SEP = '!';
/** Upper bound for prefix ranges: greater than every character a key part may contain. */
export const HIGH = '\xff';

/** Ids stored in keys: no separators, no dots (no `../`), bounded. Same rule as router SAFE_ID. */
const KEY_PART = /^[A-Za-z0-9_-]{1,128}$/;

export function keyPart(what: string, value: string): string {
  if (!KEY_PART.test(value)) {
    throw new CustodianError(ErrorCode.INVALID_INPUT, `${what} is not a valid id`, {
      details: { field: what },
    });
  }
  return value;
}

export function pad(n: number, width: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new CustodianError(ErrorCode.INVALID_INPUT, `bad number ${n}`);
  return n.toString().padStart(width, '0');
}

const TIME_W = 15;
const SEQ_W = 16;

export const padTime = (t: number) => pad(t, TIME_W);
export const padSeq = (s: number) => pad(s, SEQ_W);

export const K = {
  // devices and enrolment
  device: (id: string) => `dv${SEP}${keyPart('deviceId', id)}`,
  devicePrefix: () => `dv${SEP}`,
  /** machine id -> current device id. Machine ids are hashed: they are free text from the device. */
  machine: (machineIdHash: string) => `dm${SEP}${machineIdHash}`,
  enrolSecret: () => 'cfg!enrol-secret',
  adminToken: () => 'cfg!admin-token',
  enrolCode: (codeHash: string) => `ec${SEP}${keyPart('codeHash', codeHash)}`,
  enrolCodePrefix: () => `ec${SEP}`,
  /** Replacement requests, by time then id: listed oldest first. */
  replacement: (requestedAt: number, id: string) =>
    `er${SEP}${padTime(requestedAt)}${SEP}${keyPart('requestId', id)}`,
  replacementPrefix: () => `er${SEP}`,
  /** request id -> its `er` key. */
  replacementRef: (id: string) => `ei${SEP}${keyPart('requestId', id)}`,

  // timeline: record under the time index, pointer under the dedup key
  timeline: (deviceId: string, time: number, streamId: string, seq: number) =>
    `tl${SEP}${keyPart('deviceId', deviceId)}${SEP}${padTime(time)}${SEP}${keyPart('streamId', streamId)}${SEP}${padSeq(seq)}`,
  timelinePrefix: (deviceId: string) => `tl${SEP}${keyPart('deviceId', deviceId)}${SEP}`,
  timelineAt: (deviceId: string, time: number) =>
    `tl${SEP}${keyPart('deviceId', deviceId)}${SEP}${padTime(time)}`,
  eventRef: (deviceId: string, streamId: string, seq: number) =>
    `ev${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('streamId', streamId)}${SEP}${padSeq(seq)}`,
  eventRefPrefix: (deviceId: string) => `ev${SEP}${keyPart('deviceId', deviceId)}${SEP}`,
  stream: (deviceId: string, streamId: string) =>
    `st${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('streamId', streamId)}`,
  streamPrefix: (deviceId: string) => `st${SEP}${keyPart('deviceId', deviceId)}${SEP}`,
  /** Highest seq of the stream retention has deleted: a replay at or below it is a duplicate. */
  streamFloor: (deviceId: string, streamId: string) =>
    `sf${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('streamId', streamId)}`,

  // blobs: meta, encrypted chunks, time index for retention
  blobMeta: (deviceId: string, blobId: string) =>
    `bm${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('blobId', blobId)}`,
  blobChunk: (deviceId: string, blobId: string, index: number) =>
    `bc${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('blobId', blobId)}${SEP}${pad(index, 6)}`,
  blobChunkPrefix: (deviceId: string, blobId: string) =>
    `bc${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('blobId', blobId)}${SEP}`,
  blobTime: (storedAt: number, deviceId: string, blobId: string) =>
    `bt${SEP}${padTime(storedAt)}${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('blobId', blobId)}`,
  /** Every blob meta of one device (a retired device's purge). */
  blobMetaPrefix: (deviceId: string) => `bm${SEP}${keyPart('deviceId', deviceId)}${SEP}`,
  blobTimePrefix: () => `bt${SEP}`,
  /** An upload in progress (chunk 0 written, meta not yet): lets retention find chunks a crash left behind. */
  blobUpload: (deviceId: string, blobId: string) =>
    `bu${SEP}${keyPart('deviceId', deviceId)}${SEP}${keyPart('blobId', blobId)}`,
  blobUploadPrefix: () => `bu${SEP}`,

  // alerts: record + createdAt index
  alert: (id: string) => `al${SEP}${keyPart('alertId', id)}`,
  alertTime: (createdAt: number, id: string) =>
    `at${SEP}${padTime(createdAt)}${SEP}${keyPart('alertId', id)}`,
  alertTimePrefix: () => `at${SEP}`,

  // audit (append-only), policy, live status, purge runs, generic namespaces
  audit: (at: number, id: string) => `au${SEP}${padTime(at)}${SEP}${keyPart('auditId', id)}`,
  auditPrefix: () => `au${SEP}`,
  policyDefault: () => 'pd!default',
  policyVersion: () => 'cfg!policy-version',
  policyOverride: (deviceId: string) => `po${SEP}${keyPart('deviceId', deviceId)}`,
  policyOverridePrefix: () => `po${SEP}`,
  policyChange: (at: number, id: string) => `pc${SEP}${padTime(at)}${SEP}${keyPart('changeId', id)}`,
  policyChangePrefix: () => `pc${SEP}`,
  /** A school's or a group's policy patch (tenancy: trust default -> school -> group -> device). */
  policyLayer: (kind: 'school' | 'group', id: string) => `pl${SEP}${kind}${SEP}${keyPart('layerId', id)}`,
  policyLayerPrefix: (kind: 'school' | 'group') => `pl${SEP}${kind}${SEP}`,
  /** The policy version given to a device when it moved between groups (its chain changed). */
  policyMove: (deviceId: string) => `pm${SEP}${keyPart('deviceId', deviceId)}`,
  status: (deviceId: string) => `ls${SEP}${keyPart('deviceId', deviceId)}`,
  statusPrefix: () => `ls${SEP}`,
  purge: (at: number, id: string) => `pg${SEP}${padTime(at)}${SEP}${keyPart('purgeId', id)}`,
  purgePrefix: () => `pg${SEP}`,
  kv: (ns: string, key: string) => `kv${SEP}${keyPart('namespace', ns)}${SEP}${keyPart('key', key)}`,
  kvPrefix: (ns: string) => `kv${SEP}${keyPart('namespace', ns)}${SEP}`,
  meta: () => 'cfg!schema',
  /** A user (SHA-256 of the lower-cased name) was reported signed in on a device (subject access index). */
  userSeen: (userHash: string, deviceId: string) =>
    `us${SEP}${userHash}${SEP}${keyPart('deviceId', deviceId)}`,
  userSeenPrefix: (userHash: string) => `us${SEP}${userHash}${SEP}`,
};

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function toJsonBytes(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

export function fromJsonBytes<T>(bytes: Uint8Array): T {
  return JSON.parse(dec.decode(bytes)) as T;
}
