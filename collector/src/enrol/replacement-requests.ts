// Replacement requests: an enrolment of a machine id whose device is still live, without proof
// of that device's key (replacement.ts decides when), waits here for an admin or IT. The
// requester holds its would-be key from the start and asks `claim` how the request stands;
// `approve` creates the device and revokes the old one in one batch; `deny` leaves the old one
// untouched. Each step is audited; a request also leaves a clone-suspicion note on the device it
// would replace, and an approved replacement one on the new device.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Logger } from '../log.ts';
import { randomId, sha256Hex } from '../store/records.ts';
import { deviceOps, replacementOps } from '../store/store.ts';
import type { Device, EnrolCode, KvOp, ReplacementRequest, Store } from '../store/types.ts';
import { hashMatches } from './secrets.ts';

export interface DeviceFacts {
  machineId: string;
  hostname: string;
  os: string;
  serial: string;
}

/**
 * `enrolled`: the device exists, use its key. `pending`: a replacement waits for approval; the
 * key is the one the device will have once approved (claim with POST /enrol/claim).
 */
export interface EnrolResult {
  status: 'enrolled' | 'pending';
  deviceId: string;
  /** Absent in a claim answer: the requester already holds it. */
  deviceKey?: string;
  serverUrl: string;
  requestId?: string;
  replaces?: { deviceId: string; hostname: string };
  message?: string;
}

/** Replacement requests one live device may have waiting at once. */
const MAX_PENDING_PER_DEVICE = 3;

export interface ReplacementRequestsOptions {
  store: Store;
  live: LiveHub;
  log: Logger;
  now: () => number;
  audit: AuditFn;
  /** The URL enrolment answers carry (set once the server listens). */
  serverUrl: () => string;
}

export class ReplacementRequests {
  private readonly o: ReplacementRequestsOptions;

  constructor(options: ReplacementRequestsOptions) {
    this.o = options;
  }

  revokedByReplacement(previous: Device, by: string, at: number, reason: string): Device {
    if (previous.revokedAt !== undefined) return { ...previous, replacedBy: by };
    return { ...previous, revokedAt: at, revokedBy: 'system', revokedReason: reason, replacedBy: by };
  }

  /** Under the store lock: records a request for approval; nothing happens to `previous` but a note. */
  async queue(q: {
    kind: Device['kind'];
    facts: DeviceFacts;
    ip: string;
    at: number;
    previous: Device;
    deviceId: string;
    deviceKey: string;
    reasons: string[];
    byod: { acceptance: NonNullable<Device['byod']>; code: EnrolCode } | undefined;
    ops: KvOp[];
    /** The school the credential enrols into (absent: the default school). */
    schoolId?: string;
    attemptHash: string | undefined;
  }): Promise<EnrolResult> {
    const { store } = this.o;
    const waiting = (await store.enrol.listReplacements({ state: 'pending' })).filter(
      (r) => r.replaces === q.previous.id,
    );
    if (waiting.length >= MAX_PENDING_PER_DEVICE)
      throw new CustodianError(
        ErrorCode.CONFLICT,
        `${waiting.length} replacement requests for device ${q.previous.id} are already waiting for approval; ask IT`,
      );
    const request: ReplacementRequest = {
      id: `r_${randomId(12)}`,
      state: 'pending',
      kind: q.kind,
      facts: q.facts,
      ...(q.byod ? { byod: q.byod.acceptance } : {}),
      credential: q.byod ? `code ${q.byod.code.hint}` : 'enrol secret',
      replaces: q.previous.id,
      replacesHostname: q.previous.hostname,
      reasons: q.reasons,
      newDeviceId: q.deviceId,
      keyHash: sha256Hex(q.deviceKey),
      requestedAt: q.at,
      ip: q.ip,
      ...(q.schoolId !== undefined ? { schoolId: q.schoolId } : {}),
      ...(q.attemptHash ? { attemptHash: q.attemptHash } : {}),
    };
    // The live device is left alone; IT sees on it that someone asked to replace it.
    const noted: Device = {
      ...q.previous,
      cloneSuspicion: [
        ...(q.previous.cloneSuspicion ?? []).slice(-19),
        {
          at: q.at,
          reason: `replacement requested (${request.id}) with the ${request.credential} from ${q.ip} as ${q.facts.hostname}: ${q.reasons.join('; ')}`,
        },
      ],
    };
    await store.engine.batch([...replacementOps(request), ...deviceOps(noted, q.previous), ...q.ops], {
      sync: true,
    });
    await this.o.audit(`enrol:${q.ip}`, 'device.replacement.request', `device:${q.previous.id}`, {
      requestId: request.id,
      kind: q.kind,
      hostname: q.facts.hostname,
      credential: request.credential,
      reasons: q.reasons,
      ip: q.ip,
    });
    this.o.log.warn(
      { requestId: request.id, replaces: q.previous.id, ip: q.ip, reasons: q.reasons },
      'replacement enrolment queued for approval',
    );
    this.o.live.emit('device', noted);
    return this.pendingAnswer(request, q.deviceKey);
  }

  /** The 202 answer for a queued request, with the would-be key the requester now holds. */
  pendingAnswer(request: ReplacementRequest, deviceKey: string): EnrolResult {
    return {
      status: 'pending',
      requestId: request.id,
      deviceId: request.newDeviceId,
      deviceKey,
      serverUrl: this.o.serverUrl(),
      replaces: { deviceId: request.replaces, hostname: request.replacesHostname },
      message: `this machine is already enrolled as ${request.replaces} (${request.replacesHostname}), which is still live; an administrator or IT must approve replacing it (request ${request.id})`,
    };
  }

  /** Admin/IT: approve a pending replacement: the new device is created and the old one revoked, in one batch. */
  async approve(id: string, reason: string, actor: string): Promise<ReplacementRequest> {
    // The route's Reason() schema refused a blank one.
    const why = reason.trim();
    const { store } = this.o;
    const out = await store.withLock(async () => {
      const request = await this.pendingRequest(id);
      const previous = await store.devices.get(request.replaces);
      const holder = await store.devices.byMachineId(request.facts.machineId);
      if (!previous || holder?.id !== previous.id)
        throw new CustodianError(
          ErrorCode.CONFLICT,
          `machine id of request ${id} now belongs to ${holder?.id ?? 'no device'}, not ${request.replaces}; deny it and ask for a new enrolment`,
        );
      const at = this.o.now();
      const decided: ReplacementRequest = {
        ...request,
        state: 'approved',
        decidedAt: at,
        decidedBy: actor,
        decisionReason: why,
      };
      const device: Device = {
        id: request.newDeviceId,
        kind: request.kind,
        ...request.facts,
        keyHash: request.keyHash,
        enrolledAt: at,
        ...(request.byod ? { byod: request.byod } : {}),
        ...(request.schoolId !== undefined ? { schoolId: request.schoolId } : {}),
        ...(request.attemptHash ? { enrolAttemptHash: request.attemptHash } : {}),
        replaces: previous.id,
        replacement: { how: 'approval', requestId: id, approvedBy: actor, reason: why },
        cloneSuspicion: [
          {
            at,
            reason: `same machine id as ${previous.id}: replaced on approval by ${actor} (${why}); queued because ${request.reasons.join('; ')}`,
          },
        ],
      };
      // Other requests waiting for the same device can no longer be approved: close them too.
      const superseded = (await store.enrol.listReplacements({ state: 'pending' }))
        .filter((r) => r.replaces === previous.id && r.id !== id)
        .map(
          (r): ReplacementRequest => ({
            ...r,
            state: 'denied',
            decidedAt: at,
            decidedBy: 'system',
            decisionReason: `superseded: request ${id} for the same device was approved`,
          }),
        );
      const revoked = this.revokedByReplacement(
        previous,
        device.id,
        at,
        `replaced by ${device.id} (approved by ${actor}: ${why})`,
      );
      await store.engine.batch(
        [
          ...replacementOps(decided),
          ...superseded.flatMap(replacementOps),
          ...deviceOps(revoked, previous),
          ...deviceOps(device),
        ],
        {
          sync: true,
        },
      );
      return { decided, device, revoked, superseded };
    });
    await this.o.audit(actor, 'device.replacement.approve', `device:${out.revoked.id}`, {
      requestId: id,
      newDeviceId: out.device.id,
      reason: why,
    });
    for (const r of out.superseded)
      await this.o.audit('system', 'device.replacement.deny', `device:${r.replaces}`, {
        requestId: r.id,
        reason: r.decisionReason,
      });
    this.o.log.warn(
      { requestId: id, actor, replaced: out.revoked.id, by: out.device.id },
      'replacement approved',
    );
    this.o.live.emit('device', out.revoked);
    this.o.live.emit('device', out.device);
    return out.decided;
  }

  /** Admin/IT: deny a pending replacement; the live device stays as it is. */
  async deny(id: string, reason: string, actor: string): Promise<ReplacementRequest> {
    // The route's Reason() schema refused a blank one.
    const why = reason.trim();
    const decided = await this.o.store.withLock(async () => {
      const request = await this.pendingRequest(id);
      const next: ReplacementRequest = {
        ...request,
        state: 'denied',
        decidedAt: this.o.now(),
        decidedBy: actor,
        decisionReason: why,
      };
      await this.o.store.engine.batch(replacementOps(next), { sync: true });
      return next;
    });
    await this.o.audit(actor, 'device.replacement.deny', `device:${decided.replaces}`, {
      requestId: id,
      reason: why,
    });
    this.o.log.info({ requestId: id, actor }, 'replacement denied');
    return decided;
  }

  private async pendingRequest(id: string): Promise<ReplacementRequest> {
    const request = await this.o.store.enrol.getReplacement(id);
    if (!request) throw new CustodianError(ErrorCode.NOT_FOUND, `replacement request ${id} not found`);
    if (request.state !== 'pending')
      throw new CustodianError(ErrorCode.CONFLICT, `replacement request ${id} was already ${request.state}`);
    return request;
  }

  /**
   * The requester asks how its queued request stands, proving it with the key it was given.
   * Pending or approved (with the device id) are answers; denied is an error with the reason.
   */
  async claim(body: Record<string, unknown>): Promise<EnrolResult> {
    const id = body['requestId'];
    const key = body['deviceKey'];
    const fail = () => new CustodianError(ErrorCode.AUTH_FAILED, 'unknown request or wrong key');
    if (
      typeof id !== 'string' ||
      !/^[A-Za-z0-9_-]{1,128}$/.test(id) ||
      typeof key !== 'string' ||
      key.length > 256
    )
      throw fail();
    const request = await this.o.store.enrol.getReplacement(id);
    if (!request || !hashMatches(key, request.keyHash)) throw fail();
    if (request.state === 'denied')
      // Not who denied it: the requester is unauthenticated, and staff usernames are not for them.
      throw new CustodianError(
        ErrorCode.ENROL_DENIED,
        `the replacement was denied by IT: ${request.decisionReason}`,
      );
    if (request.state === 'pending')
      return {
        status: 'pending',
        requestId: id,
        deviceId: request.newDeviceId,
        serverUrl: this.o.serverUrl(),
        replaces: { deviceId: request.replaces, hostname: request.replacesHostname },
        message: `waiting for an administrator or IT to approve replacing ${request.replaces} (request ${id})`,
      };
    return { status: 'enrolled', deviceId: request.newDeviceId, serverUrl: this.o.serverUrl() };
  }
}
