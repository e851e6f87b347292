// Enrolment and device identity.
//
// School-owned devices enrol with the organisation secret; BYOD devices with a one-time code
// plus the user's recorded acceptance of the current agreement. Each enrolment gets a fresh
// device id and a 256-bit key; only SHA-256 of the key is stored.
//
// Cloned images: a machine id belongs to one device at a time. Enrolling the same machine id
// again revokes the previous device ("re-enrolled as <new id>"), so a cloned disk that still
// carries the old key is refused with DEVICE_REVOKED from then on. We also record *why* we
// suspect a clone, for IT to look at: (1) the re-enrolment reports another serial number or
// hostname than the previous device with that machine id (a reinstall on the same hardware
// keeps its serial); (2) the previous identity is connected right now while the new one enrols;
// (3) a revoked key keeps trying to connect (counted with the last address); (4) ingest sees two
// sessions of one device with different stream ids replacing each other (ingest/server.ts).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import type { CollectorConfig } from '../config.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Logger } from '../log.ts';
import { K, toJsonBytes } from '../store/keys.ts';
import { randomId, sha256Hex } from '../store/records.ts';
import { deviceOps } from '../store/store.ts';
import type { Device, EnrolCode, KvOp, Store } from '../store/types.ts';
import { AGREEMENT_SHA256, AGREEMENT_VERSION } from './agreement.ts';
import { hashMatches, newEnrolCode, newSecret, normaliseCode } from './secrets.ts';

export interface DeviceFacts {
  machineId: string;
  hostname: string;
  os: string;
  serial: string;
}

export interface EnrolResult {
  deviceId: string;
  deviceKey: string;
  serverUrl: string;
}

export interface EnrolServiceOptions {
  store: Store;
  live: LiveHub;
  log: Logger;
  config: CollectorConfig;
  now: () => number;
  audit: AuditFn;
  /** Is this device connected right now? (set by ingest; used for clone suspicion). */
  isConnected?: (deviceId: string) => { remoteAddress: string } | undefined;
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

function invalid(field: string, message: string): never {
  throw new CustodianError(ErrorCode.INVALID_INPUT, `${field} ${message}`, { details: { field } });
}

/** Device-supplied text: well-formed UTF-16, no control characters, bounded. */
export function deviceText(field: string, value: unknown, min: number, max: number): string {
  if (typeof value !== 'string') invalid(field, 'must be text');
  if (value.length < min || value.length > max) invalid(field, `must be ${min} to ${max} characters`);
  if (!value.isWellFormed()) invalid(field, 'is not valid Unicode text');
  if (/[\u0000-\u001f\u007f]/.test(value)) invalid(field, 'must not contain control characters');
  return value;
}

export function parseFacts(body: Record<string, unknown>): DeviceFacts {
  return {
    machineId: deviceText('machineId', body['machineId'], 1, 256),
    hostname: deviceText('hostname', body['hostname'], 1, 255),
    os: deviceText('os', body['os'], 1, 64),
    serial: deviceText('serial', body['serial'] ?? '', 0, 128),
  };
}

export class EnrolService {
  private readonly o: EnrolServiceOptions;
  private serverUrl = '';
  isConnected: EnrolServiceOptions['isConnected'];

  constructor(options: EnrolServiceOptions) {
    this.o = options;
    this.isConnected = options.isConnected;
  }

  setServerUrl(url: string): void {
    this.serverUrl = url;
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
    return out;
  }

  async rotateSecret(actor: string): Promise<string> {
    const secret = newSecret();
    await this.o.store.enrol.setSecretHash(sha256Hex(secret));
    await this.o.audit(actor, 'enrol.secret.rotate', 'enrol:secret');
    this.o.log.info({ actor }, 'enrol secret rotated');
    return secret;
  }

  async createCode(input: {
    ttlHours?: number;
    note?: string;
    actor: string;
  }): Promise<{ code: string; expiresAt: number; hint: string }> {
    const ttl = input.ttlHours ?? this.o.config.enrol.codeTtlHoursDefault;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 24 * 90)
      invalid('ttlHours', 'must be a whole number of hours from 1 to 2160');
    const note = input.note === undefined ? '' : deviceText('note', input.note, 0, 200);
    const code = newEnrolCode();
    const record: EnrolCode = {
      codeHash: sha256Hex(normaliseCode(code)),
      hint: code.slice(0, 4),
      createdAt: this.o.now(),
      createdBy: input.actor,
      expiresAt: this.o.now() + ttl * 3_600_000,
      note,
    };
    await this.o.store.enrol.putCode(record);
    await this.o.audit(input.actor, 'enrol.code.create', `enrol-code:${record.hint}`, {
      expiresAt: record.expiresAt,
      note,
    });
    return { code, expiresAt: record.expiresAt, hint: record.hint };
  }

  async enrolSchool(body: Record<string, unknown>, ip: string): Promise<EnrolResult> {
    const secret = body['secret'];
    const facts = parseFacts(body);
    if (typeof secret !== 'string' || !hashMatches(secret, await this.o.store.enrol.getSecretHash())) {
      this.o.log.warn(
        { code: ErrorCode.BAD_ENROL_SECRET, ip, hostname: facts.hostname },
        'enrolment refused: wrong enrol secret',
      );
      throw new CustodianError(ErrorCode.BAD_ENROL_SECRET, 'the enrol secret is not valid');
    }
    return this.o.store.withLock(() => this.createDevice('school', facts, ip));
  }

  async enrolByod(body: Record<string, unknown>, ip: string): Promise<EnrolResult> {
    const facts = parseFacts(body);
    const userName = deviceText('userName', body['userName'], 1, 200);
    if (typeof body['code'] !== 'string' || body['code'].length > 64)
      invalid('code', 'must be the enrolment code');
    if (
      body['acceptAgreement'] !== true ||
      body['agreementVersion'] !== AGREEMENT_VERSION ||
      body['agreementSha256'] !== AGREEMENT_SHA256
    ) {
      throw new CustodianError(
        ErrorCode.AGREEMENT_NOT_ACCEPTED,
        `accept the current BYOD agreement (version ${AGREEMENT_VERSION}, GET /api/v1/agreement): send acceptAgreement true with its version and sha256`,
      );
    }
    const codeHash = sha256Hex(normaliseCode(body['code']));
    return this.o.store.withLock(async () => {
      const code = await this.o.store.enrol.getCode(codeHash);
      const refuse = (why: string) => {
        this.o.log.warn({ code: ErrorCode.BAD_ENROL_CODE, ip, why }, 'BYOD enrolment refused');
        return new CustodianError(ErrorCode.BAD_ENROL_CODE, `the enrolment code ${why}`);
      };
      if (!code) throw refuse('is not valid');
      if (code.usedAt !== undefined) throw refuse('has already been used');
      if (code.expiresAt <= this.o.now()) throw refuse('has expired');
      const at = this.o.now();
      return this.createDevice('byod', facts, ip, {
        acceptance: {
          userName,
          agreementVersion: AGREEMENT_VERSION,
          agreementSha256: AGREEMENT_SHA256,
          acceptedAt: at,
          codeHash,
        },
        code,
      });
    });
  }

  /** Must run under store.withLock. */
  private async createDevice(
    kind: Device['kind'],
    facts: DeviceFacts,
    ip: string,
    byod?: { acceptance: NonNullable<Device['byod']>; code: EnrolCode },
  ): Promise<EnrolResult> {
    const { store, now } = this.o;
    const at = now();
    const previous = await store.devices.byMachineId(facts.machineId);
    const deviceKey = newSecret();
    const device: Device = {
      id: `d_${randomId(12)}`,
      kind,
      ...facts,
      keyHash: sha256Hex(deviceKey),
      enrolledAt: at,
      ...(byod ? { byod: byod.acceptance } : {}),
    };
    const ops: KvOp[] = [];
    let revoked: Device | undefined;
    if (previous) {
      device.replaces = previous.id;
      const reasons: string[] = [];
      if (previous.serial !== '' && facts.serial !== '' && previous.serial !== facts.serial) {
        reasons.push(`serial ${facts.serial} differs from ${previous.serial} of ${previous.id}`);
      }
      if (previous.hostname !== facts.hostname)
        reasons.push(`hostname ${facts.hostname} differs from ${previous.hostname} of ${previous.id}`);
      const online = previous.revokedAt === undefined ? this.isConnected?.(previous.id) : undefined;
      if (online) reasons.push(`${previous.id} is connected right now from ${online.remoteAddress}`);
      if (reasons.length > 0) {
        device.cloneSuspicion = [{ at, reason: `same machine id as ${previous.id}: ${reasons.join('; ')}` }];
        this.o.log.warn(
          { deviceId: device.id, previous: previous.id, reasons },
          'possible cloned image: machine id re-enrolled',
        );
      }
      if (previous.revokedAt === undefined) {
        revoked = {
          ...previous,
          revokedAt: at,
          revokedBy: 'system',
          revokedReason: `re-enrolled as ${device.id} (same machine id)`,
          replacedBy: device.id,
        };
        ops.push(...deviceOps(revoked, previous));
      }
    }
    ops.push(...deviceOps(device));
    if (byod) {
      const used: EnrolCode = { ...byod.code, usedAt: at, usedByDevice: device.id };
      ops.push({ type: 'put', key: K.enrolCode(used.codeHash), value: toJsonBytes(used) });
    }
    await store.engine.batch(ops, { sync: true });
    await this.o.audit(`device:${device.id}`, 'device.enrol', `device:${device.id}`, {
      kind,
      hostname: facts.hostname,
      ip,
      ...(previous ? { replaces: previous.id } : {}),
      ...(byod
        ? {
            userName: byod.acceptance.userName,
            agreementVersion: AGREEMENT_VERSION,
            codeHint: byod.code.hint,
          }
        : {}),
    });
    this.o.log.info(
      { deviceId: device.id, kind, hostname: facts.hostname, replaces: previous?.id },
      'device enrolled',
    );
    if (revoked) this.o.live.emit('device', revoked);
    this.o.live.emit('device', device);
    return { deviceId: device.id, deviceKey, serverUrl: this.serverUrl };
  }

  async revoke(deviceId: string, reason: string, actor: string): Promise<Device> {
    const why = deviceText('reason', reason, 1, 500);
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
