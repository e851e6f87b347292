// The local channel between the native host (runs as the desktop user, started by the browser)
// and the agent (root service). Chosen for simple and safe:
// - a unix socket `<runDir>/native-host.sock` (dir 0755, socket 0666: any local process may
//   connect), newline-delimited JSON;
// - only a holder of the token the agent writes at each start may talk (below); only the desktop
//   user (and root) can read it: `$XDG_RUNTIME_DIR/custodian-agent.token` of the graphical
//   session (that dir is the user's own, 0700), owned by that user, 0400; without a session
//   runtime dir (development, tests) `<runDir>/native-host.token`, 0600, owned by the agent's
//   user. A connection that cannot prove it holds the token is closed; other local users cannot
//   feed text or pretend the extension is connected.
// - on Windows the channel is a named pipe `\\.\pipe\custodian-agent-<hash of the run dir>` (Node's
//   net module; any user may open it and, through libuv's writableAll, even create an instance of
//   that name), and the token lives in `<runDir>\token\native-host.token` (the folder's ACL: SYSTEM,
//   Administrators, INTERACTIVE read — token-acl.ts);
// - the host speaks first with a fresh nonce (`challenge`); the agent answers with its own nonce
//   and a proof that it holds this start's token (`agent`); the host answers with its proof
//   (`hello`) and then sends only sealed lines (channel-crypto.ts). The token never crosses the
//   channel: a local process that squats the socket or the pipe name, even one that relays the
//   handshake to the real agent, learns neither the token nor a byte of page text.
// - `hello` with the token itself (the first protocol) is still accepted, its lines plain: for
//   tools and tests that read the token file; the host never uses it.
// What a token does not stop: the desktop user can connect without a browser (they could type
// the same text anyway). Every line is checked again by the receiver (messages.ts).
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export const SOCKET_NAME = 'native-host.sock';
export const TOKEN_NAME = 'native-host.token';
export const SESSION_TOKEN_NAME = 'custodian-agent.token';
/** One line on the socket: a checked message plus JSON overhead, sealed (base64: 4/3). */
export const MAX_LINE_BYTES = 112 * 1024;

/** The run dir: CUSTODIAN_AGENT_RUN_DIR, /run/custodian-agent as root on Linux, else <dataDir>/run. */
export function defaultRunDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['CUSTODIAN_AGENT_RUN_DIR'];
  if (fromEnv) return fromEnv;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root && process.platform === 'linux' ? '/run/custodian-agent' : join(dataDir, 'run');
}

/** The channel's address: the socket in the run dir; on Windows a named pipe named after the run dir. */
export function channelPath(runDir: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'win32') return join(runDir, SOCKET_NAME);
  const h = createHash('sha256').update(runDir.toLowerCase()).digest('hex').slice(0, 16);
  return `\\\\.\\pipe\\custodian-agent-${h}`;
}

/** Windows: the token's own folder under the run dir (its ACL: token-acl.ts). */
export const WINDOWS_TOKEN_DIR = 'token';

/** Where the token lives, in the order the host looks (the agent writes the first that applies). */
export function tokenPaths(
  runDir: string,
  sessionRuntimeDir: string | undefined,
  platform: NodeJS.Platform = process.platform,
): string[] {
  if (platform === 'win32') return [join(runDir, WINDOWS_TOKEN_DIR, TOKEN_NAME)];
  return [
    ...(sessionRuntimeDir ? [join(sessionRuntimeDir, SESSION_TOKEN_NAME)] : []),
    join(runDir, TOKEN_NAME),
  ];
}

/** Host → agent, first line: a fresh nonce the agent must answer before the host says more. */
export interface HostChallenge {
  t: 'challenge';
  /** 64 hex. */
  nonce: string;
}

/** Agent → host, the answer: its nonce and channelKeys(token, nH, nA).agentProof. */
export interface AgentAnswer {
  t: 'agent';
  nonce: string;
  proof: string;
}

/** Host → agent, after a good answer: channelKeys(…).hostProof; sealed lines follow. */
export interface HostHello {
  t: 'hello';
  proof: string;
  /** The browser that started the host (its executable's name), e.g. "chromium". */
  browser: string;
  extensionId: string;
}

/** The first protocol's hello (the token itself; plain lines follow). */
export interface TokenHello {
  t: 'hello';
  token: string;
  browser: string;
  extensionId?: string;
}
