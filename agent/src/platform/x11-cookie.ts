// Hands the session's user a copy of the X server's cookie, read by root only from the server's
// own `-auth` file and written where only root can create files.
//
// Why a copy: a display manager's Xorg keeps its -auth file root-only (lightdm:
// /var/run/lightdm/root/:0, 0600), and every X helper now runs as the session's user, who
// cannot read it. Why this layout:
//   <runtimeDir>/            root:root 0755   (default /run/custodian)
//   <runtimeDir>/x11-<uid>/  root:root 0711   the user may open a file whose name they know,
//                                             but can neither list, create, rename nor delete
//   .../display-<N>.xauth    <uid>:<gid> 0400 only the user (and root) can read it
// A directory owned by the user (the obvious design) would let the user plant a symlink or a
// FIFO under the name root is about to write; here nothing in the path is the user's but the
// final file, which root writes through a fresh O_EXCL temporary and renames into place.
// The source file is trusted only when it is a regular root-owned file that is not a symlink
// and is not writable by group or others (it is named by a root-owned X server's command line).
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { cookiesForDisplay, MAX_XAUTH_BYTES, parseXauthority, serializeXauthority } from './x11-auth.ts';

export const DEFAULT_RUNTIME_DIR = '/run/custodian';

function refuse(message: string): CustodianError {
  return new CustodianError(ErrorCode.UNAVAILABLE, message);
}

/** Reads a root-owned cookie file without following links or blocking on special files. */
export async function readRootCookieFile(path: string): Promise<Buffer> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) throw refuse(`X server auth file ${path} does not exist`);
  if (!st.isFile()) throw refuse(`X server auth file ${path} is not a regular file`);
  if (st.uid !== 0) throw refuse(`X server auth file ${path} is not owned by root`);
  if (st.mode & 0o022) throw refuse(`X server auth file ${path} is writable by others`);
  if (st.size > MAX_XAUTH_BYTES) throw refuse(`X server auth file ${path} is too large`);
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const again = await fh.stat();
    if (!again.isFile() || again.ino !== st.ino || again.uid !== 0)
      throw refuse(`X server auth file ${path} changed while it was read`);
    const buf = Buffer.alloc(Math.min(MAX_XAUTH_BYTES, again.size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Makes `dir` (root-owned, given mode) or checks an existing one is exactly that. */
async function rootDir(dir: string, mode: number): Promise<void> {
  await mkdir(dir, { mode }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  if (!st.isDirectory() || st.uid !== 0)
    throw refuse(`${dir} is not a root-owned directory: refusing to put a cookie there`);
  if ((st.mode & 0o7777) !== mode) await chmod(dir, mode);
}

export interface CookieCopy {
  /** Where the user's helpers find the cookie (XAUTHORITY). */
  path: string;
}

/**
 * Copies the cookies for display N from the server's root-owned auth file to a file only the
 * user can read; rejects (UNAVAILABLE) when the file is not trustworthy or holds no cookie.
 */
export async function copyServerCookie(opts: {
  authFile: string;
  display: number;
  uid: number;
  gid: number;
  runtimeDir?: string;
}): Promise<CookieCopy> {
  const raw = await readRootCookieFile(opts.authFile);
  let entries: ReturnType<typeof parseXauthority>;
  try {
    entries = cookiesForDisplay(parseXauthority(raw), opts.display);
  } catch (err) {
    throw refuse(`X server auth file ${opts.authFile}: ${(err as Error).message}`);
  }
  if (entries.length === 0)
    throw refuse(`X server auth file ${opts.authFile} has no cookie for :${opts.display}`);
  const base = opts.runtimeDir ?? DEFAULT_RUNTIME_DIR;
  await rootDir(base, 0o755);
  const dir = join(base, `x11-${opts.uid}`);
  await rootDir(dir, 0o711);
  const path = join(dir, `display-${opts.display}.xauth`);
  const tmp = join(dir, `.display-${opts.display}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await fh.writeFile(serializeXauthority(entries));
    await fh.chown(opts.uid, opts.gid);
    await fh.chmod(0o400);
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return { path };
}
