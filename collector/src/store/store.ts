// The one Store: every domain view implemented once over a KvEngine (level or memory).
import { defaultPolicy, type Policy, type PolicyPatch } from '@custodian/policy';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { BlobCipher } from './blob-crypto.ts';
import { fromJsonBytes, HIGH, K, keyPart, SEP, toJsonBytes } from './keys.ts';
import {
  alertOps,
  blobChunkOp,
  blobMetaOps,
  decodeAlert,
  decodeCursor,
  decodeKvValue,
  decodeStatus,
  decodeTimelineRecord,
  encodeCursor,
  encodeKvValue,
  randomId,
  sha256Hex,
} from './records.ts';
import type {
  Alert,
  AlertQuery,
  AlertStore,
  AuditInput,
  AuditRecord,
  AuditStore,
  BlobMeta,
  BlobStore,
  Device,
  DeviceLiveStatus,
  DeviceStore,
  EnrolCode,
  EnrolStore,
  JobResult,
  KvEngine,
  KvNamespace,
  KvOp,
  PolicyChange,
  PolicyLayer,
  PolicyLayerKind,
  PolicyLayerRef,
  PolicyStore,
  PurgeRun,
  ReplacementRequest,
  Store,
  StreamState,
  TimelinePage,
  TimelineQuery,
  TimelineRecord,
  TimelineStore,
} from './types.ts';

/** Largest number of index entries one timeline page may scan when filtering by kind. */
const MAX_SCAN = 20_000;

export interface OpenStoreOptions {
  engine: KvEngine;
  cipher: BlobCipher;
  /** Injectable clock for tests. */
  now?: () => number;
}

export function openStore(options: OpenStoreOptions): Store {
  return new StoreImpl(options);
}

/** Runs functions one at a time, in call order (a failed one does not stop the next). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

class StoreImpl implements Store {
  readonly engine: KvEngine;
  readonly cipher: BlobCipher;
  readonly now: () => number;
  private readonly mutex = new Mutex();
  private readonly namespaces = new Map<string, KvNamespace<unknown>>();

  readonly devices: DeviceStore;
  readonly enrol: EnrolStore;
  readonly timeline: TimelineStore;
  readonly blobs: BlobStore;
  readonly alerts: AlertStore;
  readonly audit: AuditStore;
  readonly policy: PolicyStore;
  readonly status: Store['status'];
  readonly purges: Store['purges'];

  constructor(options: OpenStoreOptions) {
    this.engine = options.engine;
    this.cipher = options.cipher;
    this.now = options.now ?? Date.now;
    this.devices = new Devices(this);
    this.enrol = new Enrol(this);
    this.timeline = new Timeline(this);
    this.blobs = new Blobs(this);
    this.alerts = new Alerts(this);
    this.audit = new Audit(this);
    this.policy = new Policies(this);
    this.status = {
      get: async (id) => {
        const v = await this.engine.get(K.status(id));
        return v === undefined ? undefined : decodeStatus(this.cipher, v);
      },
      list: async () => {
        const out: DeviceLiveStatus[] = [];
        const prefix = K.statusPrefix();
        for await (const [, v] of this.engine.entries({ gte: prefix, lt: prefix + HIGH }))
          out.push(decodeStatus(this.cipher, v));
        return out;
      },
    };
    this.purges = {
      append: (run: PurgeRun) =>
        this.write([{ type: 'put', key: K.purge(run.at, run.id), value: toJsonBytes(run) }]),
      list: async (limit = 50) =>
        (await this.scanJson<PurgeRun>(K.purgePrefix(), { reverse: true, limit })).map(([, v]) => v),
    };
  }

  kv<T = unknown>(namespace: string): KvNamespace<T> {
    keyPart('namespace', namespace);
    let ns = this.namespaces.get(namespace);
    if (!ns) {
      ns = new Namespace(this, namespace);
      this.namespaces.set(namespace, ns);
    }
    return ns as KvNamespace<T>;
  }

  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.lockKeys('all', fn);
  }

  /**
   * A read-modify-write of `keys` ('all': any record): the in-process lock, and the engine's
   * cross-process lock when other processes write the same database (PostgreSQL sharedWriters).
   */
  lockKeys<T>(keys: readonly string[] | 'all', fn: () => Promise<T>): Promise<T> {
    const engine = this.engine;
    return this.mutex.run(() => (engine.lock ? engine.lock(keys, fn) : fn()));
  }

  async runExclusive<T>(job: string, fn: () => Promise<T>): Promise<JobResult<T>> {
    if (this.engine.runExclusive) return this.engine.runExclusive(job, fn);
    return { ran: true, value: await fn() };
  }

  async close(): Promise<void> {
    await this.mutex.run(() => this.engine.close());
  }

  // ---- helpers shared by the views

  /** Every write outside ingest is synced: these are rare, and each is a decision someone made. */
  async write(ops: KvOp[]): Promise<void> {
    return this.engine.batch(ops, { sync: true });
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const v = await this.engine.get(key);
    return v === undefined ? undefined : fromJsonBytes<T>(v);
  }

  async scanJson<T>(
    prefix: string,
    range: { reverse?: boolean; limit?: number } = {},
  ): Promise<[string, T][]> {
    const out: [string, T][] = [];
    for await (const [k, v] of this.engine.entries({
      gte: prefix,
      lt: prefix + HIGH,
      reverse: range.reverse ?? false,
      limit: range.limit ?? -1,
    })) {
      out.push([k, fromJsonBytes<T>(v)]);
    }
    return out;
  }
}

/** The one store each sub-store reads and writes through (its lock, engine and JSON helpers). */
class StorePart {
  protected readonly s: StoreImpl;
  constructor(s: StoreImpl) {
    this.s = s;
  }
}

class Devices extends StorePart implements DeviceStore {
  async get(id: string) {
    return this.s.getJson<Device>(K.device(id));
  }
  async list() {
    return (await this.s.scanJson<Device>(K.devicePrefix())).map(([, d]) => d);
  }
  async byMachineId(machineId: string) {
    const id = await this.s.getJson<string>(K.machine(sha256Hex(machineId)));
    return id === undefined ? undefined : this.get(id);
  }
  async put(device: Device) {
    return this.s.write(deviceOps(device));
  }
  async update(id: string, change: (d: Device) => Device) {
    return this.s.lockKeys([K.device(id)], async () => {
      const current = await this.get(id);
      if (!current) throw new CustodianError(ErrorCode.NOT_FOUND, `device ${id} not found`);
      const next = change(structuredClone(current));
      if (next.id !== id)
        throw new CustodianError(ErrorCode.INVALID_INPUT, 'a device update cannot change its id');
      await this.s.write(deviceOps(next, current));
      return next;
    });
  }
}

/** The device record plus its machine-id index (the newest enrolment owns the machine id). */
export function deviceOps(device: Device, previous?: Device): KvOp[] {
  const ops: KvOp[] = [{ type: 'put', key: K.device(device.id), value: toJsonBytes(device) }];
  if (!previous || previous.machineId !== device.machineId) {
    ops.push({ type: 'put', key: K.machine(sha256Hex(device.machineId)), value: toJsonBytes(device.id) });
  }
  return ops;
}

class Enrol extends StorePart implements EnrolStore {
  async getSecretHash() {
    return this.s.getJson<string>(K.enrolSecret());
  }
  async setSecretHash(hash: string) {
    return this.s.write([{ type: 'put', key: K.enrolSecret(), value: toJsonBytes(hash) }]);
  }
  async getAdminTokenHash() {
    return this.s.getJson<string>(K.adminToken());
  }
  async setAdminTokenHash(hash: string) {
    return this.s.write([{ type: 'put', key: K.adminToken(), value: toJsonBytes(hash) }]);
  }
  async putCode(code: EnrolCode) {
    return this.s.write([{ type: 'put', key: K.enrolCode(code.codeHash), value: toJsonBytes(code) }]);
  }
  async getCode(codeHash: string) {
    return this.s.getJson<EnrolCode>(K.enrolCode(codeHash));
  }
  async listCodes() {
    return (await this.s.scanJson<EnrolCode>(K.enrolCodePrefix()))
      .map(([, c]) => c)
      .sort((a, b) => b.createdAt - a.createdAt);
  }
  async getReplacement(id: string) {
    const key = await this.s.getJson<string>(K.replacementRef(id));
    return key === undefined ? undefined : this.s.getJson<ReplacementRequest>(key);
  }
  async listReplacements(q: { state?: ReplacementRequest['state'] } = {}) {
    return (await this.s.scanJson<ReplacementRequest>(K.replacementPrefix()))
      .map(([, r]) => r)
      .filter((r) => q.state === undefined || r.state === q.state);
  }
}

/** A replacement request and its id index, for a batch (written with the devices it changes). */
export function replacementOps(r: ReplacementRequest): KvOp[] {
  const key = K.replacement(r.requestedAt, r.id);
  return [
    { type: 'put', key, value: toJsonBytes(r) },
    { type: 'put', key: K.replacementRef(r.id), value: toJsonBytes(key) },
  ];
}

class Timeline extends StorePart implements TimelineStore {
  async query(q: TimelineQuery): Promise<TimelinePage> {
    const prefix = K.timelinePrefix(q.deviceId);
    const limit = Math.max(1, Math.min(q.limit, 1000));
    let lt = q.to === undefined ? prefix + HIGH : K.timelineAt(q.deviceId, Math.max(0, q.to));
    if (q.cursor !== undefined) {
      const after = decodeCursor(q.cursor, prefix);
      if (after < lt) lt = after;
    }
    const gte = q.from === undefined ? prefix : K.timelineAt(q.deviceId, Math.max(0, q.from));
    const kinds = q.kinds && q.kinds.length > 0 ? new Set(q.kinds) : undefined;
    const records: TimelineRecord[] = [];
    let scanned = 0;
    let lastKey: string | undefined;
    for await (const [k, v] of this.s.engine.entries({ gte, lt, reverse: true })) {
      scanned++;
      lastKey = k;
      const rec = decodeTimelineRecord(this.s.cipher, k, v);
      if (!kinds || kinds.has(rec.kind)) records.push(rec);
      if (records.length >= limit || scanned >= MAX_SCAN) break;
    }
    const more = lastKey !== undefined && (records.length >= limit || scanned >= MAX_SCAN);
    return more && lastKey !== undefined ? { records, nextCursor: encodeCursor(lastKey) } : { records };
  }

  async has(deviceId: string, streamId: string, seq: number) {
    return (await this.s.engine.get(K.eventRef(deviceId, streamId, seq))) !== undefined;
  }

  async purgedThrough(deviceId: string, streamId: string) {
    return (await this.s.getJson<{ seq: number }>(K.streamFloor(deviceId, streamId)))?.seq ?? 0;
  }

  async heldBefore(deviceId: string, streamId: string, seq: number) {
    return (await this.has(deviceId, streamId, seq)) || seq <= (await this.purgedThrough(deviceId, streamId));
  }

  async get(deviceId: string, streamId: string, seq: number) {
    const tlKey = await this.s.getJson<string>(K.eventRef(deviceId, streamId, seq));
    if (tlKey === undefined) return undefined;
    const v = await this.s.engine.get(tlKey);
    return v === undefined ? undefined : decodeTimelineRecord(this.s.cipher, tlKey, v);
  }

  async getStream(deviceId: string, streamId: string) {
    return this.s.getJson<StreamState>(K.stream(deviceId, streamId));
  }

  async listStreams(deviceId: string) {
    return (await this.s.scanJson<StreamState>(K.streamPrefix(deviceId))).map(([, v]) => v);
  }
}

class Blobs extends StorePart implements BlobStore {
  async meta(deviceId: string, blobId: string) {
    return this.s.getJson<BlobMeta>(K.blobMeta(deviceId, blobId));
  }
  async read(deviceId: string, blobId: string) {
    const meta = await this.meta(deviceId, blobId);
    if (!meta) return undefined;
    const keys = Array.from({ length: meta.chunks }, (_, i) => K.blobChunk(deviceId, blobId, i));
    const sealed = await this.s.engine.getMany(keys);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < keys.length; i++) {
      const chunk = sealed[i];
      if (chunk === undefined)
        throw new CustodianError(ErrorCode.STORAGE, `blob ${blobId} is missing chunk ${i}`);
      parts.push(this.s.cipher.decrypt(keys[i] as string, chunk));
    }
    const data = new Uint8Array(Buffer.concat(parts));
    if (sha256Hex(data) !== meta.sha256) {
      throw new CustodianError(ErrorCode.STORAGE, `blob ${blobId} does not match its stored hash`);
    }
    return { meta, data };
  }
  async readChunks(deviceId: string, blobId: string) {
    const meta = await this.meta(deviceId, blobId);
    if (!meta) return undefined;
    const { engine, cipher } = this.s;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < (meta as BlobMeta).chunks; i++) {
        const key = K.blobChunk(deviceId, blobId, i);
        const sealed = await engine.get(key);
        if (sealed === undefined)
          throw new CustodianError(ErrorCode.STORAGE, `blob ${blobId} is missing chunk ${i}`);
        yield cipher.decrypt(key, sealed);
      }
    }
    return { meta, chunks: chunks() };
  }
  async put(deviceId: string, blobId: string, contentType: string, data: Uint8Array) {
    const chunkSize = 256 * 1024;
    const chunks = Math.max(1, Math.ceil(data.byteLength / chunkSize));
    const ops: KvOp[] = [];
    for (let i = 0; i < chunks; i++) {
      ops.push(
        blobChunkOp(this.s.cipher, deviceId, blobId, i, data.subarray(i * chunkSize, (i + 1) * chunkSize)),
      );
    }
    const meta: BlobMeta = {
      deviceId,
      blobId,
      contentType,
      size: data.byteLength,
      sha256: sha256Hex(data),
      chunks,
      storedAt: this.s.now(),
    };
    await this.s.write([...ops, ...blobMetaOps(meta)]);
    return meta;
  }
  sealChunk(deviceId: string, blobId: string, index: number, data: Uint8Array) {
    return blobChunkOp(this.s.cipher, deviceId, blobId, index, data);
  }
  async delete(deviceId: string, blobId: string) {
    return this.s.withLock(async () => {
      const ops = await blobDeleteOps(this.s.engine, deviceId, blobId);
      if (ops.length === 0) return false;
      await this.s.write(ops);
      return true;
    });
  }
}

/** Deletes a blob's meta, time index and every chunk. Empty when the blob is not there. */
export async function blobDeleteOps(engine: KvEngine, deviceId: string, blobId: string): Promise<KvOp[]> {
  const raw = await engine.get(K.blobMeta(deviceId, blobId));
  if (raw === undefined) return [];
  const meta = fromJsonBytes<BlobMeta>(raw);
  const ops: KvOp[] = [
    { type: 'del', key: K.blobMeta(deviceId, blobId) },
    { type: 'del', key: K.blobTime(meta.storedAt, deviceId, blobId) },
  ];
  const prefix = K.blobChunkPrefix(deviceId, blobId);
  for await (const [k] of engine.entries({ gt: prefix, lt: prefix + HIGH }))
    ops.push({ type: 'del', key: k });
  return ops;
}

class Alerts extends StorePart implements AlertStore {
  async get(id: string) {
    const v = await this.s.engine.get(K.alert(id));
    return v === undefined ? undefined : decodeAlert(this.s.cipher, v);
  }
  async list(q: AlertQuery = {}) {
    const limit = q.limit ?? 1000;
    const prefix = K.alertTimePrefix();
    const gt = q.since === undefined ? prefix : `${prefix}${String(Math.max(0, q.since)).padStart(15, '0')}`;
    const lt =
      q.until === undefined ? prefix + HIGH : `${prefix}${String(Math.max(0, q.until)).padStart(15, '0')}`;
    const out: Alert[] = [];
    for await (const [k] of this.s.engine.entries({ gte: gt, lt, reverse: true })) {
      const id = k.slice(k.lastIndexOf(SEP) + 1);
      const a = await this.get(id);
      if (!a) continue;
      if (q.status && !q.status.includes(a.status)) continue;
      if (q.deviceId && a.deviceId !== q.deviceId) continue;
      if (q.category && !q.category.includes(a.category)) continue;
      if (q.minSeverity !== undefined && a.severity < q.minSeverity) continue;
      out.push(a);
      if (out.length >= limit) break;
    }
    return out;
  }
  async update(id: string, change: (a: Alert) => Alert, audit?: AuditInput) {
    return this.s.lockKeys([K.alert(id)], async () => {
      const current = await this.get(id);
      if (!current) throw new CustodianError(ErrorCode.NOT_FOUND, `alert ${id} not found`);
      const next = { ...change(structuredClone(current)), id, updatedAt: this.s.now() };
      const ops = alertOps(this.s.cipher, next, current);
      if (audit) ops.push((this.s.audit as Audit).prepare(audit).op);
      await this.s.write(ops);
      return next;
    });
  }
}

class Audit extends StorePart implements AuditStore {
  private last = 0;
  async append(input: AuditInput) {
    const { record, op } = this.prepare(input);
    await this.s.write([op]);
    return record;
  }
  /** The record and its write, for a caller that puts it in its own atomic batch. */
  prepare(input: AuditInput): { record: AuditRecord; op: KvOp } {
    // Strictly increasing times keep the append order in key order.
    const at = Math.max(input.at ?? this.s.now(), this.last);
    this.last = at;
    const record: AuditRecord = { ...input, id: randomId(12), at };
    return { record, op: { type: 'put', key: K.audit(at, record.id), value: toJsonBytes(record) } };
  }
  async list(
    q: {
      since?: number;
      until?: number;
      action?: string;
      actor?: string;
      target?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ) {
    const prefix = K.auditPrefix();
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    let lt = q.until === undefined ? prefix + HIGH : `${prefix}${String(q.until).padStart(15, '0')}`;
    if (q.cursor) {
      const after = decodeCursor(q.cursor, prefix);
      if (after < lt) lt = after;
    }
    const gte = q.since === undefined ? prefix : `${prefix}${String(q.since).padStart(15, '0')}`;
    const records: AuditRecord[] = [];
    let lastKey: string | undefined;
    let scanned = 0;
    for await (const [k, v] of this.s.engine.entries({ gte, lt, reverse: true })) {
      lastKey = k;
      scanned++;
      const r = fromJsonBytes<AuditRecord>(v);
      if (q.action && r.action !== q.action) continue;
      if (q.actor && r.actor !== q.actor) continue;
      if (q.target && r.target !== q.target) continue;
      records.push(r);
      if (records.length >= limit || scanned >= MAX_SCAN) break;
    }
    const more = records.length >= limit || scanned >= MAX_SCAN;
    return more && lastKey ? { records, nextCursor: encodeCursor(lastKey) } : { records };
  }
}

class Policies extends StorePart implements PolicyStore {
  async getDefault() {
    return this.s.getJson<Policy>(K.policyDefault());
  }
  async getOverride(deviceId: string) {
    return this.s.getJson<{ patch: PolicyPatch; version: number }>(K.policyOverride(deviceId));
  }
  async listOverrides() {
    return (await this.s.scanJson<{ patch: PolicyPatch; version: number }>(K.policyOverridePrefix())).map(
      ([k, v]) => ({ deviceId: k.slice(k.indexOf(SEP) + 1), ...v }),
    );
  }
  setDefault(policy: Policy, change: { actor: string; reason: string }): Promise<Policy>;
  setDefault(
    policy: (current: Policy | undefined) => Policy | undefined | Promise<Policy | undefined>,
    change: { actor: string; reason: string },
  ): Promise<Policy | undefined>;
  async setDefault(
    policy: Policy | ((current: Policy | undefined) => Policy | undefined | Promise<Policy | undefined>),
    change: { actor: string; reason: string },
  ): Promise<Policy | undefined> {
    // The version counter is the one record every policy change reads then writes.
    return this.s.lockKeys([K.policyVersion()], async () => {
      const current = await this.getDefault();
      const wanted =
        typeof policy === 'function' ? await policy(current && structuredClone(current)) : policy;
      if (wanted === undefined) return current;
      const old = current ?? null;
      const version = await this.nextVersion();
      const next: Policy = { ...wanted, version };
      await this.s.write([
        { type: 'put', key: K.policyDefault(), value: toJsonBytes(next) },
        { type: 'put', key: K.policyVersion(), value: toJsonBytes(version) },
        this.changeOp('default', old, next, change, version),
      ]);
      return next;
    });
  }
  async setOverride(deviceId: string, patch: PolicyPatch | null, change: { actor: string; reason: string }) {
    keyPart('deviceId', deviceId);
    // The version counter is the one record every policy change reads then writes.
    return this.s.lockKeys([K.policyVersion()], async () => {
      const old = (await this.getOverride(deviceId))?.patch ?? null;
      const version = await this.nextVersion();
      await this.s.write([
        // Removing an override keeps an empty patch with the new version, so the device's
        // effective version still rises (agents ignore a policy older than the one they have).
        { type: 'put', key: K.policyOverride(deviceId), value: toJsonBytes({ patch: patch ?? {}, version }) },
        { type: 'put', key: K.policyVersion(), value: toJsonBytes(version) },
        this.changeOp(deviceId, old, patch, change, version),
      ]);
      return version;
    });
  }
  async getLayer(layer: PolicyLayerRef) {
    return this.s.getJson<PolicyLayer>(K.policyLayer(layer.kind, layer.id));
  }
  async listLayers(kind: PolicyLayerKind) {
    return (await this.s.scanJson<PolicyLayer>(K.policyLayerPrefix(kind))).map(([k, v]) => ({
      id: k.slice(k.lastIndexOf(SEP) + 1),
      ...v,
    }));
  }
  async setLayer(
    layer: PolicyLayerRef,
    patch: PolicyPatch | null,
    change: { actor: string; reason: string },
    audit?: AuditInput,
  ) {
    const key = K.policyLayer(layer.kind, layer.id);
    return this.s.withLock(async () => {
      const current = await this.getLayer(layer);
      const old = current && Object.keys(current.patch).length > 0 ? current.patch : null;
      const version = await this.nextVersion();
      // As for overrides: a removed layer keeps an empty patch with the new version, so the
      // effective version of its devices still rises.
      const ops: KvOp[] = [
        { type: 'put', key, value: toJsonBytes({ patch: patch ?? {}, version }) },
        { type: 'put', key: K.policyVersion(), value: toJsonBytes(version) },
        this.changeOp(`${layer.kind}:${layer.id}`, old, patch, change, version),
      ];
      if (audit)
        ops.push((this.s.audit as Audit).prepare({ ...audit, details: { ...audit.details, version } }).op);
      await this.s.write(ops);
      return version;
    });
  }
  async deleteLayer(layer: PolicyLayerRef) {
    await this.s.write([{ type: 'del', key: K.policyLayer(layer.kind, layer.id) }]);
  }
  async moveDevice(
    deviceId: string,
    groupId: string | null,
    change: { actor: string; reason: string },
    audit?: AuditInput,
  ) {
    return this.s.withLock(async () => {
      const current = await this.s.devices.get(deviceId);
      if (!current) throw new CustodianError(ErrorCode.NOT_FOUND, `device ${deviceId} not found`);
      const { groupId: from, ...rest } = current;
      const device: Device = groupId === null ? rest : { ...rest, groupId };
      const version = await this.nextVersion();
      const override = (await this.getOverride(deviceId))?.patch ?? null;
      const ops: KvOp[] = [
        ...deviceOps(device, current),
        { type: 'put', key: K.policyMove(deviceId), value: toJsonBytes(version) },
        { type: 'put', key: K.policyVersion(), value: toJsonBytes(version) },
        this.changeOp(deviceId, override, override, change, version, { from: from ?? null, to: groupId }),
      ];
      if (audit)
        ops.push((this.s.audit as Audit).prepare({ ...audit, details: { ...audit.details, version } }).op);
      await this.s.write(ops);
      return { device, version };
    });
  }
  async moveVersion(deviceId: string) {
    return (await this.s.getJson<number>(K.policyMove(deviceId))) ?? 0;
  }
  async changes(q: { scope?: string; limit?: number; cursor?: string } = {}) {
    const prefix = K.policyChangePrefix();
    const limit = Math.max(1, Math.min(q.limit ?? 100, 1000));
    const lt = q.cursor ? decodeCursor(q.cursor, prefix) : prefix + HIGH;
    const records: PolicyChange[] = [];
    let lastKey: string | undefined;
    for await (const [k, v] of this.s.engine.entries({ gt: prefix, lt, reverse: true })) {
      lastKey = k;
      const c = fromJsonBytes<PolicyChange>(v);
      if (q.scope && c.scope !== q.scope) continue;
      records.push(c);
      if (records.length >= limit) break;
    }
    return records.length >= limit && lastKey ? { records, nextCursor: encodeCursor(lastKey) } : { records };
  }
  private async nextVersion(): Promise<number> {
    const current = (await this.s.getJson<number>(K.policyVersion())) ?? defaultPolicy().version;
    return current + 1;
  }
  private changeOp(
    scope: string,
    old: PolicyChange['old'],
    next: PolicyChange['new'],
    change: { actor: string; reason: string },
    version: number,
    move?: PolicyChange['move'],
  ): KvOp {
    // Version is part of the key order too: two changes in one millisecond keep their order.
    const at = this.s.now();
    const record: PolicyChange = {
      id: `v${version}`,
      at,
      actor: change.actor,
      scope,
      old,
      new: next,
      reason: change.reason,
      version,
      ...(move ? { move } : {}),
    };
    return {
      type: 'put',
      key: K.policyChange(at, `${String(version).padStart(12, '0')}`),
      value: toJsonBytes(record),
    };
  }
}

class Namespace<T> implements KvNamespace<T> {
  private readonly s: StoreImpl;
  private readonly ns: string;
  constructor(s: StoreImpl, ns: string) {
    this.s = s;
    this.ns = ns;
  }
  async get(key: string) {
    const k = K.kv(this.ns, key);
    const v = await this.s.engine.get(k);
    return v === undefined ? undefined : decodeKvValue<T>(this.s.cipher, this.ns, k, v);
  }
  async put(key: string, value: T) {
    const k = K.kv(this.ns, key);
    return this.s.write([{ type: 'put', key: k, value: encodeKvValue(this.s.cipher, this.ns, k, value) }]);
  }
  async del(key: string) {
    return this.s.write([{ type: 'del', key: K.kv(this.ns, key) }]);
  }
  async list(options: { prefix?: string; limit?: number; reverse?: boolean } = {}) {
    const base = K.kvPrefix(this.ns);
    const prefix = base + (options.prefix ?? '');
    const out: { key: string; value: T }[] = [];
    for await (const [k, v] of this.s.engine.entries({
      gte: prefix,
      lt: prefix + HIGH,
      reverse: options.reverse ?? false,
      limit: options.limit ?? -1,
    })) {
      out.push({ key: k.slice(base.length), value: decodeKvValue<T>(this.s.cipher, this.ns, k, v) });
    }
    return out;
  }
  async update(key: string, change: (current: T | undefined) => T | undefined, audit?: AuditInput) {
    return this.s.lockKeys([K.kv(this.ns, key)], async () => {
      const current = await this.get(key);
      const next = change(current === undefined ? undefined : structuredClone(current));
      const k = K.kv(this.ns, key);
      const ops: KvOp[] = [
        next === undefined
          ? { type: 'del', key: k }
          : { type: 'put', key: k, value: encodeKvValue(this.s.cipher, this.ns, k, next) },
      ];
      if (audit) ops.push((this.s.audit as Audit).prepare(audit).op);
      await this.s.write(ops);
      return next;
    });
  }
}
