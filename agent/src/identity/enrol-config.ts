// Enrolment from a file an installer wrote (the .deb's /etc/custodian-agent/enrol.conf): IT pushes
// the package with the server URL and the organisation's enrol secret, and the service enrols at
// its first start, then deletes the file so the secret does not stay on the disk. The same names as
// the MSI's properties (SERVER, ENROL_SECRET). Only a regular file that only its owner (root, when
// we are root) can read or write is trusted: a file others could write would let them point the
// device at their own server.
import { lstat, readFile, rm } from 'node:fs/promises';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AgentLogger } from '../core/contracts.ts';
import { loadCredentials } from './credentials.ts';
import { type EnrolOptions, enrol } from './enrol.ts';

export interface EnrolConfig {
  server: string;
  secret: string;
}

const KEYS = { SERVER: 'server', ENROL_SECRET: 'secret' } as const;

/** `KEY=value` lines, `#` comments; exactly SERVER and ENROL_SECRET (pure). */
export function parseEnrolConfig(text: string): EnrolConfig {
  const found: Partial<EnrolConfig> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!(key in KEYS))
      throw new CustodianError(
        ErrorCode.INVALID_CONFIG,
        `enrol config line ${i + 1}: expected SERVER= or ENROL_SECRET=`,
      );
    const value = line
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (value === '')
      throw new CustodianError(ErrorCode.INVALID_CONFIG, `enrol config line ${i + 1}: ${key} is empty`);
    found[KEYS[key as keyof typeof KEYS]] = value;
  }
  if (!found.server || !found.secret)
    throw new CustodianError(ErrorCode.INVALID_CONFIG, 'enrol config needs both SERVER and ENROL_SECRET');
  return { server: found.server, secret: found.secret };
}

export type EnrolConfigOutcome = 'no-file' | 'enrolled' | 'already-enrolled';

/**
 * Enrols from `file` when it exists, then removes it. Already enrolled: the file is removed unread.
 * Throws (and keeps the file, for the next start) when the file is not trustworthy or enrolment fails.
 */
export async function enrolFromConfig(
  file: string,
  dataDir: string,
  log: AgentLogger,
  doEnrol: (o: EnrolOptions) => Promise<unknown> = enrol,
): Promise<EnrolConfigOutcome> {
  const st = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) return 'no-file';
  if (await loadCredentials(dataDir).catch(() => undefined)) {
    await rm(file, { force: true });
    log.info('already enrolled; removed the installer enrol config unread', { file });
    return 'already-enrolled';
  }
  const uid = process.getuid?.();
  if (!st.isFile() || (st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid))
    throw new CustodianError(
      ErrorCode.FORBIDDEN,
      `refusing enrol config ${file}: it must be a regular file owned by this user with mode 0600`,
    );
  const config = parseEnrolConfig(await readFile(file, 'utf8'));
  await doEnrol({
    server: config.server,
    secret: config.secret,
    dataDir,
    confirm: async () => false,
    print: () => {},
    log,
  });
  await rm(file, { force: true });
  log.info('enrolled from the installer enrol config and removed it', { file, server: config.server });
  return 'enrolled';
}
