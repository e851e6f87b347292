// Idle time on Linux: X11 through the XScreenSaver extension (xprintidle), GNOME on Wayland
// through Mutter's IdleMonitor over D-Bus, anything else with a logind session through IdleHint.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run as realRun } from './exec.ts';
import type { Availability, ExecRunner, IdleProbe, IdleProbeOptions } from './idle.ts';
import { runAsFor, sessionEnv } from './session.ts';

export type LinuxSessionKind = 'x11' | 'wayland' | 'none';

export interface LinuxSession {
  kind: LinuxSessionKind;
  display: string;
  /** logind session id, when the environment names one. */
  sessionId: string;
}

/** What kind of graphical session the given environment belongs to. */
export function linuxSession(env: NodeJS.ProcessEnv): LinuxSession {
  const sessionId = env['XDG_SESSION_ID'] ?? '';
  const display = env['DISPLAY'] ?? '';
  // XWayland sets DISPLAY too, but X11 idle/lock tools only see XWayland clients there.
  if (env['WAYLAND_DISPLAY'] || env['XDG_SESSION_TYPE'] === 'wayland') {
    return { kind: 'wayland', display, sessionId };
  }
  if (display) return { kind: 'x11', display, sessionId };
  return { kind: 'none', display, sessionId };
}

function badOutput(what: string, stdout: string): CustodianError {
  return new CustodianError(
    ErrorCode.COMMAND_FAILED,
    `${what}: unexpected output ${JSON.stringify(stdout.slice(0, 80))}`,
  );
}

/** xprintidle prints the idle time in ms on one line. */
export function parseXprintidle(stdout: string): number {
  const text = stdout.trim();
  if (!/^\d+$/.test(text)) throw badOutput('xprintidle', stdout);
  return Number(text);
}

/** gdbus prints the GVariant tuple, e.g. "(uint64 12345,)". */
export function parseMutterIdletime(stdout: string): number {
  const m = /^\(\s*(?:uint64\s+)?(\d+)\s*,?\s*\)$/.exec(stdout.trim());
  if (!m) throw badOutput('Mutter GetIdletime', stdout);
  return Number(m[1]);
}

/**
 * `loginctl show-session ID -p IdleHint -p IdleSinceHint` prints KEY=VALUE lines;
 * IdleSinceHint is µs since the epoch. Not idle → 0.
 */
export function parseLogindIdle(stdout: string, nowMs: number): number {
  const props = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) props.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const hint = props.get('IdleHint');
  if (hint !== 'yes' && hint !== 'no') throw badOutput('loginctl IdleHint', stdout);
  if (hint === 'no') return 0;
  const since = props.get('IdleSinceHint') ?? '';
  if (!/^\d+$/.test(since) || since === '0') throw badOutput('loginctl IdleSinceHint', stdout);
  return Math.max(0, nowMs - Math.floor(Number(since) / 1000));
}

export const MUTTER_IDLE_ARGS = [
  'call',
  '--session',
  '--dest',
  'org.gnome.Mutter.IdleMonitor',
  '--object-path',
  '/org/gnome/Mutter/IdleMonitor/Core',
  '--method',
  'org.gnome.Mutter.IdleMonitor.GetIdletime',
] as const;

export function logindIdleArgs(sessionId: string): string[] {
  return ['show-session', sessionId, '-p', 'IdleHint', '-p', 'IdleSinceHint'];
}

async function probe(p: IdleProbe): Promise<Availability> {
  try {
    await p.idleMs();
    return { available: true, reason: `measured with ${p.method}` };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
}

export function createLinuxIdleProbe(options: IdleProbeOptions = {}): IdleProbe {
  if (options.env) return createIdleProbeFor(options.env, options);
  // No fixed environment: follow the graphical session (session.ts), rebuilt when it changes.
  let env: NodeJS.ProcessEnv | undefined;
  let probe: IdleProbe | undefined;
  const current = (): IdleProbe => {
    const now = sessionEnv();
    if (!probe || now !== env) {
      env = now;
      probe = createIdleProbeFor(now, options);
    }
    return probe;
  };
  return {
    get method() {
      return current().method;
    },
    idleMs: () => current().idleMs(),
    availability: () => current().availability(),
  };
}

function createIdleProbeFor(env: NodeJS.ProcessEnv, options: IdleProbeOptions): IdleProbe {
  const run: ExecRunner = options.run ?? realRun;
  const session = linuxSession(env);
  // X and session-bus helpers run as the session's user (session.ts); loginctl asks logind as root.
  const runAs = runAsFor(env);
  const asUser = runAs ? { runAs } : {};

  if (session.kind === 'x11') {
    const p: IdleProbe = {
      method: 'xprintidle',
      async idleMs() {
        const { stdout } = await run('xprintidle', [], { env, timeoutMs: 2_000, ...asUser });
        return parseXprintidle(stdout);
      },
      availability: () => probe(p),
    };
    return p;
  }
  if (session.kind === 'wayland' && !session.sessionId) {
    // GNOME is the only Wayland desktop with a D-Bus idle query; others need ext-idle-notify.
    const p: IdleProbe = {
      method: 'mutter-idlemonitor',
      async idleMs() {
        const { stdout } = await run('gdbus', MUTTER_IDLE_ARGS, { env, timeoutMs: 2_000, ...asUser });
        return parseMutterIdletime(stdout);
      },
      async availability() {
        const a = await probe(p);
        return a.available
          ? a
          : { available: false, reason: `Wayland session without GNOME's IdleMonitor: ${a.reason}` };
      },
    };
    return p;
  }
  if (session.sessionId) {
    const p: IdleProbe = {
      method: session.kind === 'wayland' ? 'logind-idlehint (wayland)' : 'logind-idlehint',
      async idleMs() {
        const { stdout } = await run('loginctl', logindIdleArgs(session.sessionId), {
          env,
          timeoutMs: 2_000,
        });
        return parseLogindIdle(stdout, Date.now());
      },
      availability: () => probe(p),
    };
    return p;
  }
  return {
    method: 'none',
    idleMs: () =>
      Promise.reject(
        new CustodianError(
          ErrorCode.UNAVAILABLE,
          'no graphical session (DISPLAY and XDG_SESSION_ID are not set)',
        ),
      ),
    availability: async () => ({ available: false, reason: 'no X display and no logind session' }),
  };
}
