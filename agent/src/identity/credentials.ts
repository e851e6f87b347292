// The device's credentials from enrolment. Stored owner-only (0600 in a 0700 dir); the key is
// a secret: it is never logged and never printed by `status`.
import { randomBytes } from 'node:crypto';
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

/**
 * An enrolment in progress: a random id sent with POST /enrol, written before the request and
 * removed once its answer is saved. Killed in between (either side), the next `enrol` sends the
 * same id and the collector answers with the device (or request) this attempt already created,
 * instead of a second one that would wait for approval or find the BYOD code spent.
 */
export interface EnrolAttempt {
  id: string;
  server: string;
  /** The device id this attempt replaces (--replace), or null for a first enrolment. */
  replacing: string | null;
  startedAt: string;
}

const attemptPath = (dataDir: string) => join(dataDir, 'enrol-attempt.json');

/**
 * The attempt left by an enrolment that did not finish (same server, replacing the same device),
 * else a new one, saved. An attempt that did finish but was killed before its file was removed
 * is not reused: the credentials it saved name another device than the one it replaced.
 */
export async function beginAttempt(
  dataDir: string,
  server: string,
  replacing: string | undefined,
): Promise<EnrolAttempt> {
  const text = await readIfExists(attemptPath(dataDir));
  if (text !== undefined) {
    try {
      const a = JSON.parse(text) as Partial<EnrolAttempt>;
      if (
        typeof a.id === 'string' &&
        /^[A-Za-z0-9_-]{16,256}$/.test(a.id) &&
        a.server === server &&
        a.replacing === (replacing ?? null)
      )
        return a as EnrolAttempt;
    } catch {
      // unreadable (torn by a crash before the rename cannot happen; hand-edited): a new attempt
    }
  }
  const attempt: EnrolAttempt = {
    id: randomBytes(32).toString('base64url'),
    server,
    replacing: replacing ?? null,
    startedAt: new Date().toISOString(),
  };
  await ensurePrivateDir(dataDir);
  await writeFileAtomic(attemptPath(dataDir), JSON.stringify(attempt, null, 2));
  await chmod(attemptPath(dataDir), 0o600);
  return attempt;
}

export async function endAttempt(dataDir: string): Promise<void> {
  await rm(attemptPath(dataDir), { force: true });
}
