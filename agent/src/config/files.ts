// Small durable files in the data dir: write to a temp file, fsync, rename (never half a file).
import { chmod, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Windows: folders this process has already left to SYSTEM and Administrators. */
const restricted = new Set<string>();

/**
 * The data dir, readable by the agent's account only: mode 0700 on Linux and macOS; on Windows (where
 * modes mean nothing) an ACL of SYSTEM and Administrators (platform/private-dir.win32.ts). Throws when
 * it cannot be made so, before anything is written into it.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') {
    // One icacls per folder and process (start-up and enrolment ask several times).
    if (restricted.has(dir)) return;
    await (await import('../platform/private-dir.win32.ts')).restrictToSystem(dir);
    restricted.add(dir);
    return;
  }
  // mkdir's mode is ignored for a dir that already exists (and is masked by umask).
  await chmod(dir, 0o700);
}

export async function writeFileAtomic(
  path: string,
  data: string,
  options: { sync?: boolean } = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    if (options.sync !== false) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** The file's text, or undefined when it does not exist (any other error is thrown). */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
