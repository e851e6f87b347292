// The local channel between the native host (runs as the desktop user, started by the browser)
// and the agent (root service). Chosen for simple and safe:
// - a unix socket `<runDir>/native-host.sock` (dir 0755, socket 0666: any local process may
//   connect), newline-delimited JSON;
// - the first line must carry a token the agent writes at each start where only the desktop
//   user (and root) can read it: `$XDG_RUNTIME_DIR/custodian-agent.token` of the graphical
//   session (that dir is the user's own, 0700), owned by that user, 0400; without a session
//   runtime dir (development, tests) `<runDir>/native-host.token`, 0600, owned by the agent's
//   user. A connection without the token is closed; other local users cannot feed text or
//   pretend the extension is connected.
// What a token does not stop: the desktop user can connect without a browser (they could type
// the same text anyway). Every line is checked again by the receiver (messages.ts).
import { join } from 'node:path';

export const SOCKET_NAME = 'native-host.sock';
export const TOKEN_NAME = 'native-host.token';
export const SESSION_TOKEN_NAME = 'custodian-agent.token';
/** One line on the socket: a checked message plus JSON overhead. */
export const MAX_LINE_BYTES = 80 * 1024;

/** The run dir: CUSTODIAN_AGENT_RUN_DIR, /run/custodian-agent as root on Linux, else <dataDir>/run. */
export function defaultRunDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['CUSTODIAN_AGENT_RUN_DIR'];
  if (fromEnv) return fromEnv;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root && process.platform === 'linux' ? '/run/custodian-agent' : join(dataDir, 'run');
}

/** Where the token lives, in the order the host looks (the agent writes the first that applies). */
export function tokenPaths(runDir: string, sessionRuntimeDir: string | undefined): string[] {
  return [
    ...(sessionRuntimeDir ? [join(sessionRuntimeDir, SESSION_TOKEN_NAME)] : []),
    join(runDir, TOKEN_NAME),
  ];
}

/** Host → agent, first line. */
export interface HostHello {
  t: 'hello';
  token: string;
  /** The browser that started the host (its executable's name), e.g. "chromium". */
  browser: string;
  extensionId: string;
}
