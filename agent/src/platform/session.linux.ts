// Linux graphical session discovery for a root service. logind first (`loginctl`): it knows which
// session is active on the seat. Without logind (or when it names no usable display) the
// environments of processes owned by non-root users are read from /proc/*/environ. Either way a
// candidate counts only once its display answers (`xprop -root` with the candidate's
// DISPLAY/XAUTHORITY) — a stale environment of a dead session must not win.
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import { type GraphicalSession, SESSION_VARS, type SessionDiscovery, sessionEnvironment } from './session.ts';

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
  DISPLAY: /^[A-Za-z0-9.-]*:\d+(\.\d+)?$/,
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

export interface SessionCandidate {
  uid: number;
  vars: Record<string, string>;
  /** How many processes carry this environment (a desktop session has many). */
  processes: number;
}

/**
 * Distinct display environments of non-root processes, most common first (pure). A process
 * without DISPLAY and WAYLAND_DISPLAY is not in a graphical session.
 */
export function sessionCandidates(envs: readonly ProcEnvironment[]): SessionCandidate[] {
  const byKey = new Map<string, SessionCandidate>();
  for (const e of envs) {
    if (e.uid === 0 || !(e.vars['DISPLAY'] || e.vars['WAYLAND_DISPLAY'])) continue;
    const key = JSON.stringify([e.uid, ...SESSION_VARS.map((k) => e.vars[k] ?? '')]);
    const c = byKey.get(key);
    if (c) c.processes++;
    else byKey.set(key, { uid: e.uid, vars: { ...e.vars }, processes: 1 });
  }
  return [...byKey.values()].sort((a, b) => b.processes - a.processes || a.uid - b.uid);
}

/** /etc/passwd → uid → user name (pure). */
export function parsePasswd(text: string): Map<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^\d+$/.test(f[2] ?? '')) users.set(Number(f[2]), f[0]);
  }
  return users;
}

// ---- discovery ----

export interface LinuxSessionDiscoveryOptions {
  run?: ExecRunner;
  procDir?: string;
  logindDir?: string;
  xSocketDir?: string;
  /** This process is never a candidate. */
  selfPid?: number;
  /** Only processes of users it accepts are read (tests pin their own session user). */
  acceptUid?: (uid: number) => boolean;
}

export function createLinuxSessionDiscovery(options: LinuxSessionDiscoveryOptions = {}): SessionDiscovery {
  const run = options.run ?? realRun;
  const procDir = options.procDir ?? '/proc';
  const logindDir = options.logindDir ?? '/run/systemd/sessions';
  const xSocketDir = options.xSocketDir ?? '/tmp/.X11-unix';
  const selfPid = options.selfPid ?? process.pid;
  const acceptUid = options.acceptUid ?? (() => true);

  async function scanProc(): Promise<ProcEnvironment[]> {
    const out: ProcEnvironment[] = [];
    for (const name of await readdir(procDir)) {
      if (!/^\d+$/.test(name) || Number(name) === selfPid) continue;
      try {
        const { uid } = await stat(`${procDir}/${name}`);
        if (uid === 0 || !acceptUid(uid)) continue;
        const vars = parseEnviron(await readFile(`${procDir}/${name}/environ`, 'latin1'));
        out.push({ uid, vars });
      } catch {
        // The process exited while we looked, or its environ is not readable (not root): skip it.
      }
    }
    return out;
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

  async function userName(uid: number): Promise<string> {
    try {
      return parsePasswd(await readFile('/etc/passwd', 'utf8')).get(uid) ?? String(uid);
    } catch {
      return String(uid);
    }
  }

  /** Does the candidate's display answer? X11: `xprop -root` with its cookie; Wayland: the socket exists. */
  async function answers(vars: Record<string, string>): Promise<boolean> {
    if (vars['DISPLAY']) {
      const env = {
        ...sessionEnvironment(process.env, { source: 'proc', uid: 0, user: '', vars }),
        LC_ALL: 'C.UTF-8',
      };
      try {
        await run('xprop', ['-root', '-len', '1', '_NET_SUPPORTED'], { env, timeoutMs: 3_000 });
        return true;
      } catch {
        return false;
      }
    }
    const dir = vars['XDG_RUNTIME_DIR'];
    const wl = vars['WAYLAND_DISPLAY'] ?? '';
    return Boolean(wl && (wl.startsWith('/') ? existsSync(wl) : dir && existsSync(`${dir}/${wl}`)));
  }

  /**
   * undefined: no logind. Otherwise the verified graphical session it names (if any) and the user
   * of the active local session: the /proc fallback only considers that user's processes, so an
   * inactive (switched-away) session or a planted DISPLAY of another user never wins.
   */
  async function fromLogind(
    candidates: SessionCandidate[],
  ): Promise<{ found?: GraphicalSession; activeUid?: number } | undefined> {
    let rows: LogindSessionRow[];
    try {
      rows = parseListSessions((await run('loginctl', listSessionsArgs(), { timeoutMs: 3_000 })).stdout);
    } catch {
      // No logind (containers, non-systemd distributions): the /proc scan decides.
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
    const activeUid = activeLocalUid(props);
    const base = activeUid === undefined ? {} : { activeUid };
    const s = chooseLogindSession(props);
    if (!s) return base;
    const runtime = `/run/user/${s.uid}`;
    const vars: Record<string, string> = { XDG_SESSION_ID: s.id, XDG_SESSION_TYPE: s.type };
    if (existsSync(runtime)) vars['XDG_RUNTIME_DIR'] = runtime;
    if (existsSync(`${runtime}/bus`)) vars['DBUS_SESSION_BUS_ADDRESS'] = `unix:path=${runtime}/bus`;
    if (s.display) vars['DISPLAY'] = s.display;
    // logind does not know the X cookie (XAUTHORITY) or the Wayland socket: the user's own
    // processes on that display do.
    const own = candidates.find((c) => c.uid === s.uid && (!s.display || c.vars['DISPLAY'] === s.display));
    if (own) for (const [k, v] of Object.entries(own.vars)) vars[k] ??= v;
    const safe = safeSessionVars(vars);
    if (!(await answers(safe))) return base;
    return { ...base, found: { source: 'logind', uid: s.uid, user: s.user, vars: safe } };
  }

  return {
    async fingerprint() {
      const candidates = sessionCandidates(await scanProc());
      // X server sockets: an X server that died or restarted under an unchanged environment.
      const xSockets = await readdir(xSocketDir).catch(() => []);
      return JSON.stringify([await logindState(), xSockets.sort(), candidates.map((c) => [c.uid, c.vars])]);
    },
    async discover() {
      const candidates = sessionCandidates(await scanProc());
      const logind = await fromLogind(candidates);
      if (logind?.found) return logind.found;
      const pool = logind ? candidates.filter((c) => c.uid === logind.activeUid) : candidates;
      for (const c of pool) {
        if (await answers(c.vars))
          return { source: 'proc', uid: c.uid, user: await userName(c.uid), vars: c.vars };
      }
      return undefined;
    },
  };
}
