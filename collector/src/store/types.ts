// The collector's storage interfaces. One `Store` is opened once per process on one level DB
// (or in memory for unit tests); every domain store below is a view on it. Writes that must be
// atomic together (an event batch, its stream state, the alerts it opens, the device's live
// status) go through `Store.commit`, which is the group-commit point: one synced level batch.
//
// Everything here is plain JSON-able data except blob bytes. Ids that reach keys are checked
// against SAFE_ID (router.ts) before they get here; the store re-checks and throws
// CUST_ERR_INVALID_INPUT for anything path-like.
import type { Policy, PolicyPatch } from '@custodian/policy';
import type { BlobCipher } from './blob-crypto.ts';

// ---------------------------------------------------------------- low level

/** One write in an atomic batch. Keys are UTF-8 strings, values bytes (see kv-keys.ts). */
export type KvOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

export interface KvRange {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

/** The ordered key-value engine both implementations provide (level on disk, a sorted map in memory). */
export interface KvEngine {
  get(key: string): Promise<Uint8Array | undefined>;
  getMany(keys: string[]): Promise<(Uint8Array | undefined)[]>;
  /** Atomic. `sync: true` returns only after the write is on disk (fsync of the log). */
  batch(ops: KvOp[], options: { sync: boolean }): Promise<void>;
  entries(range: KvRange): AsyncIterable<[string, Uint8Array]>;
  /**
   * Rewrites the on-disk files holding [gte, lt) so deleted and overwritten values are gone from
   * disk, not only from view (erasure, the sealing migration). Optional: an engine with nothing
   * on disk has nothing to do.
   */
  compact?(gte: string, lt: string): Promise<void>;
  close(): Promise<void>;
  /** Whether writes currently work (engines that can wedge, like LevelDB after a full disk). */
  health?(): StorageHealth;
  /**
   * True when other processes write the same data at the same time (PostgreSQL with
   * `sharedWriters`): in-process caches of stored records must not be trusted, and the two
   * methods below are real cross-process locks. Absent/false: this process is the only writer.
   */
  readonly shared?: boolean;
  /**
   * Runs a read-modify-write of `keys` (or of any record: 'all') so that no other process runs
   * one on the same records at the same time; `fn`'s writes are committed before the next one
   * starts. Optional: a single-process engine (level, memory) relies on the store's in-process
   * lock (`store.withLock`), which is taken around this call anyway.
   */
  lock?<T>(keys: readonly string[] | 'all', fn: () => Promise<T>): Promise<T>;
  /**
   * Runs the single-runner job `job` unless another process runs it right now (then
   * `{ ran: false }` at once). Optional: a single-process engine always runs it.
   */
  runExclusive?<T>(job: string, fn: () => Promise<T>): Promise<JobResult<T>>;
  /**
   * After retention deleted what was due: returns to the disk whole units of storage wholly older
   * than `before` that are now empty (PostgreSQL: the timeline's month partitions, dropped).
   * Returns what it dropped. Optional: level and memory reclaim by compaction / not at all.
   */
  reclaim?(before: number): Promise<string[]>;
}

/** The outcome of `runExclusive`: ran here, or skipped because another process runs the job. */
export type JobResult<T> = { ran: true; value: T } | { ran: false };

/** `ok: false` while the engine's writes fail with an I/O error it is trying to recover from. */
export type StorageHealth = { ok: true } | { ok: false; since: number; error: string };

// ---------------------------------------------------------------- devices and enrolment

export type DeviceKind = 'school' | 'byod';

export interface ByodAcceptance {
  userName: string;
  agreementVersion: string;
  /** SHA-256 (hex) of the exact agreement text the user accepted. */
  agreementSha256: string;
  acceptedAt: number;
  /** SHA-256 (hex) of the one-time code used (never the code itself). */
  codeHash: string;
}

export interface Device {
  id: string;
  kind: DeviceKind;
  machineId: string;
  hostname: string;
  os: string;
  serial: string;
  /** SHA-256 (hex) of the 256-bit device key; the key itself is never stored. */
  keyHash: string;
  enrolledAt: number;
  byod?: ByodAcceptance;
  revokedAt?: number;
  revokedReason?: string;
  revokedBy?: string;
  /** Set when this device was revoked because the same machine id enrolled again. */
  replacedBy?: string;
  /** Device id this enrolment replaced (same machine id). */
  replaces?: string;
  /**
   * Why we think this identity is on more than one machine (cloned disk image): the same
   * machine id re-enrolled with another serial/hostname, or two sessions with different
   * stream ids alternating, or a revoked key still connecting. Shown to IT, never automatic revocation.
   */
  cloneSuspicion?: { at: number; reason: string }[];
  /** Attempts to connect with this device's key after it was revoked. */
  revokedConnectAttempts?: { count: number; lastAt: number; lastAddress: string };
  /**
   * How this identity came to replace `replaces`: the old key was shown (`proof`), an admin or
   * IT approved a queued request (`approval`), or the old school identity had not been seen for
   * `enrol.liveDays` (`stale`).
   */
  replacement?: {
    how: 'proof' | 'approval' | 'stale';
    requestId?: string;
    approvedBy?: string;
    reason?: string;
  };
  /** Retired from the console: revoked, and its data left to retention (see enrol/README.md). */
  retiredAt?: number;
  retiredBy?: string;
  retiredReason?: string;
  /** When retention removed a retired device's data (the record stays: the audit log names it). */
  purgedAt?: number;
  /** The school it belongs to (tenancy/model.ts); absent: DEFAULT_SCHOOL_ID. */
  schoolId?: string;
  /** The device group within its school, if any (policy layer between school and device). */
  groupId?: string;
  /**
   * SHA-256 (hex) of the enrolment attempt id the agent sent (it keeps it on disk until it has
   * saved the answer): the same attempt, retried after a crash of either side, gets this device
   * again with a fresh key instead of a second device (enrol/service.ts, resumeAttempt).
   */
  enrolAttemptHash?: string;
}

export interface DeviceStore {
  get(id: string): Promise<Device | undefined>;
  list(): Promise<Device[]>;
  /** Current (newest, maybe revoked) device enrolled with this machine id. */
  byMachineId(machineId: string): Promise<Device | undefined>;
  put(device: Device): Promise<void>;
  /** Read-modify-write under the store's write lock. Throws CUST_ERR_NOT_FOUND. */
  update(id: string, change: (d: Device) => Device): Promise<Device>;
}

export interface EnrolCode {
  /** SHA-256 (hex) of the code; the code is shown once at creation. */
  codeHash: string;
  /** A short public label for lists (first 4 characters of the code). */
  hint: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  note: string;
  usedAt?: number;
  usedByDevice?: string;
  /** The school a device enrolled with this code joins (tenancy); absent: DEFAULT_SCHOOL_ID. */
  schoolId?: string;
}

/**
 * A re-enrolment of a machine id whose device is still live, waiting for an admin or IT to
 * approve or deny it. The requester already holds the would-be device key (only its hash is
 * here); the device `newDeviceId` exists only once approved.
 */
export interface ReplacementRequest {
  id: string;
  state: 'pending' | 'approved' | 'denied';
  kind: DeviceKind;
  /** What the requester reported (device text: attacker-controlled). */
  facts: { machineId: string; hostname: string; os: string; serial: string };
  byod?: ByodAcceptance;
  /** Hint of the BYOD code used (first 4 characters), or 'enrol-secret'. */
  credential: string;
  /** The live device holding the machine id when the request was made. */
  replaces: string;
  replacesHostname: string;
  /** Why it was queued and not done at once (live identity, connected now, serial differs...). */
  reasons: string[];
  newDeviceId: string;
  /** SHA-256 (hex) of the key the requester holds; becomes the device's keyHash on approval. */
  keyHash: string;
  requestedAt: number;
  ip: string;
  /** SHA-256 (hex) of the requester's enrolment attempt id (Device.enrolAttemptHash once approved). */
  attemptHash?: string;
  decidedAt?: number;
  decidedBy?: string;
  decisionReason?: string;
  /** The school the credential enrols into (tenancy); absent: DEFAULT_SCHOOL_ID. */
  schoolId?: string;
}

export interface EnrolStore {
  /** SHA-256 (hex) of the organisation enrol secret, or undefined before first start. */
  getSecretHash(): Promise<string | undefined>;
  setSecretHash(hash: string): Promise<void>;
  /** SHA-256 (hex) of the admin API token. */
  getAdminTokenHash(): Promise<string | undefined>;
  setAdminTokenHash(hash: string): Promise<void>;
  putCode(code: EnrolCode): Promise<void>;
  getCode(codeHash: string): Promise<EnrolCode | undefined>;
  listCodes(): Promise<EnrolCode[]>;
  getReplacement(id: string): Promise<ReplacementRequest | undefined>;
  /** Oldest first; `state` filters. */
  listReplacements(q?: { state?: ReplacementRequest['state'] }): Promise<ReplacementRequest[]>;
}

// ---------------------------------------------------------------- timeline and streams

/** One event as stored: the validated protobuf Event bytes plus what the collector knows. */
export interface TimelineRecord {
  deviceId: string;
  streamId: string;
  seq: number;
  /** Event time used for ordering: the agent clock, or receivedAt when the agent clock is implausible. */
  time: number;
  /** Agent clock as sent. */
  agentTimeMs: number;
  receivedAt: number;
  /** Payload kind (EVENT_KINDS) or 'unknown' for a kind this collector does not know. */
  kind: string;
  /** custodian.v1.Event, encoded (after string truncation). */
  event: Uint8Array;
  /** Field paths whose strings were longer than MAX_STRING_CHARS and were truncated. */
  truncated?: string[];
  /** Field paths whose strings were not valid UTF-8 and were repaired (U+FFFD). */
  invalidText?: string[];
  /** Alert opened by this event (flaggedActivity). */
  alertId?: string;
  /**
   * Dotted paths of device text in the event (`activeWindow.title`) that matched the safeguarding
   * library at ingest, for the device's age band at any severity: shown to the DSL only. `[]` =
   * screened, nothing matched; absent = stored before screening (screened when read).
   */
  sensitive?: string[];
  /** Why `time` is the receive time and not the agent's clock (the agent's is in agentTimeMs). */
  timeReason?: string;
}

/** Anomalies of a stream (gapped or out-of-order seq) are recorded, never silently accepted. */
export interface StreamState {
  deviceId: string;
  streamId: string;
  /** Highest seq held durably (what Welcome/Ack report). */
  maxSeq: number;
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
  gaps: { afterSeq: number; nextSeq: number; at: number }[];
  outOfOrder: number;
  duplicates: number;
}

export interface TimelineQuery {
  deviceId: string;
  /** Inclusive lower bound on `time` (ms). */
  from?: number;
  /** Exclusive upper bound on `time` (ms). */
  to?: number;
  kinds?: string[];
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface TimelinePage {
  records: TimelineRecord[];
  /** Present when there may be more (older) records. */
  nextCursor?: string;
}

export interface TimelineStore {
  /** Newest first. */
  query(q: TimelineQuery): Promise<TimelinePage>;
  /** Is (device, stream, seq) held? */
  has(deviceId: string, streamId: string, seq: number): Promise<boolean>;
  /**
   * Highest seq of the stream that retention deleted (0 if none): the stream's high-water mark
   * that outlives the events, so a replay of a purged (stream, seq) is still known.
   */
  purgedThrough(deviceId: string, streamId: string): Promise<number>;
  /** Was (device, stream, seq) ever held: stored now, or at or below the purge high-water mark? */
  heldBefore(deviceId: string, streamId: string, seq: number): Promise<boolean>;
  get(deviceId: string, streamId: string, seq: number): Promise<TimelineRecord | undefined>;
  getStream(deviceId: string, streamId: string): Promise<StreamState | undefined>;
  listStreams(deviceId: string): Promise<StreamState[]>;
}

// ---------------------------------------------------------------- blobs (screenshots)

export interface BlobMeta {
  deviceId: string;
  blobId: string;
  contentType: string;
  size: number;
  /** SHA-256 (hex) of the plaintext, as verified on upload. */
  sha256: string;
  chunks: number;
  storedAt: number;
}

export interface BlobStore {
  meta(deviceId: string, blobId: string): Promise<BlobMeta | undefined>;
  /**
   * Decrypts and returns the blob. With `readChunks`, the only way to read screenshot bytes;
   * callers (the safeguarding routes) must write an audit record for every view.
   */
  read(deviceId: string, blobId: string): Promise<{ meta: BlobMeta; data: Uint8Array } | undefined>;
  /**
   * The decrypted chunks one at a time, for sending a large blob without holding it (evidence
   * export). Each chunk is authenticated (AES-GCM); the caller checks the SHA-256 of the whole
   * against `meta.sha256` and audits the view, as for `read()`.
   */
  readChunks(
    deviceId: string,
    blobId: string,
  ): Promise<{ meta: BlobMeta; chunks: AsyncIterable<Uint8Array> } | undefined>;
  /** Stores a whole blob (encrypted) outside ingest, e.g. tests and imports. */
  put(deviceId: string, blobId: string, contentType: string, data: Uint8Array): Promise<BlobMeta>;
  delete(deviceId: string, blobId: string): Promise<boolean>;
  /** The encrypted write of one uploaded chunk (ingest writes it; the meta write completes the blob). */
  sealChunk(deviceId: string, blobId: string, index: number, data: Uint8Array): KvOp;
}

// ---------------------------------------------------------------- alerts

export type AlertStatus = 'new' | 'graded' | 'false-positive' | 'escalated';

export interface AlertNote {
  at: number;
  author: string;
  text: string;
}

export interface AlertHistoryEntry {
  at: number;
  actor: string;
  action: string;
  from?: unknown;
  to?: unknown;
}

export interface Alert {
  id: string;
  deviceId: string;
  /** The flaggedActivity event that opened it. */
  event: { streamId: string; seq: number };
  category: string;
  /** Severity the agent's matcher gave (1..5). */
  severity: number;
  term: string;
  context: string;
  windowTitle: string;
  windowUrl: string;
  windowApp: string;
  source: string;
  educationalContext: boolean;
  repeatCount: number;
  screenshotBlobIds: string[];
  screenshotUnavailableReason: string;
  /** Set by retention when the screenshots were deleted; the alert itself stays. */
  screenshotsExpired?: { at: number; note: string };
  status: AlertStatus;
  /** The DSL's grade (1..5), when graded. */
  grade?: number;
  incidentId?: string;
  notes: AlertNote[];
  history: AlertHistoryEntry[];
  /** Event time (agent clock, or receive time when implausible). */
  occurredAt: number;
  createdAt: number;
  updatedAt: number;
  /** The device's school when the alert was opened (tenancy); absent: made before tenancy, DEFAULT_SCHOOL_ID. */
  schoolId?: string;
}

export interface AlertQuery {
  status?: AlertStatus[];
  deviceId?: string;
  category?: string[];
  minSeverity?: number;
  /** createdAt range, ms. */
  since?: number;
  until?: number;
  limit?: number;
}

export interface AlertStore {
  get(id: string): Promise<Alert | undefined>;
  /** Newest first by createdAt, filtered. Sorting by severity is the caller's choice. */
  list(q?: AlertQuery): Promise<Alert[]>;
  /**
   * Read-modify-write under the store's write lock; bumps updatedAt. Throws CUST_ERR_NOT_FOUND.
   * With `audit`, the audit record is written in the SAME atomic batch as the alert: a DSL
   * decision is never stored without its record, nor the record without the decision.
   */
  update(id: string, change: (a: Alert) => Alert, audit?: AuditInput): Promise<Alert>;
}

/** An audit record before the store gives it an id and a time. */
export type AuditInput = Omit<AuditRecord, 'id' | 'at'> & { at?: number };

// ---------------------------------------------------------------- audit

export interface AuditRecord {
  id: string;
  at: number;
  /** Username, 'admin-token', 'system', or `device:<id>`. */
  actor: string;
  action: string;
  /** What it was done to, e.g. `alert:<id>`, `device:<id>`, `policy:default`. */
  target: string;
  details?: Record<string, unknown>;
  ip?: string;
}

export interface AuditQuery {
  since?: number;
  until?: number;
  action?: string;
  actor?: string;
  target?: string;
  limit?: number;
  cursor?: string;
}

/** Append-only: there is no update or delete. */
export interface AuditStore {
  append(record: Omit<AuditRecord, 'id' | 'at'> & { at?: number }): Promise<AuditRecord>;
  /** Newest first. */
  list(q?: AuditQuery): Promise<{ records: AuditRecord[]; nextCursor?: string }>;
}

// ---------------------------------------------------------------- policy

export interface PolicyChange {
  id: string;
  at: number;
  actor: string;
  /** 'default', `school:<id>`, `group:<id>` or a device id (a device id never holds a colon). */
  scope: string;
  /** Whole default policy, or the device's override patch (null = none). */
  old: Policy | PolicyPatch | null;
  new: Policy | PolicyPatch | null;
  reason: string;
  version: number;
  /** A device moved between groups (its chain of layers changed; old/new are its override). */
  move?: { from: string | null; to: string | null };
}

/** A policy layer between the trust default and a device override (tenancy/README.md). */
export type PolicyLayerKind = 'school' | 'group';
export interface PolicyLayerRef {
  kind: PolicyLayerKind;
  id: string;
}
/** A stored layer; a removed layer keeps an empty patch with the version of its removal. */
export interface PolicyLayer {
  patch: PolicyPatch;
  version: number;
}

export interface PolicyStore {
  /** The stored default policy, or undefined before first start. */
  getDefault(): Promise<Policy | undefined>;
  getOverride(deviceId: string): Promise<{ patch: PolicyPatch; version: number } | undefined>;
  listOverrides(): Promise<{ deviceId: string; patch: PolicyPatch; version: number }[]>;
  /**
   * Allocates the next policy version (global, monotonic) and writes the change atomically. Given
   * a function, it is called with the stored default under the policy lock (across processes on
   * a shared engine), so a change built on the current default cannot lose a concurrent one; a
   * function that returns undefined writes nothing and the stored default is returned.
   */
  setDefault(policy: Policy, change: { actor: string; reason: string }): Promise<Policy>;
  setDefault(
    policy: (current: Policy | undefined) => Policy | undefined | Promise<Policy | undefined>,
    change: { actor: string; reason: string },
  ): Promise<Policy | undefined>;
  setOverride(
    deviceId: string,
    patch: PolicyPatch | null,
    change: { actor: string; reason: string },
  ): Promise<number>;
  getLayer(layer: PolicyLayerRef): Promise<PolicyLayer | undefined>;
  listLayers(kind: PolicyLayerKind): Promise<(PolicyLayer & { id: string })[]>;
  /**
   * Sets (null: empties) a school or group layer: next version, the change record (scope
   * `school:<id>` / `group:<id>`) and `audit` in one atomic batch. Returns the version.
   */
  setLayer(
    layer: PolicyLayerRef,
    patch: PolicyPatch | null,
    change: { actor: string; reason: string },
    audit?: AuditInput,
  ): Promise<number>;
  /** Deletes a layer record (a deleted group's, once it is empty and has no devices). */
  deleteLayer(layer: PolicyLayerRef): Promise<void>;
  /**
   * Moves a device into a group (null: out of any): the device record, a new version for the
   * device (so its effective version rises whatever the new chain's versions), the change record
   * and `audit` in one atomic batch. Throws CUST_ERR_NOT_FOUND for an unknown device.
   */
  moveDevice(
    deviceId: string,
    groupId: string | null,
    change: { actor: string; reason: string },
    audit?: AuditInput,
  ): Promise<{ device: Device; version: number }>;
  /** The version the device's last move gave it (0: never moved). */
  moveVersion(deviceId: string): Promise<number>;
  /** Newest first. */
  changes(q?: { scope?: string; limit?: number; cursor?: string }): Promise<{
    records: PolicyChange[];
    nextCursor?: string;
  }>;
}

// ---------------------------------------------------------------- live status snapshot

export interface DeviceLiveStatus {
  deviceId: string;
  connected: boolean;
  connectedAt?: number;
  lastSeenAt?: number;
  remoteAddress?: string;
  agentVersion?: string;
  os?: string;
  streamId?: string;
  policyVersionApplied?: number;
  policyVersionSent?: number;
  lastHeartbeat?: Record<string, unknown> & { at: number };
  currentWindow?: { app: string; title: string; url: string; at: number };
  idle?: { state: string; idleMs: number; at: number };
  locked?: boolean;
  /** The last failed lock attempt, until a lock succeeds: a device that cannot lock is a compliance problem. */
  lastLockFailure?: { at: number; method: string; reason: string; attempt: number };
  usbVolumes: Record<string, unknown>[];
  /** USB write blocks that failed since the last one that landed (usbEnforcementFailed / usbWriteBlocked). */
  usbEnforcementFailure?: { at: number; method: string; count: number };
  /**
   * How the last session ended: its WebSocket close code (1000/1001 the agent closed; 1006 gone
   * without a close frame: process killed or machine cut off; 4007 the collector's idle timeout).
   */
  lastDisconnect?: { at: number; code: number };
  /** The agent's `agentStopping` (clean stop), until its next `agentStarted`. */
  lastStop?: { at: number; reason: string };
  /**
   * The installer's `agentUninstalled` (issue 17: dpkg prerm, the MSI's uninstall, uninstall-service.cmd),
   * until a later `agentStarted` (reinstalled). `method` and `user` are device text.
   */
  uninstalled?: { at: number; method: string; user: string };
  capabilities?: { name: string; available: boolean; reason: string }[];
  hostname?: string;
  loggedInUser?: string;
  inventory?: Record<string, unknown>;
  /**
   * BYOD monitoring scope (issue 19) from the last heartbeat or scopeChanged event: outside scope
   * the device sends heartbeats only. Absent: an agent from before scopes (monitored always).
   */
  scope?: { applies: boolean; inScope: boolean; reason: string; rule: string; mode: string; at: number };
  /** The last policy the agent refused (it keeps the previous one), until it applies one. */
  policyRejected?: { version: number; error: string; at: number };
  /** The last commands sent from the console/API, newest last, with the agent's result once reported. */
  commands?: DeviceCommandRecord[];
  /**
   * Dotted paths of this status's device text that match the safeguarding library (computed by
   * StatusTracker whenever the status changes; not persisted): shown to the DSL only.
   */
  sensitive?: string[];
}

export interface DeviceCommandRecord {
  id: string;
  kind: 'LOCK_NOW' | 'RESCAN_USB' | 'REFRESH_INVENTORY';
  requestedBy: string;
  requestedAt: number;
  reason?: string;
  result?: { ok: boolean; error: string; at: number };
}

// ---------------------------------------------------------------- retention

export interface PurgeRun {
  id: string;
  at: number;
  /** `incompleteUploads`: uploads started before this and never completed lose their chunks. */
  cutoffs: {
    timeline: number;
    screenshots: number;
    incompleteUploads: number;
    /** Since issue 19 (absent in older records). */
    incidents?: number;
    audit?: number;
    notifications?: number;
    purgeRecords?: number;
  };
  timelineEventsDeleted: number;
  blobsDeleted: number;
  blobBytesDeleted: number;
  /** Uploads a crash left incomplete (marker + chunks, no meta), and how many chunks they held. */
  incompleteUploadsDeleted: number;
  incompleteChunksDeleted: number;
  /** Alerts whose screenshots expired in this run. */
  alertsMarked: string[];
  /** Per device: how many events were deleted. */
  perDevice: Record<string, number>;
  /** Devices retired for longer than retention.retiredDays whose data this run removed. */
  retiredDevicesPurged?: string[];
  /** Per retired device purged in this run: what was removed and what was kept. */
  retiredPurges?: RetiredPurge[];
  /** Alerts deleted past their outcome's period, by status (issue 19). */
  alertsDeleted: Partial<Record<AlertStatus, number>>;
  /** Closed incidents deleted past retention.incidentDays. */
  incidentsDeleted: number;
  auditRecordsDeleted: number;
  notificationsDeleted: number;
  purgeRecordsDeleted: number;
  /** Storage units dropped whole after the deletes (PostgreSQL timeline months; absent on level). */
  partitionsDropped?: string[];
  /** What was due but kept under the safeguarding hold (linked to an open or monitored incident). */
  held: { alerts: number; incidents: number; timelineEvents: number; screenshots: number };
}

/** The record of one retired device's purge (retention/retired.ts). */
export interface RetiredPurge {
  deviceId: string;
  retiredAt: number;
  retiredBy?: string;
  timelineEvents: number;
  /** Dedup pointers of its events ((stream, seq) → stored event). */
  eventRefs: number;
  streams: number;
  /** Screenshots no alert referred to, removed, and their bytes. */
  screenshots: number;
  screenshotBytes: number;
  statusSnapshot: boolean;
  policyOverride: boolean;
  /** Kept: the device's alerts and the screenshots they refer to (the DSL's evidence). */
  alertsKept: number;
  screenshotsKept: number;
}

// ---------------------------------------------------------------- generic namespaced KV

/**
 * A small JSON key-value namespace for other modules (staff users, sessions, incidents). Keys
 * are SAFE_ID-like strings; values JSON. `list` is in key order. Namespaces are isolated.
 */
export interface KvNamespace<T = unknown> {
  get(key: string): Promise<T | undefined>;
  put(key: string, value: T): Promise<void>;
  del(key: string): Promise<void>;
  list(options?: {
    prefix?: string;
    limit?: number;
    reverse?: boolean;
  }): Promise<{ key: string; value: T }[]>;
  /**
   * Read-modify-write under the store's write lock. `change` returns undefined to delete. With
   * `audit`, the audit record is written in the SAME atomic batch (a decision and its record
   * together, as AlertStore.update); a `change` that throws writes neither.
   */
  update(
    key: string,
    change: (current: T | undefined) => T | undefined,
    audit?: AuditInput,
  ): Promise<T | undefined>;
}

// ---------------------------------------------------------------- the one store

export interface Store {
  readonly devices: DeviceStore;
  readonly enrol: EnrolStore;
  readonly timeline: TimelineStore;
  readonly blobs: BlobStore;
  readonly alerts: AlertStore;
  readonly audit: AuditStore;
  readonly policy: PolicyStore;
  /** Live status snapshots (persisted with each ingest commit, read at start). */
  readonly status: {
    get(deviceId: string): Promise<DeviceLiveStatus | undefined>;
    list(): Promise<DeviceLiveStatus[]>;
  };
  readonly purges: {
    append(run: PurgeRun): Promise<void>;
    list(limit?: number): Promise<PurgeRun[]>;
  };
  /** A JSON namespace (e.g. 'users', 'sessions', 'incidents'). Same object for the same name. */
  kv<T = unknown>(namespace: string): KvNamespace<T>;
  /**
   * The one at-rest key (AES-256-GCM, the screenshot key): seals screenshot chunks, alert text,
   * timeline events holding safeguarding text and the current window of status snapshots. Op
   * builders in records.ts take it; only the store's views decrypt.
   */
  readonly cipher: BlobCipher;
  /**
   * The underlying engine, for ingest's group commit and retention. Writes through it must
   * use the key builders in keys.ts.
   */
  readonly engine: KvEngine;
  /**
   * Runs `fn` under the store's single write lock (read-modify-write of any record): in-process,
   * and across processes when the engine is shared (`engine.lock('all')`). Not re-entrant: inside
   * `fn`, do not call the `update()` methods (they take the lock too).
   */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs a single-runner job (retention, the notification pass, the health monitor, sweeps) unless
   * another collector process on the same database runs it now (`{ ran: false }`). Single process:
   * always runs.
   */
  runExclusive<T>(job: string, fn: () => Promise<T>): Promise<JobResult<T>>;
  close(): Promise<void>;
}
