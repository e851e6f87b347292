// Gathers the evidence for decideX11Locked() (x11-lock-decision.ts): one short X connection
// (x11-wire.ts) for the top window and its creating process, then /proc for that process.
import { constants } from 'node:fs';
import { lstat, open, readFile, readlink, stat } from 'node:fs/promises';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { type RunAs, run } from './exec.ts';
import {
  cookiesForDisplay,
  localDisplayNumber,
  MAX_XAUTH_BYTES,
  parseXauthority,
  type XauthEntry,
} from './x11-auth.ts';
import { DEFAULT_RUNTIME_DIR } from './x11-cookie.ts';
import type { OwnLocker, ProcessFacts, X11LockEvidence, X11TopWindow } from './x11-lock-decision.ts';
import { MAP_STATE_VIEWABLE, XConnection } from './x11-wire.ts';

/** A file the agent itself made or was handed by its own environment: read without following links. */
async function readOwnFile(path: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.size > MAX_XAUTH_BYTES)
      throw new CustodianError(ErrorCode.UNAVAILABLE, `${path} is not a cookie file`);
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * The cookie for the session's display. Root reads only files it is allowed to trust: its own
 * environment's (no runAs) or its copy under the runtime directory (x11-cookie.ts). Any other
 * path (a rootless X server's own -auth file) is read BY THE USER (base64 through setpriv).
 */
export async function sessionCookie(
  env: NodeJS.ProcessEnv,
  runAs: RunAs | undefined,
  runtimeDir = DEFAULT_RUNTIME_DIR,
): Promise<XauthEntry | undefined> {
  const n = localDisplayNumber(env['DISPLAY'] ?? '');
  const path = env['XAUTHORITY'];
  if (n === undefined || !path) return undefined;
  let raw: Buffer;
  if (!runAs || path.startsWith(`${runtimeDir}/x11-${runAs.uid}/`)) raw = await readOwnFile(path);
  else {
    const { stdout } = await run('base64', ['-w0', '--', path], { env, runAs, timeoutMs: 2_000 });
    raw = Buffer.from(stdout.trim(), 'base64');
  }
  return cookiesForDisplay(parseXauthority(raw), n)[0];
}

async function processFacts(pid: number): Promise<ProcessFacts | undefined> {
  try {
    const [st, exe, environ] = await Promise.all([
      stat(`/proc/${pid}`),
      readlink(`/proc/${pid}/exe`),
      readFile(`/proc/${pid}/environ`, 'latin1'),
    ]);
    const exeStat = await lstat(exe.replace(/ \(deleted\)$/, '')).catch(() => undefined);
    return {
      pid,
      uid: st.uid,
      exe,
      exeUid: exeStat?.isFile() ? exeStat.uid : -1,
      preload: /(^|\0)LD_(PRELOAD|LIBRARY_PATH)=/.test(environ),
    };
  } catch {
    return undefined;
  }
}

export async function gatherX11LockEvidence(opts: {
  env: NodeJS.ProcessEnv;
  runAs: RunAs | undefined;
  sessionUid: number | undefined;
  own: OwnLocker | undefined;
  lockerNames: readonly string[];
}): Promise<X11LockEvidence> {
  const display = opts.env['DISPLAY'] ?? '';
  const cookie = await sessionCookie(opts.env, opts.runAs);
  const x = await XConnection.open(display, cookie);
  let top: X11TopWindow | undefined;
  try {
    const children = await x.queryTree(x.setup.root);
    // Top-most first: the first viewable window that covers the whole screen is what the user
    // sees. Smaller windows above it (a notification) are passed over: while a locker holds the
    // keyboard and pointer grabs they receive no input; a locker that is unmapped loses its grabs
    // and is not viewable, so it is never this window.
    for (let i = children.length - 1; i >= 0 && !top; i--) {
      const id = children[i] as number;
      const attrs = await x.windowAttributes(id).catch(() => undefined);
      if (attrs?.mapState !== MAP_STATE_VIEWABLE) continue;
      // The window may be destroyed between the tree and this read (BadWindow): pass it over.
      const g = await x.geometry(id).catch(() => undefined);
      if (!g) continue;
      const w = g.width + 2 * g.border;
      const h = g.height + 2 * g.border;
      if (!(g.x <= 0 && g.y <= 0 && g.x + w >= x.setup.rootWidth && g.y + h >= x.setup.rootHeight)) continue;
      const clientPid = await x.clientPid(id).catch(() => undefined);
      top = {
        id,
        x: g.x,
        y: g.y,
        width: w,
        height: h,
        ...(clientPid !== undefined ? { clientPid } : {}),
      };
    }
  } finally {
    x.close();
  }
  return {
    screenWidth: x.setup.rootWidth,
    screenHeight: x.setup.rootHeight,
    top,
    topProcess: top?.clientPid !== undefined ? await processFacts(top.clientPid) : undefined,
    sessionUid: opts.sessionUid,
    own: opts.own,
    lockerNames: opts.lockerNames,
  };
}
