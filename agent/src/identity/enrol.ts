// Enrolment (issue 4 §1). School-owned devices use the organisation's enrol secret; BYOD
// devices use a one-time code, and only after the person has read the agreement fetched from
// the collector and accepted it explicitly (flag or a typed "yes").
//
// When this machine id already belongs to a live device and no proof of its key is sent (a
// reinstall that lost the old credentials), the collector queues the enrolment for an admin or
// IT to approve and answers with the would-be credentials (HTTP 202). They are kept in
// pending-enrolment.json, not credentials.json: running `enrol` again, or the service waiting
// for enrolment, asks POST /enrol/claim how the request stands and saves the credentials once
// it is approved.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { CustodianError, ErrorCode, type ErrorCodeValue, isCustodianError } from '@custodian/protocol';
import type { AgentLogger } from '../core/contracts.ts';
import { type CollectorTrust, classifyServerUrl, trustFromCaPem } from '../link/transport.ts';
import { collectorRequest } from './collector-http.ts';
import {
  beginAttempt,
  type Credentials,
  endAttempt,
  loadCredentials,
  loadPending,
  type PendingEnrolment,
  removePending,
  saveCredentials,
  savePending,
} from './credentials.ts';
import { readMachineId } from './machine-id.ts';

export interface EnrolOptions {
  server: string;
  dataDir: string;
  /**
   * Re-enrol a device that is enrolled now: its current key is sent as proof, so the collector
   * replaces the old identity at once instead of queueing the request for approval.
   */
  replace?: boolean;
  secret?: string;
  code?: string;
  /** BYOD: the person's name, recorded with the acceptance. */
  name?: string;
  acceptAgreement?: boolean;
  /** Allow plain http to a collector that is not on this machine (recorded on the device). */
  insecure?: boolean;
  /** Pin this CA (PEM file) instead of the one that vouches for the collector at first use. */
  caFile?: string;
  /** Shows the agreement and asks for a typed "yes" (CLI: stdin). */
  confirm: (question: string) => Promise<boolean>;
  print: (text: string) => void;
  log: AgentLogger;
  serial?: () => Promise<string>;
  machineId?: () => Promise<string>;
}

export interface Agreement {
  version: string;
  sha256: string;
  text: string;
}

const TIMEOUT_MS = 15_000;

/** `pending`: the collector queued a replacement for approval (pending-enrolment.json holds the claim). */
export type EnrolOutcome =
  | { status: 'enrolled'; creds: Credentials }
  | { status: 'pending'; pending: PendingEnrolment };

export async function enrol(options: EnrolOptions): Promise<EnrolOutcome> {
  const server = normaliseServer(options.server);
  // A request already waiting for approval: running the same command again asks how it stands.
  const waiting = await loadPending(options.dataDir);
  if (waiting) return claimPending(options.dataDir, options.log);
  if ((options.secret === undefined) === (options.code === undefined))
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      'give either --secret (school device) or --code (BYOD)',
    );
  if (options.code !== undefined && !options.name?.trim())
    throw new CustodianError(ErrorCode.INVALID_INPUT, 'BYOD enrolment needs --name (your name)');
  const existing = await loadCredentials(options.dataDir).catch(() => undefined);
  if (existing && !options.replace)
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      `already enrolled as ${existing.deviceId} with ${existing.serverUrl}; run \`custodian-agent unenrol\` first, or enrol again with --replace to replace this identity (its key is the proof)`,
    );
  // The key proves the identity only to the collector that issued it: never send it elsewhere.
  if (existing && normaliseServer(existing.serverUrl) !== server)
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      `--replace proves this identity to the collector it is enrolled with (${existing.serverUrl}), not to ${server}; run \`custodian-agent unenrol\` first to enrol with another collector`,
    );
  const proof = existing
    ? { previousDeviceId: existing.deviceId, previousDeviceKey: existing.deviceKey }
    : {};
  const transport = classifyServerUrl(new URL(server), options.insecure === true);
  if (options.caFile !== undefined && transport !== 'https')
    throw new CustodianError(ErrorCode.INVALID_INPUT, '--ca needs an https:// server');
  // --replace keeps talking to the collector it is enrolled with under the CA pinned then.
  const link: Channel = {
    trust:
      options.caFile === undefined
        ? existing?.tls
        : trustFromCaPem(await readCaFile(options.caFile), `--ca ${options.caFile}`),
  };
  if (transport === 'insecure-http')
    options.log.warn(
      'enrolling over plain http (--insecure): the device key crosses the network unencrypted',
      {
        server,
      },
    );

  const machineId = await (options.machineId ?? readMachineId)();
  // Kept until the answer is saved: a retry after a crash of either side is the same attempt.
  const attempt = await beginAttempt(options.dataDir, server, existing?.deviceId);
  const base = {
    machineId,
    hostname: hostname(),
    os: process.platform,
    serial: options.serial ? await options.serial() : '',
    enrolAttempt: attempt.id,
    ...proof,
  };
  let body: Record<string, unknown>;
  let agreementVersion: string | undefined;
  if (options.secret !== undefined) {
    body = { ...base, secret: options.secret };
  } else {
    const agreement = await fetchAgreement(server, link);
    options.print(`\nBYOD acceptable use agreement (version ${agreement.version}):\n\n${agreement.text}\n`);
    const accepted =
      options.acceptAgreement === true ||
      (await options.confirm('Type "yes" to accept this agreement and enrol this device: '));
    if (!accepted)
      throw new CustodianError(
        ErrorCode.AGREEMENT_NOT_ACCEPTED,
        'the agreement was not accepted; nothing was sent',
      );
    agreementVersion = agreement.version;
    body = {
      ...base,
      code: options.code,
      userName: options.name!.trim(),
      acceptAgreement: true,
      agreementVersion: agreement.version,
      agreementSha256: agreement.sha256,
    };
  }
  const res = await postJson(`${server}/api/v1/enrol`, body, link);
  if (transport === 'https' && !link.trust)
    // Node verified the chain, so it ends at a trusted root; not finding it is a bug, and
    // enrolling without a pin would quietly trust every CA on this machine from now on.
    throw new CustodianError(
      ErrorCode.TLS_UNTRUSTED,
      'the collector was verified but its CA could not be recorded for pinning; enrol with --ca FILE',
    );
  const deviceId = res['deviceId'];
  const deviceKey = res['deviceKey'];
  if (typeof deviceId !== 'string' || typeof deviceKey !== 'string' || !deviceId || !deviceKey)
    throw new CustodianError(
      ErrorCode.UNEXPECTED_MESSAGE,
      'the collector answered enrolment without deviceId/deviceKey',
    );
  const creds: Credentials = {
    deviceId,
    deviceKey,
    // The URL that just worked, not the one the collector advertises (it may not see itself
    // as this device does, e.g. behind NAT).
    serverUrl: server,
    enrolledAt: new Date().toISOString(),
    kind: options.secret !== undefined ? 'secret' : 'byod',
    ...(agreementVersion !== undefined ? { agreementVersion } : {}),
    ...(link.trust ? { tls: link.trust } : {}),
    ...(transport === 'insecure-http' ? { insecure: true } : {}),
  };
  if (res['status'] === 'pending') {
    const replaces = (res['replaces'] ?? {}) as { deviceId?: string; hostname?: string };
    const pending: PendingEnrolment = {
      requestId: String(res['requestId'] ?? ''),
      credentials: creds,
      replaces: { deviceId: String(replaces.deviceId ?? ''), hostname: String(replaces.hostname ?? '') },
      requestedAt: creds.enrolledAt,
    };
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(pending.requestId))
      throw new CustodianError(
        ErrorCode.UNEXPECTED_MESSAGE,
        'the collector queued enrolment without a request id',
      );
    await savePending(options.dataDir, pending);
    await endAttempt(options.dataDir);
    options.log.warn('enrolment waits for approval', {
      requestId: pending.requestId,
      replaces: pending.replaces.deviceId,
    });
    return { status: 'pending', pending };
  }
  await saveCredentials(options.dataDir, creds);
  await endAttempt(options.dataDir);
  options.log.info('enrolled', {
    deviceId,
    server,
    kind: creds.kind,
    replaced: existing?.deviceId,
    transport,
    ...(link.trust ? { pinnedCa: link.trust.subject, pinnedCaSha256: link.trust.fingerprint256 } : {}),
  });
  return { status: 'enrolled', creds };
}

/**
 * Asks the collector how a queued replacement stands (the key it gave is the proof). Approved:
 * the credentials are saved and the claim removed. Denied: the claim is removed and the
 * refusal thrown (CUST_ERR_ENROL_DENIED with who and why). Still pending: unchanged.
 */
export async function claimPending(dataDir: string, log: AgentLogger): Promise<EnrolOutcome> {
  const pending = await loadPending(dataDir);
  if (!pending) throw new CustodianError(ErrorCode.NOT_FOUND, 'no enrolment is waiting for approval');
  let res: Record<string, unknown>;
  try {
    // The claim goes to the collector that queued it, under the CA pinned when it was queued.
    res = await postJson(
      `${pending.credentials.serverUrl}/api/v1/enrol/claim`,
      { requestId: pending.requestId, deviceKey: pending.credentials.deviceKey },
      { trust: pending.credentials.tls },
    );
  } catch (err) {
    if (isCustodianError(err, ErrorCode.ENROL_DENIED) || isCustodianError(err, ErrorCode.AUTH_FAILED)) {
      await removePending(dataDir);
      log.error('enrolment request refused', { requestId: pending.requestId, error: (err as Error).message });
    }
    throw err;
  }
  if (res['status'] !== 'enrolled') return { status: 'pending', pending };
  if (res['deviceId'] !== pending.credentials.deviceId)
    throw new CustodianError(
      ErrorCode.UNEXPECTED_MESSAGE,
      'the collector approved another device id than it promised',
    );
  const creds: Credentials = { ...pending.credentials, enrolledAt: new Date().toISOString() };
  await saveCredentials(dataDir, creds);
  await removePending(dataDir);
  log.info('enrolment approved', { deviceId: creds.deviceId, requestId: pending.requestId });
  return { status: 'enrolled', creds };
}

/** The trust of this enrolment: the --ca pin, or the root the first https answer chained to. */
interface Channel {
  trust: CollectorTrust | undefined;
}

async function readCaFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CustodianError(ErrorCode.INVALID_INPUT, `--ca ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function fetchAgreement(
  server: string,
  link: Channel = { trust: undefined },
): Promise<Agreement> {
  const res = await request(`${normaliseServer(server)}/api/v1/agreement`, { method: 'GET' }, link);
  const { version, sha256, text } = res as Partial<Agreement>;
  if (typeof text !== 'string' || typeof version !== 'string' || typeof sha256 !== 'string')
    throw new CustodianError(ErrorCode.UNEXPECTED_MESSAGE, 'the collector sent no agreement text');
  if (createHash('sha256').update(text).digest('hex') !== sha256.toLowerCase())
    throw new CustodianError(ErrorCode.UNEXPECTED_MESSAGE, 'the agreement text does not match its SHA-256');
  return { version, sha256, text };
}

function normaliseServer(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      `--server must be a URL like https://custodian.school.uk (got ${server})`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CustodianError(ErrorCode.INVALID_INPUT, '--server must be an https URL');
  return url.toString().replace(/\/+$/, '');
}

async function postJson(url: string, body: unknown, link: Channel): Promise<Record<string, unknown>> {
  return request(url, { method: 'POST', body: JSON.stringify(body) }, link);
}

async function request(
  url: string,
  init: { method: 'GET' | 'POST'; body?: string },
  link: Channel,
): Promise<Record<string, unknown>> {
  const res = await collectorRequest(url, { ...init, timeoutMs: TIMEOUT_MS }, link.trust);
  // Trust on first use: later requests of this enrolment, and every connection after it, trust
  // only the root that vouched for the collector now.
  link.trust ??= res.verifiedRoot;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    throw new CustodianError(
      ErrorCode.UNEXPECTED_MESSAGE,
      `the collector answered HTTP ${res.status} without JSON`,
    );
  }
  if (res.status < 200 || res.status > 299) {
    const e = (json['error'] ?? {}) as { code?: string; message?: string };
    const known = Object.values(ErrorCode).includes(e.code as ErrorCodeValue);
    throw new CustodianError(
      known ? (e.code as ErrorCodeValue) : ErrorCode.COMMAND_FAILED,
      `enrolment refused (HTTP ${res.status}): ${e.message ?? 'no reason given'}`,
    );
  }
  return json;
}
