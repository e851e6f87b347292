// Linux graphical session discovery for a root service. What the pupil at the keyboard controls
// is never trusted to choose the display, the cookie or a path root opens:
//  - with logind (`loginctl`), ONLY its answer counts: the active local session, its user and
//    its Display. /proc is not consulted for the display at all.
//  - without logind, the DISPLAY values in users' /proc/*/environ say which display a user sits
//    at, nothing more: XAUTHORITY, bus addresses and paths from there are ignored.
//  - the display must be a local `:N` (a host part, even 127.0.0.1, is refused: libxcb treats
//    loopback TCP as local and would hand the cookie to whoever listens there) served by a real
//    X server process: a known X server executable, owned by root (or, only when logind names
//    the display for that user, by the user — rootless Xorg), whose socket /tmp/.X11-unix/XN has
//    the same owner. A pupil-run Xvfb is never chosen without logind.
//  - the cookie is the one from that server's own `-auth` file: a root-owned server's file is
//    read by root and copied for the user (x11-cookie.ts); a user-owned server's file is handed
//    to the user's helpers by path and never opened by root.
// The candidate counts only once its display answers `xprop -root`, run AS THE USER.
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import {
  type GraphicalSession,
  HELPER_MARK,
  runAsFor,
  SESSION_VARS,
  type SessionDiscovery,
  sessionEnvironment,
} from './session.ts';
import { localDisplayNumber, parseXServerProcess, type XServerProcess } from './x11-auth.ts';
import { copyServerCookie } from './x11-cookie.ts';

// ---- pure parsers (tested on captured output in agent/testdata/session/) ----

export interface LogindSessionRow {
  id: string;
  uid: number;
  user: string;
}

/** `loginctl list-sessions --no-legend`: "SESSION UID USER [SEAT] [TTY] [STATE IDLE SINCE]". */
export function parseListSessions(stdout: string): LogindSessionRow[] {
  const rows: LogindSessionRow[] = [];
  for (const line of stdout.split('\n')) {
    const [id, uid, user] = line.trim().split(/\s+/);
    if (!id || !uid || !user || !/^\d+$/.test(uid)) continue;
    rows.push({ id, uid: Number(uid), user });
  }
  return rows;
}

export interface LogindSessionProps {
  id: string;
  active: boolean;
  type: string;
  display: string;
  user: string;
  uid: number;
  remote: boolean;
}

/** `loginctl show-session ID -p Active -p Type -p Display -p Name -p User -p Remote` (KEY=VALUE lines). */
export function parseShowSession(id: string, stdout: string): LogindSessionProps {
  const p = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) p.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const uid = p.get('User') ?? '';
  if (!p.has('Active') || !/^\d+$/.test(uid))
    throw new CustodianError(
      ErrorCode.COMMAND_FAILED,
      `loginctl show-session ${id}: unexpected output ${JSON.stringify(stdout.slice(0, 80))}`,
    );
  return {
    id,
    active: p.get('Active') === 'yes',
    type: p.get('Type') ?? '',
    display: p.get('Display') ?? '',
    user: p.get('Name') ?? '',
    uid: Number(uid),
    remote: p.get('Remote') === 'yes',
  };
}

/** The active local graphical session, if any (pure). */
export function chooseLogindSession(sessions: readonly LogindSessionProps[]): LogindSessionProps | undefined {
  return sessions.find(
    (s) => s.active && !s.remote && s.uid !== 0 && (s.type === 'x11' || s.type === 'wayland'),
  );
}

/** The user of the active local session of any type (startx from a tty is Type=tty), if any (pure). */
export function activeLocalUid(sessions: readonly LogindSessionProps[]): number | undefined {
  return sessions.find((s) => s.active && !s.remote && s.uid !== 0)?.uid;
}

export function listSessionsArgs(): string[] {
  return ['list-sessions', '--no-legend'];
}

/** The logind session properties discovery reads, in the order asked. */
const SESSION_PROPS = ['Active', 'Type', 'Display', 'Name', 'User', 'Remote'] as const;

export function showSessionArgs(id: string): string[] {
  return ['show-session', id, ...SESSION_PROPS.flatMap((prop) => ['-p', prop])];
}

/** /proc/PID/environ: NUL-separated KEY=VALUE; only the session variables are kept (pure). */
export function parseEnviron(raw: string): Record<string, string> {
  const vars: Record<string, string> = {};
  const wanted = new Set<string>(SESSION_VARS);
  for (const entry of raw.split('\0')) {
    const i = entry.indexOf('=');
    if (i <= 0) continue;
    const key = entry.slice(0, i);
    if (wanted.has(key)) vars[key] = entry.slice(i + 1);
  }
  return safeSessionVars(vars);
}

/**
 * Session variables come from processes the user controls, and root hands them to xprop, i3lock
 * and gdbus: only plain shapes are kept (a bus address like `unixexec:` would run a program).
 */
const VAR_SHAPES: Record<string, RegExp> = {
  DISPLAY: /^:\d{1,4}(\.\d{1,2})?$/,
  XAUTHORITY: /^\/[^\0]*$/,
  DBUS_SESSION_BUS_ADDRESS: /^unix:(path|abstract)=[^,;=]+(,guid=[0-9a-f]+)?$/,
  WAYLAND_DISPLAY: /^[A-Za-z0-9._/-]+$/,
  XDG_RUNTIME_DIR: /^\/[^\0]*$/,
  XDG_SESSION_ID: /^[A-Za-z0-9]+$/,
  XDG_SESSION_TYPE: /^[a-z0-9]+$/,
};

/** The session variables whose values have a safe shape; the rest are dropped (pure). */
export function safeSessionVars(vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) if (VAR_SHAPES[k]?.test(v)) out[k] = v;
  return out;
}

export interface ProcEnvironment {
  uid: number;
  vars: Record<string, string>;
}

/** /etc/passwd → uid → user name (pure). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const [uid, e] of parsePasswdEntries(text)) users.set(uid, e.user);
  return users;
}

export interface PasswdEntry {
  user: string;
  gid: number;
  home: string;
}

/** /etc/passwd → uid → name, primary gid, home (pure; the first entry of a uid wins). */
export function parsePasswdEntries(text: string): Map<number, PasswdEntry> {
  const users = new Map<number, PasswdEntry>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !f[0] || !/^\d+$/.test(f[2] ?? '')) continue;
    const uid = Number(f[2]);
    if (users.has(uid)) continue;
    const gid = /^\d+$/.test(f[3] ?? '') ? Number(f[3]) : uid;
    users.set(uid, { user: f[0], gid, home: f[5]?.startsWith('/') ? f[5] : '/' });
  }
  return users;
}

// ---- the decision (pure) ----

/** An X server as discovery sees it: its process facts and who owns its socket. */
export interface XServerFact extends XServerProcess {
  /** Owner of /tmp/.X11-unix/XN when it is a socket; undefined when missing or not a socket. */
  socketUid?: number;
}

/** Which display a user's processes say they are on (from environ DISPLAY only). */
export interface DisplayClaim {
  uid: number;
  display: number;
  processes: number;
}

export type SessionDecision =
  | { kind: 'x11'; uid: number; display: number; server: XServerFact; logind?: LogindSessionProps }
  | { kind: 'wayland'; uid: number; logind: LogindSessionProps }
  | { kind: 'none'; reason: string };

/** A server that really serves display N for `owner` (root, or the user when allowed). */
function serverFor(
  servers: readonly XServerFact[],
  display: number,
  owners: readonly number[],
): XServerFact | undefined {
  return servers.find((s) => s.display === display && owners.includes(s.uid) && s.socketUid === s.uid);
}

/**
 * Chooses the session to watch from facts the pupil cannot forge (pure). `logind` undefined means
 * there is no logind; then `claims` (environ DISPLAY values of non-root processes) say who sits
 * at which root-served display, and a display claimed by more than one user is not chosen (a
 * planted DISPLAY must not hand another user's cookie to the planter).
 */
export function decideSession(input: {
  logind: readonly LogindSessionProps[] | undefined;
  servers: readonly XServerFact[];
  claims: readonly DisplayClaim[];
}): SessionDecision {
  const { logind, servers, claims } = input;
  if (logind) {
    const s = chooseLogindSession(logind);
    if (s?.type === 'wayland') return { kind: 'wayland', uid: s.uid, logind: s };
    if (s) {
      const n = localDisplayNumber(s.display);
      if (n === undefined)
        return { kind: 'none', reason: `logind names a non-local display ${JSON.stringify(s.display)}` };
      const server = serverFor(servers, n, [0, s.uid]);
      if (!server) return { kind: 'none', reason: `no trusted X server serves :${n}` };
      return { kind: 'x11', uid: s.uid, display: n, server, logind: s };
    }
    // startx from a text console: logind knows the user (Type=tty) but not the display. Only an
    // X server that user runs (rootless Xorg) can be theirs; exactly one, else nothing.
    const uid = activeLocalUid(logind);
    if (uid === undefined) return { kind: 'none', reason: 'logind has no active local session' };
    const own = servers.filter((x) => x.uid === uid && x.socketUid === uid);
    if (own.length !== 1 || !own[0]) return { kind: 'none', reason: 'logind has no graphical session' };
    return { kind: 'x11', uid, display: own[0].display, server: own[0] };
  }
  const byDisplay = new Map<number, Map<number, number>>();
  for (const c of claims) {
    if (c.uid === 0) continue;
    const users = byDisplay.get(c.display) ?? new Map<number, number>();
    users.set(c.uid, (users.get(c.uid) ?? 0) + c.processes);
    byDisplay.set(c.display, users);
  }
  const options: { uid: number; display: number; server: XServerFact; processes: number }[] = [];
  for (const [display, users] of byDisplay) {
    if (users.size !== 1) continue;
    const server = serverFor(servers, display, [0]);
    const [[uid, processes]] = [...users] as [[number, number]];
    if (server) options.push({ uid, display, server, processes });
  }
  options.sort((a, b) => b.processes - a.processes || a.display - b.display);
  const best = options[0];
  if (!best) return { kind: 'none', reason: 'no user sits at a display served by a root-owned X server' };
  return { kind: 'x11', uid: best.uid, display: best.display, server: best.server };
}

/** The parent pid from /proc/PID/stat ("pid (comm) state ppid ..."; comm may hold spaces) (pure). */
export function parseStatPpid(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  return Number.isSafeInteger(ppid) ? ppid : 0;
}

/** Pids among `procs` that descend from `root` (pure). */
export function descendantsOf(root: number, procs: readonly { pid: number; ppid: number }[]): Set<number> {
  const out = new Set<number>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of procs) {
      if (!out.has(p.pid) && (p.ppid === root || out.has(p.ppid))) {
        out.add(p.pid);
        grew = true;
      }
    }
  }
  return out;
}

/** DISPLAY claims from /proc environments (pure): only local `:N` values count. */
export function displayClaims(envs: readonly ProcEnvironment[]): DisplayClaim[] {
  const byKey = new Map<string, DisplayClaim>();
  for (const e of envs) {
    const n = localDisplayNumber(e.vars['DISPLAY'] ?? '');
    if (e.uid === 0 || n === undefined) continue;
    const key = `${e.uid}:${n}`;
    const c = byKey.get(key);
    if (c) c.processes++;
    else byKey.set(key, { uid: e.uid, display: n, processes: 1 });
  }
  return [...byKey.values()];
}

// ---- discovery ----

export interface LinuxSessionDiscoveryOptions {
  run?: ExecRunner;
  procDir?: string;
  logindDir?: string;
  xSocketDir?: string;
  /** Where the user's copy of the cookie goes (x11-cookie.ts; default /run/custodian). */
  runtimeDir?: string;
  passwdFile?: string;
  /** This process is never a candidate. */
  selfPid?: number;
  /** Only processes of users it accepts are read (tests pin their own session user). */
  acceptUid?: (uid: number) => boolean;
  /** Only X servers on displays it accepts are considered (tests pin their own display). */
  acceptDisplay?: (n: number) => boolean;
}

export function createLinuxSessionDiscovery(options: LinuxSessionDiscoveryOptions = {}): SessionDiscovery {
  const run = options.run ?? realRun;
  const procDir = options.procDir ?? '/proc';
  const logindDir = options.logindDir ?? '/run/systemd/sessions';
  const xSocketDir = options.xSocketDir ?? '/tmp/.X11-unix';
  const passwdFile = options.passwdFile ?? '/etc/passwd';
  const selfPid = options.selfPid ?? process.pid;
  const acceptUid = options.acceptUid ?? (() => true);
  const acceptDisplay = options.acceptDisplay ?? (() => true);

  interface Scan {
    envs: ProcEnvironment[];
    servers: XServerFact[];
  }

  /**
   * One pass over /proc: the DISPLAY of users' processes (their environ is read by root, as
   * kernel-provided text; nothing in it is ever opened) and the X server processes. The agent's
   * own helpers (marked, and descending from it: they run as the user with the session's
   * DISPLAY) are left out: they must not keep a session alive after its user logged out.
   */
  async function scanProc(): Promise<Scan> {
    const servers: XServerFact[] = [];
    const seen: { pid: number; ppid: number; uid: number; helper: boolean; vars: Record<string, string> }[] =
      [];
    for (const name of await readdir(procDir)) {
      if (!/^\d+$/.test(name) || Number(name) === selfPid) continue;
      const pid = Number(name);
      try {
        const { uid } = await stat(`${procDir}/${name}`);
        const server = await xServerOf(pid, uid);
        if (server && acceptDisplay(server.display)) servers.push(server);
        if (uid === 0 || !acceptUid(uid)) continue;
        const environ = await readFile(`${procDir}/${name}/environ`, 'latin1');
        const ppid = parseStatPpid(await readFile(`${procDir}/${name}/stat`, 'latin1').catch(() => ''));
        const helper = environ.split('\0').includes(`${HELPER_MARK}=1`);
        seen.push({ pid, ppid, uid, helper, vars: parseEnviron(environ) });
      } catch {
        // The process exited while we looked: skip it.
      }
    }
    const descendants = descendantsOf(selfPid, seen);
    return { envs: seen.filter((p) => !(p.helper && descendants.has(p.pid))), servers };
  }

  async function xServerOf(pid: number, uid: number): Promise<XServerFact | undefined> {
    const exe = await readlink(`${procDir}/${pid}/exe`).catch(() => '');
    if (!exe) return undefined;
    const parsed = parseXServerProcess(pid, uid, exe, await readFile(`${procDir}/${pid}/cmdline`, 'latin1'));
    if (!parsed) return undefined;
    const sock = await lstat(`${xSocketDir}/X${parsed.display}`).catch(() => undefined);
    return sock?.isSocket() ? { ...parsed, socketUid: sock.uid } : parsed;
  }

  async function logindState(): Promise<string> {
    try {
      const entries = await readdir(logindDir);
      const stamps = await Promise.all(
        entries.sort().map(async (e) => `${e}@${(await stat(`${logindDir}/${e}`)).mtimeMs}`),
      );
      return stamps.join(',');
    } catch {
      return 'no-logind';
    }
  }

  async function account(uid: number): Promise<PasswdEntry> {
    try {
      const e = parsePasswdEntries(await readFile(passwdFile, 'utf8')).get(uid);
      if (e) return e;
    } catch {
      // No passwd to read: the uid alone.
    }
    return { user: String(uid), gid: uid, home: '/' };
  }

  /** Does the display answer? X11: `xprop -root` as the user; Wayland: the socket exists. */
  async function answers(session: GraphicalSession): Promise<boolean> {
    const vars = session.vars;
    if (vars['DISPLAY']) {
      const env = sessionEnvironment(process.env, session);
      const runAs = runAsFor(env);
      try {
        await run('xprop', ['-root', '-len', '1', '_NET_SUPPORTED'], {
          env,
          timeoutMs: 3_000,
          ...(runAs ? { runAs } : {}),
        });
        return true;
      } catch {
        return false;
      }
    }
    const dir = vars['XDG_RUNTIME_DIR'];
    const wl = vars['WAYLAND_DISPLAY'] ?? '';
    return Boolean(wl && dir && existsSync(`${dir}/${wl}`));
  }

  /** logind's sessions, or undefined when there is no logind. */
  async function logindSessions(): Promise<LogindSessionProps[] | undefined> {
    let rows: LogindSessionRow[];
    try {
      rows = parseListSessions((await run('loginctl', listSessionsArgs(), { timeoutMs: 3_000 })).stdout);
    } catch {
      // No logind (containers, non-systemd distributions): the /proc facts decide.
      return undefined;
    }
    const props: LogindSessionProps[] = [];
    for (const r of rows) {
      try {
        const { stdout } = await run('loginctl', showSessionArgs(r.id), { timeoutMs: 3_000 });
        props.push(parseShowSession(r.id, stdout));
      } catch {
        // The session closed between the listing and this read: it is not the active one.
      }
    }
    return props;
  }

  /** The session variables the agent derives itself for a decision (never from a user process). */
  async function sessionVars(
    d: Exclude<SessionDecision, { kind: 'none' }>,
    gid: number,
  ): Promise<Record<string, string>> {
    const runtime = `/run/user/${d.uid}`;
    const vars: Record<string, string> = {};
    if (existsSync(runtime)) vars['XDG_RUNTIME_DIR'] = runtime;
    if (existsSync(`${runtime}/bus`)) vars['DBUS_SESSION_BUS_ADDRESS'] = `unix:path=${runtime}/bus`;
    const ls = d.logind;
    if (ls) {
      vars['XDG_SESSION_ID'] = ls.id;
      vars['XDG_SESSION_TYPE'] = ls.type;
    }
    if (d.kind === 'wayland') {
      const sockets = (await readdir(runtime).catch(() => [] as string[])).filter((f) =>
        /^wayland-\d+$/.test(f),
      );
      const first = sockets.sort()[0];
      if (first) vars['WAYLAND_DISPLAY'] = first;
      return vars;
    }
    vars['DISPLAY'] = `:${d.display}`;
    const auth = d.server.authFile;
    if (auth) {
      if (d.server.uid === 0 && process.getuid?.() === 0 && d.uid !== 0) {
        const copy = await copyServerCookie({
          authFile: auth,
          display: d.display,
          uid: d.uid,
          gid,
          ...(options.runtimeDir ? { runtimeDir: options.runtimeDir } : {}),
        });
        vars['XAUTHORITY'] = copy.path;
      } else {
        // The server runs as the user (or the agent is not root): the user's helpers read the
        // server's own file; root never opens it.
        vars['XAUTHORITY'] = auth;
      }
    }
    return vars;
  }

  return {
    async fingerprint() {
      const { envs, servers } = await scanProc();
      const claims = displayClaims(envs).sort((a, b) => a.uid - b.uid || a.display - b.display);
      // X server sockets: an X server that died or restarted under an unchanged environment.
      const xSockets = await readdir(xSocketDir).catch(() => []);
      return JSON.stringify([
        await logindState(),
        xSockets.sort(),
        servers.map((s) => [s.pid, s.uid, s.display, s.authFile ?? '', s.socketUid ?? -1]),
        claims.map((c) => [c.uid, c.display]),
      ]);
    },
    async discover() {
      const { envs, servers } = await scanProc();
      const logind = await logindSessions();
      const decision = decideSession({ logind, servers, claims: displayClaims(envs) });
      if (decision.kind === 'none') return undefined;
      const acct = await account(decision.uid);
      const session: GraphicalSession = {
        source: logind ? 'logind' : 'proc',
        uid: decision.uid,
        gid: acct.gid,
        user: decision.logind?.user || acct.user,
        home: acct.home,
        vars: {},
      };
      try {
        session.vars = safeSessionVars(await sessionVars(decision, acct.gid));
      } catch (err) {
        // No trustworthy cookie: no session (helpers would fail against the server anyway).
        throw new CustodianError(
          ErrorCode.UNAVAILABLE,
          `graphical session refused: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      return (await answers(session)) ? session : undefined;
    },
  };
}
