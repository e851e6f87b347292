// Enrolment and device identity.
//
// School-owned devices enrol with the organisation secret; BYOD devices with a one-time code
// plus the user's recorded acceptance of the current agreement. Each enrolment gets a fresh
// device id and a 256-bit key; only SHA-256 of the key is stored.
//
// Re-enrolment of a machine id that already has a device (replacement.ts decides): a revoked
// previous device is simply succeeded; a live one is replaced only with proof of its key, or
// when it is a school device not seen for enrol.liveDays; otherwise the enrolment becomes a
// replacement request an admin or IT approves or denies in the console. A BYOD code never
// replaces or revokes anyone by itself. The requester gets its would-be key at once and asks
// POST /enrol/claim how the request stands. Every replacement is audited and recorded as clone
// suspicion; so is every request, on the device it would replace. Other clone signals: a revoked
// key that keeps connecting (counted with the last address), and two sessions of one identity
// with different stream ids replacing each other (ingest/server.ts).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import type { CollectorConfig } from '../config.ts';
import { badInput } from '../http/router.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Logger } from '../log.ts';
import { K, toJsonBytes } from '../store/keys.ts';
import { randomId, sha256Hex } from '../store/records.ts';
import { deviceOps, replacementOps } from '../store/store.ts';
import type { Device, EnrolCode, KvOp, ReplacementRequest, Store } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID } from '../tenancy/model.ts';
import { SchoolSecrets } from '../tenancy/school-secrets.ts';
import { Agreements } from './agreement.ts';
import type { ByodEnrol, EnrolProof, SchoolEnrol } from './enrol-input.ts';
import { decideReplacement } from './replacement.ts';
import { type DeviceFacts, type EnrolResult, ReplacementRequests } from './replacement-requests.ts';
import { hashMatches, newEnrolCode, newSecret, normaliseCode } from './secrets.ts';

export interface EnrolServiceOptions {
  store: Store;
  live: LiveHub;
  log: Logger;
  config: CollectorConfig;
  now: () => number;
  audit: AuditFn;
  /** Is this device connected right now? (set by ingest; used for clone suspicion). */
  isConnected?: (deviceId: string) => { remoteAddress: string } | undefined;
  /** When was this device last heard from? (live status; set by app.ts). */
  lastSeenAt?: (deviceId: string) => number | undefined;
}

const CREDENTIAL = /^[A-Za-z0-9_-]{16,256}$/;

/**
 * One bootstrap credential (the enrol secret or the admin token): the value of env[name] when
 * set (stored as its hash if it differs from the stored one), else a random one if none is
 * stored yet. Returns the plaintext when it was set now, to be shown once.
 */
async function bootstrapCredential(
  env: Record<string, string | undefined>,
  name: string,
  getHash: () => Promise<string | undefined>,
  setHash: (hash: string) => Promise<void>,
): Promise<string | undefined> {
  const fromEnv = env[name];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!CREDENTIAL.test(fromEnv)) {
      throw new CustodianError(
        ErrorCode.INVALID_CONFIG,
        `${name} must be 16-256 characters of A-Z a-z 0-9 _ -`,
        {
          details: { field: name },
        },
      );
    }
    if (hashMatches(fromEnv, await getHash())) return undefined;
    await setHash(sha256Hex(fromEnv));
    return fromEnv;
  }
  if ((await getHash()) !== undefined) return undefined;
  const fresh = newSecret();
  await setHash(sha256Hex(fresh));
  return fresh;
}

/** The device's facts from a checked enrolment body (enrol-input.ts). */
function factsOf(body: SchoolEnrol | ByodEnrol): DeviceFacts {
  return { machineId: body.machineId, hostname: body.hostname, os: body.os, serial: body.serial ?? '' };
}

export type { DeviceFacts, EnrolResult };

export class EnrolService {
  private readonly o: EnrolServiceOptions;
  private serverUrl = '';
  isConnected: EnrolServiceOptions['isConnected'];
  lastSeenAt: EnrolServiceOptions['lastSeenAt'];

  /** Re-enrolments waiting for approval (routes: /enrol/replacements, /enrol/claim). */
  readonly replacements: ReplacementRequests;
  /** The BYOD agreement's versions and the acceptance log (agreement.ts). */
  readonly agreements: Agreements;
  /** Enrol secrets of schools other than the default one (tenancy/school-secrets.ts). */
  readonly schoolSecrets: SchoolSecrets;

  constructor(options: EnrolServiceOptions) {
    this.o = options;
    this.replacements = new ReplacementRequests({ ...options, serverUrl: () => this.serverUrl });
    this.agreements = new Agreements(options);
    this.schoolSecrets = new SchoolSecrets(options.store);
    this.isConnected = options.isConnected;
    this.lastSeenAt = options.lastSeenAt;
  }

  setServerUrl(url: string): void {
    this.serverUrl = url;
  }

  /** The URL agents and staff reach this collector at (config publicUrl, else the listening URL; '' before start). */
  get publicUrl(): string {
    return this.serverUrl;
  }

  /**
   * First start: creates the enrol secret and admin token (or takes them from
   * CUSTODIAN_ENROL_SECRET / CUSTODIAN_ADMIN_TOKEN). Returns those created or set now, to be
   * shown once; later starts return nothing.
   */
  async bootstrap(
    env: Record<string, string | undefined>,
  ): Promise<{ adminToken?: string; enrolSecret?: string }> {
    const out: { adminToken?: string; enrolSecret?: string } = {};
    // Under the store's write lock (across processes on a shared engine): collectors starting
    // together on a new database make ONE secret and ONE token, not one each (last one winning).
    await this.o.store.withLock(async () => {
      await this.bootstrapCredentials(env, out);
    });
    await this.agreements.init();
    return out;
  }

  private async bootstrapCredentials(
    env: Record<string, string | undefined>,
    out: { adminToken?: string; enrolSecret?: string },
  ): Promise<void> {
    const { enrol } = this.o.store;
    const enrolSecret = await bootstrapCredential(
      env,
      'CUSTODIAN_ENROL_SECRET',
      () => enrol.getSecretHash(),
      (hash) => enrol.setSecretHash(hash),
    );
    if (enrolSecret !== undefined) out.enrolSecret = enrolSecret;
    const adminToken = await bootstrapCredential(
      env,
      'CUSTODIAN_ADMIN_TOKEN',
      () => enrol.getAdminTokenHash(),
      (hash) => enrol.setAdminTokenHash(hash),
    );
    if (adminToken !== undefined) out.adminToken = adminToken;
  }

  /** A new enrol secret for a school (the default school's is the organisation secret, as before tenancy). */
  async rotateSecret(actor: string, schoolId: string = DEFAULT_SCHOOL_ID): Promise<string> {
    const secret = newSecret();
    await this.schoolSecrets.set(schoolId, sha256Hex(secret), this.o.now(), actor);
    if (schoolId === DEFAULT_SCHOOL_ID) await this.o.audit(actor, 'enrol.secret.rotate', 'enrol:secret');
    else await this.o.audit(actor, 'enrol.secret.rotate', `enrol:secret:${schoolId}`, { schoolId });
    this.o.log.info({ actor, schoolId }, 'enrol secret rotated');
    return secret;
  }

  async createCode(input: {
    ttlHours?: number;
    note?: string;
    actor: string;
    schoolId?: string;
  }): Promise<{ code: string; expiresAt: number; hint: string }> {
    // Checked by the route's schema (1 to 2160 hours; a note without control characters).
    const ttl = input.ttlHours ?? this.o.config.enrol.codeTtlHoursDefault;
    const note = input.note ?? '';
    const code = newEnrolCode();
    const record: EnrolCode = {
      codeHash: sha256Hex(normaliseCode(code)),
      hint: code.slice(0, 4),
      createdAt: this.o.now(),
      createdBy: input.actor,
      expiresAt: this.o.now() + ttl * 3_600_000,
      note,
      ...(input.schoolId !== undefined && input.schoolId !== DEFAULT_SCHOOL_ID
        ? { schoolId: input.schoolId }
        : {}),
    };
    await this.o.store.enrol.putCode(record);
    await this.o.audit(input.actor, 'enrol.code.create', `enrol-code:${record.hint}`, {
      expiresAt: record.expiresAt,
      note,
      ...(record.schoolId ? { schoolId: record.schoolId } : {}),
    });
    return { code, expiresAt: record.expiresAt, hint: record.hint };
  }

  async enrolSchool(body: SchoolEnrol, ip: string): Promise<EnrolResult> {
    const facts = factsOf(body);
    const schoolId = await this.schoolSecrets.schoolOf(body.secret);
    if (schoolId === undefined) {
      this.o.log.warn(
        { code: ErrorCode.BAD_ENROL_SECRET, ip, hostname: facts.hostname },
        'enrolment refused: wrong enrol secret',
      );
      throw new CustodianError(ErrorCode.BAD_ENROL_SECRET, 'the enrol secret is not valid');
    }
    const attempt = body.enrolAttempt;
    return this.o.store.withLock(
      async () =>
        (attempt && (await this.resumeAttempt('school', facts, attempt, ip))) ||
        this.createDevice('school', facts, ip, body, undefined, schoolId, attempt),
    );
  }

  async enrolByod(body: ByodEnrol, ip: string): Promise<EnrolResult> {
    const facts = factsOf(body);
    const userName = body.userName;
    // Only the current version will do: after an admin publishes new text, an agent that shows
    // the old one (or remembers its hash) is refused and must fetch, show and accept the new one.
    const agreement = await this.agreements.current();
    if (
      body.acceptAgreement !== true ||
      body.agreementVersion !== agreement.version ||
      body.agreementSha256 !== agreement.sha256
    ) {
      throw new CustodianError(
        ErrorCode.AGREEMENT_NOT_ACCEPTED,
        `accept the current BYOD agreement (version ${agreement.version}, GET /api/v1/agreement): send acceptAgreement true with its version and sha256`,
        { details: { currentVersion: agreement.version } },
      );
    }
    const codeHash = sha256Hex(normaliseCode(body.code));
    const attempt = body.enrolAttempt;
    return this.o.store.withLock(async () => {
      const code = await this.o.store.enrol.getCode(codeHash);
      const refuse = (why: string) => {
        this.o.log.warn({ code: ErrorCode.BAD_ENROL_CODE, ip, why }, 'BYOD enrolment refused');
        return new CustodianError(ErrorCode.BAD_ENROL_CODE, `the enrolment code ${why}`);
      };
      if (!code) throw refuse('is not valid');
      if (code.usedAt !== undefined) {
        // Spent by this very attempt (the answer was lost to a crash): the same device again.
        const resumed = attempt && (await this.resumeAttempt('byod', facts, attempt, ip, codeHash));
        if (resumed) return resumed;
        throw refuse('has already been used');
      }
      if (code.expiresAt <= this.o.now()) throw refuse('has expired');
      const at = this.o.now();
      return this.createDevice(
        'byod',
        facts,
        ip,
        body,
        {
          acceptance: {
            userName,
            agreementVersion: agreement.version,
            agreementSha256: agreement.sha256,
            acceptedAt: at,
            codeHash,
          },
          code,
        },
        code.schoolId ?? DEFAULT_SCHOOL_ID,
        attempt,
      );
    });
  }

  /**
   * Must run under store.withLock. Decides (replacement.ts) what this enrolment may do to the
   * device already holding the machine id: enrol, replace it now, queue a request for an admin
   * or IT to approve, or refuse.
   */
  private async createDevice(
    kind: Device['kind'],
    facts: DeviceFacts,
    ip: string,
    proofBody: EnrolProof,
    byod: { acceptance: NonNullable<Device['byod']>; code: EnrolCode } | undefined,
    schoolId: string,
    attempt?: string,
  ): Promise<EnrolResult> {
    // The credential decides the school; the default school is left implicit (as before tenancy).
    const school = schoolId === DEFAULT_SCHOOL_ID ? {} : { schoolId };
    const { store, now } = this.o;
    const attemptHash = attempt === undefined ? undefined : sha256Hex(attempt);
    const at = now();
    const previous = await store.devices.byMachineId(facts.machineId);
    const decision = decideReplacement({
      kind,
      hostname: facts.hostname,
      serial: facts.serial,
      previous,
      proof: this.proofOf(previous, proofBody),
      connectedFrom:
        previous && previous.revokedAt === undefined
          ? this.isConnected?.(previous.id)?.remoteAddress
          : undefined,
      lastSeenAt: previous ? Math.max(previous.enrolledAt, this.lastSeenAt?.(previous.id) ?? 0) : 0,
      now: at,
      liveMs: this.o.config.enrol.liveDays * 86_400_000,
    });
    if (decision.action === 'refuse') {
      this.o.log.warn(
        { code: ErrorCode.AUTH_FAILED, ip, previous: previous?.id },
        'enrolment refused: bad proof',
      );
      await this.o.audit(`enrol:${ip}`, 'device.enrol.refused', `device:${previous?.id}`, {
        why: decision.why,
        kind,
        hostname: facts.hostname,
        ip,
      });
      throw new CustodianError(ErrorCode.AUTH_FAILED, `enrolment refused: ${decision.why}`);
    }
    const deviceKey = newSecret();
    const deviceId = `d_${randomId(12)}`;
    // The code is spent and the acceptance logged in the enrolment's batch (queued or not: the
    // person accepted this text either way).
    const codeOp = (): KvOp[] => {
      if (!byod) return [];
      const used: EnrolCode = { ...byod.code, usedAt: at, usedByDevice: deviceId };
      const a = byod.acceptance;
      return [
        { type: 'put', key: K.enrolCode(used.codeHash), value: toJsonBytes(used) },
        this.agreements.acceptanceOp({
          acceptedAt: a.acceptedAt,
          userName: a.userName,
          agreementVersion: a.agreementVersion,
          agreementSha256: a.agreementSha256,
          deviceId,
          hostname: facts.hostname,
          source: 'enrolment',
        }),
      ];
    };
    // 'queue' is only decided when there is a previous device.
    if (decision.action === 'queue')
      return this.replacements.queue({
        kind,
        facts,
        ip,
        at,
        previous: previous as Device,
        deviceId,
        deviceKey,
        reasons: decision.reasons,
        byod,
        ops: codeOp(),
        ...school,
        attemptHash,
      });

    const device: Device = {
      id: deviceId,
      kind,
      ...facts,
      keyHash: sha256Hex(deviceKey),
      enrolledAt: at,
      ...(byod ? { byod: byod.acceptance } : {}),
      ...school,
      ...(attemptHash ? { enrolAttemptHash: attemptHash } : {}),
    };
    const ops: KvOp[] = [];
    let revoked: Device | undefined;
    if (previous) device.replaces = previous.id;
    if (decision.suspicion.length > 0) {
      device.cloneSuspicion = [
        { at, reason: `same machine id as ${previous?.id}: ${decision.suspicion.join('; ')}` },
      ];
      this.o.log.warn(
        { deviceId, previous: previous?.id, reasons: decision.suspicion },
        'possible cloned image: machine id re-enrolled',
      );
    }
    if (decision.action === 'replace' && previous) {
      device.replacement = { how: decision.how };
      revoked = this.replacements.revokedByReplacement(
        previous,
        deviceId,
        at,
        `re-enrolled as ${deviceId} (same machine id, ${decision.how === 'proof' ? 'proof of its key' : 'not seen for a long time'})`,
      );
      ops.push(...deviceOps(revoked, previous));
    }
    ops.push(...deviceOps(device), ...codeOp());
    await store.engine.batch(ops, { sync: true });
    await this.o.audit(`device:${device.id}`, 'device.enrol', `device:${device.id}`, {
      kind,
      hostname: facts.hostname,
      ip,
      ...(previous ? { replaces: previous.id } : {}),
      ...(decision.action === 'replace' ? { replacement: decision.how } : {}),
      ...school,
      ...(byod
        ? {
            userName: byod.acceptance.userName,
            agreementVersion: byod.acceptance.agreementVersion,
            codeHint: byod.code.hint,
          }
        : {}),
    });
    if (revoked)
      await this.o.audit(`device:${device.id}`, 'device.replace', `device:${previous?.id}`, {
        how: decision.action === 'replace' ? decision.how : undefined,
        newDeviceId: device.id,
        ip,
      });
    this.o.log.info(
      { deviceId: device.id, kind, hostname: facts.hostname, replaces: previous?.id },
      'device enrolled',
    );
    if (revoked) this.o.live.emit('device', revoked);
    this.o.live.emit('device', device);
    return { status: 'enrolled', deviceId: device.id, deviceKey, serverUrl: this.serverUrl };
  }

  /**
   * Must run under store.withLock. The same enrolment attempt again (its answer was lost: the
   * collector was killed after committing, or the agent before saving what it got): the device
   * this attempt created, if it has never connected, or the request it queued, if still
   * pending, gets a fresh key, which is the answer. No second device, no second request, the
   * BYOD code stays spent once. Undefined when the attempt created nothing (or its device has
   * connected since: then the agent holds a working key and this is not a retry).
   */
  private async resumeAttempt(
    kind: Device['kind'],
    facts: DeviceFacts,
    attempt: string,
    ip: string,
    codeHash?: string,
  ): Promise<EnrolResult | undefined> {
    const { store } = this.o;
    const attemptHash = sha256Hex(attempt);
    const deviceKey = newSecret();
    const holder = await store.devices.byMachineId(facts.machineId);
    if (
      holder &&
      holder.enrolAttemptHash === attemptHash &&
      holder.kind === kind &&
      holder.revokedAt === undefined &&
      (codeHash === undefined || holder.byod?.codeHash === codeHash) &&
      this.lastSeenAt?.(holder.id) === undefined
    ) {
      const device: Device = { ...holder, keyHash: sha256Hex(deviceKey) };
      await store.engine.batch(deviceOps(device, holder), { sync: true });
      await this.o.audit(`device:${device.id}`, 'device.enrol.resume', `device:${device.id}`, {
        kind,
        hostname: facts.hostname,
        ip,
      });
      this.o.log.info(
        { deviceId: device.id, kind, ip },
        'enrolment attempt resumed: a fresh key for its device',
      );
      return { status: 'enrolled', deviceId: device.id, deviceKey, serverUrl: this.serverUrl };
    }
    const request = (await store.enrol.listReplacements({ state: 'pending' })).find(
      (r) =>
        r.attemptHash === attemptHash &&
        r.kind === kind &&
        r.facts.machineId === facts.machineId &&
        (codeHash === undefined || r.byod?.codeHash === codeHash),
    );
    if (!request) return undefined;
    const rekeyed: ReplacementRequest = { ...request, keyHash: sha256Hex(deviceKey) };
    await store.engine.batch(replacementOps(rekeyed), { sync: true });
    this.o.log.info(
      { requestId: request.id, ip },
      'enrolment attempt resumed: its queued request, a fresh key',
    );
    return this.replacements.pendingAnswer(rekeyed, deviceKey);
  }

  /** none / valid / invalid: is `previousDeviceKey` the key of the device holding the machine id? */
  private proofOf(previous: Device | undefined, body: EnrolProof): 'none' | 'valid' | 'invalid' {
    const id = body.previousDeviceId;
    const key = body.previousDeviceKey;
    if (id === undefined && key === undefined) return 'none';
    // Both or neither: a relation between two fields the schema checked one by one.
    if (id === undefined || key === undefined)
      throw badInput('previousDeviceKey must come with previousDeviceId', {
        field: id === undefined ? 'body.previousDeviceId' : 'body.previousDeviceKey',
      });
    if (!previous) return 'none';
    return id === previous.id && hashMatches(key, previous.keyHash) ? 'valid' : 'invalid';
  }

  /** Revoke and mark retired: the device is gone for good (retention purges its data later). */
  async retire(deviceId: string, reason: string, actor: string): Promise<Device> {
    // The route's Reason() schema refused a blank one.
    const why = reason.trim();
    const at = this.o.now();
    const device = await this.o.store.devices.update(deviceId, (d) => ({
      ...d,
      ...(d.revokedAt === undefined
        ? { revokedAt: at, revokedBy: actor, revokedReason: `retired: ${why}` }
        : {}),
      retiredAt: d.retiredAt ?? at,
      retiredBy: d.retiredBy ?? actor,
      retiredReason: d.retiredReason ?? why,
    }));
    await this.o.audit(actor, 'device.retire', `device:${deviceId}`, { reason: why });
    this.o.log.info({ deviceId, actor }, 'device retired');
    this.o.live.emit('device', device);
    return device;
  }

  async revoke(deviceId: string, reason: string, actor: string): Promise<Device> {
    // The route's Reason() schema refused a blank one.
    const why = reason.trim();
    const device = await this.o.store.devices.update(deviceId, (d) =>
      d.revokedAt !== undefined ? d : { ...d, revokedAt: this.o.now(), revokedBy: actor, revokedReason: why },
    );
    await this.o.audit(actor, 'device.revoke', `device:${deviceId}`, { reason: why });
    this.o.log.info({ deviceId, actor }, 'device revoked');
    this.o.live.emit('device', device);
    return device;
  }

  /**
   * Checks a Hello's credentials. Throws AUTH_FAILED (unknown device or wrong key) or
   * DEVICE_REVOKED (right key, revoked device: the reason goes to the agent).
   */
  async authenticate(deviceId: string, key: string, remoteAddress: string): Promise<Device> {
    const fail = () => new CustodianError(ErrorCode.AUTH_FAILED, 'unknown device or wrong key');
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(deviceId) || key.length === 0 || key.length > 256) throw fail();
    const device = await this.o.store.devices.get(deviceId);
    if (!device || !hashMatches(key, device.keyHash)) throw fail();
    if (device.revokedAt !== undefined) {
      await this.o.store.devices.update(deviceId, (d) => ({
        ...d,
        revokedConnectAttempts: {
          count: (d.revokedConnectAttempts?.count ?? 0) + 1,
          lastAt: this.o.now(),
          lastAddress: remoteAddress,
        },
      }));
      throw new CustodianError(
        ErrorCode.DEVICE_REVOKED,
        `device revoked: ${device.revokedReason ?? 'by an administrator'}`,
      );
    }
    return device;
  }
}
