// The device's credentials from enrolment. Stored owner-only (0600 in a 0700 dir); the key is
// a secret: it is never logged and never printed by `status`.
import { chmod, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { ensurePrivateDir, readIfExists, writeFileAtomic } from '../config/files.ts';
import { dataPaths } from '../config/paths.ts';
import type { CollectorTrust } from '../link/transport.ts';

export interface Credentials {
  deviceId: string;
  deviceKey: string;
  serverUrl: string;
  enrolledAt: string;
  /** "secret" (school-owned) or "byod". */
  kind: 'secret' | 'byod';
  agreementVersion?: string;
  /** https: the CA pinned at enrolment; every later connection trusts it alone. */
  tls?: CollectorTrust;
  /** Enrolled with --insecure over plain http (reported to the collector as a warning). */
  insecure?: boolean;
}

export async function saveCredentials(dataDir: string, creds: Credentials): Promise<void> {
  await ensurePrivateDir(dataDir);
  const path = dataPaths(dataDir).credentials;
  await writeFileAtomic(path, JSON.stringify(creds, null, 2));
  await chmod(path, 0o600);
}

export async function loadCredentials(dataDir: string): Promise<Credentials | undefined> {
  const path = dataPaths(dataDir).credentials;
  const text = await readIfExists(path);
  if (text === undefined) return undefined;
  if (process.platform !== 'win32') {
    // Someone loosened the permissions: tighten them again rather than run with a readable key.
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077) await chmod(path, 0o600);
  }
  let parsed: Partial<Credentials>;
  try {
    parsed = JSON.parse(text) as Partial<Credentials>;
  } catch (err) {
    throw new CustodianError(ErrorCode.INVALID_CONFIG, `${path} is not valid JSON; enrol again`, {
      cause: err,
    });
  }
  if (!parsed.deviceId || !parsed.deviceKey || !parsed.serverUrl)
    throw new CustodianError(ErrorCode.INVALID_CONFIG, `${path} is incomplete; enrol again`);
  return parsed as Credentials;
}

export async function removeCredentials(dataDir: string): Promise<boolean> {
  const path = dataPaths(dataDir).credentials;
  const existed = (await readIfExists(path)) !== undefined;
  await rm(path, { force: true });
  return existed;
}

/** A replacement enrolment waiting for approval: the credentials the device will have once approved. */
export interface PendingEnrolment {
  requestId: string;
  credentials: Credentials;
  replaces: { deviceId: string; hostname: string };
  requestedAt: string;
}

const pendingPath = (dataDir: string) => join(dataDir, 'pending-enrolment.json');

export async function savePending(dataDir: string, pending: PendingEnrolment): Promise<void> {
  await ensurePrivateDir(dataDir);
  await writeFileAtomic(pendingPath(dataDir), JSON.stringify(pending, null, 2));
  await chmod(pendingPath(dataDir), 0o600);
}

export async function loadPending(dataDir: string): Promise<PendingEnrolment | undefined> {
  const text = await readIfExists(pendingPath(dataDir));
  if (text === undefined) return undefined;
  try {
    const p = JSON.parse(text) as PendingEnrolment;
    if (p.requestId && p.credentials?.deviceKey && p.credentials.serverUrl) return p;
  } catch {
    // fall through
  }
  throw new CustodianError(
    ErrorCode.INVALID_CONFIG,
    `${pendingPath(dataDir)} is not a valid pending enrolment; remove it and enrol again`,
  );
}

export async function removePending(dataDir: string): Promise<void> {
  await rm(pendingPath(dataDir), { force: true });
}
