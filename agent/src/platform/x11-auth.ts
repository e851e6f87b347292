// The X cookie a root service hands to the session's helpers, and the X server it belongs to.
// Pure parts: the Xauthority file format (libXau: big-endian u16 family, then four u16-length-
// prefixed byte strings: address, display number, auth name, auth data) and the X server's
// command line. The cookie only ever comes from the X server's own `-auth` file: never from
// XAUTHORITY in a user process's environment (a pupil can plant any path there).

export interface XauthEntry {
  family: number;
  address: Buffer;
  /** Display number as text ("0"), or empty for "any display". */
  number: string;
  name: string;
  data: Buffer;
}

/** A cookie file larger than this is not an Xauthority file (a real one holds a few entries). */
export const MAX_XAUTH_BYTES = 64 * 1024;

/** Parses an Xauthority file; throws on a truncated or oversized one (pure). */
export function parseXauthority(buf: Buffer): XauthEntry[] {
  if (buf.length > MAX_XAUTH_BYTES) throw new Error(`Xauthority file too large (${buf.length} bytes)`);
  const entries: XauthEntry[] = [];
  let at = 0;
  const take = (): Buffer => {
    if (at + 2 > buf.length) throw new Error('truncated Xauthority entry');
    const len = buf.readUInt16BE(at);
    at += 2;
    if (at + len > buf.length) throw new Error('truncated Xauthority entry');
    const out = buf.subarray(at, at + len);
    at += len;
    return out;
  };
  while (at < buf.length) {
    if (at + 2 > buf.length) throw new Error('truncated Xauthority entry');
    const family = buf.readUInt16BE(at);
    at += 2;
    const address = take();
    const number = take().toString('latin1');
    const name = take().toString('latin1');
    const data = take();
    entries.push({ family, address: Buffer.from(address), number, name, data: Buffer.from(data) });
  }
  return entries;
}

export function serializeXauthority(entries: readonly XauthEntry[]): Buffer {
  const parts: Buffer[] = [];
  const str = (b: Buffer): void => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  };
  for (const e of entries) {
    const fam = Buffer.alloc(2);
    fam.writeUInt16BE(e.family);
    parts.push(fam);
    str(e.address);
    str(Buffer.from(e.number, 'latin1'));
    str(Buffer.from(e.name, 'latin1'));
    str(e.data);
  }
  return Buffer.concat(parts);
}

export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';

/** The MIT-MAGIC-COOKIE-1 entries that serve display N (its number, or any display) (pure). */
export function cookiesForDisplay(entries: readonly XauthEntry[], n: number): XauthEntry[] {
  return entries.filter(
    (e) => e.name === MIT_MAGIC_COOKIE && e.data.length > 0 && (e.number === String(n) || e.number === ''),
  );
}

/**
 * The only DISPLAY shape the agent uses: a local display `:N` or `:N.S`. Anything with a host
 * part (`127.0.0.1:N`, `unix:N`, `host/unix:N`) is refused: libxcb counts loopback TCP as local,
 * so a pupil's listener on 127.0.0.1:6000+N would receive the cookie.
 */
export function localDisplayNumber(display: string): number | undefined {
  const m = /^:(\d{1,4})(?:\.\d{1,2})?$/.exec(display);
  return m ? Number(m[1]) : undefined;
}

/** Executable names of X servers the agent trusts to hold a session's display. */
export const X_SERVER_NAMES = ['Xorg', 'X', 'Xvfb', 'Xwayland', 'Xvnc', 'Xtigervnc'];

export interface XServerProcess {
  pid: number;
  /** Owner of the process (root for a display manager's Xorg; the user for rootless Xorg). */
  uid: number;
  display: number;
  /** The server's `-auth` file, if it has one (without, the server has no cookie check). */
  authFile?: string;
}

/**
 * An X server from its /proc facts (pure): the executable's base name must be a known server's
 * and the command line must name a local display `:N`. `exe` is /proc/PID/exe's target (set by
 * the kernel, unlike argv[0]).
 */
export function parseXServerProcess(
  pid: number,
  uid: number,
  exe: string,
  cmdline: string,
): XServerProcess | undefined {
  const base =
    exe
      .replace(/ \(deleted\)$/, '')
      .split('/')
      .pop() ?? '';
  if (!X_SERVER_NAMES.includes(base)) return undefined;
  const argv = cmdline.split('\0');
  if (argv.at(-1) === '') argv.pop();
  let display: number | undefined;
  let authFile: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-auth' && i + 1 < argv.length) {
      authFile = argv[++i];
      continue;
    }
    const m = /^:(\d{1,4})$/.exec(a);
    if (m && display === undefined) display = Number(m[1]);
  }
  if (display === undefined) return undefined;
  return { pid, uid, display, ...(authFile?.startsWith('/') ? { authFile } : {}) };
}
