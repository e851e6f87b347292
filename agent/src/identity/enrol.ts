// Enrolment (issue 4 §1). School-owned devices use the organisation's enrol secret; BYOD
// devices use a one-time code, and only after the person has read the agreement fetched from
// the collector and accepted it explicitly (flag or a typed "yes").
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { CustodianError, ErrorCode, type ErrorCodeValue } from '@custodian/protocol';
import type { AgentLogger } from '../core/contracts.ts';
import { type CollectorTrust, classifyServerUrl, trustFromCaPem } from '../link/transport.ts';
import { collectorRequest } from './collector-http.ts';
import { type Credentials, loadCredentials, saveCredentials } from './credentials.ts';
import { readMachineId } from './machine-id.ts';

export interface EnrolOptions {
  server: string;
  dataDir: string;
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

export async function enrol(options: EnrolOptions): Promise<Credentials> {
  const server = normaliseServer(options.server);
  const transport = classifyServerUrl(new URL(server), options.insecure === true);
  if (options.caFile !== undefined && transport !== 'https')
    throw new CustodianError(ErrorCode.INVALID_INPUT, '--ca needs an https:// server');
  const link: Channel = {
    trust:
      options.caFile === undefined
        ? undefined
        : trustFromCaPem(await readCaFile(options.caFile), `--ca ${options.caFile}`),
  };
  if (transport === 'insecure-http')
    options.log.warn(
      'enrolling over plain http (--insecure): the device key crosses the network unencrypted',
      {
        server,
      },
    );
  if ((options.secret === undefined) === (options.code === undefined))
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      'give either --secret (school device) or --code (BYOD)',
    );
  if (options.code !== undefined && !options.name?.trim())
    throw new CustodianError(ErrorCode.INVALID_INPUT, 'BYOD enrolment needs --name (your name)');
  const existing = await loadCredentials(options.dataDir).catch(() => undefined);
  if (existing)
    throw new CustodianError(
      ErrorCode.INVALID_INPUT,
      `already enrolled as ${existing.deviceId} with ${existing.serverUrl}; run \`custodian-agent unenrol\` first`,
    );

  const machineId = await (options.machineId ?? readMachineId)();
  const base = {
    machineId,
    hostname: hostname(),
    os: process.platform,
    serial: options.serial ? await options.serial() : '',
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
  await saveCredentials(options.dataDir, creds);
  options.log.info('enrolled', {
    deviceId,
    server,
    kind: creds.kind,
    transport,
    ...(link.trust ? { pinnedCa: link.trust.subject, pinnedCaSha256: link.trust.fingerprint256 } : {}),
  });
  return creds;
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
