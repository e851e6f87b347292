// The agent's end of the browser channel (channel.ts): accepts native hosts that present this
// start's token, checks every line again, and publishes page text, typed text and tab URLs as
// text units (capture matches them). Reports the `browser_extension` capability: available while
// at least one browser's extension is connected, naming the browsers.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, open, rm, stat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TextUnitHub } from '../capture/text-source.ts';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import { sessionEnv } from '../platform/session.ts';
import {
  type AgentAnswer,
  channelPath,
  defaultRunDir,
  type HostChallenge,
  type HostHello,
  MAX_LINE_BYTES,
  type TokenHello,
  tokenPaths,
  WINDOWS_TOKEN_DIR,
} from './channel.ts';
import { channelKeys, isNonce, openLine, proofEquals } from './channel-crypto.ts';
import { checkBrowserMessage } from './messages.ts';
import { freshTokenDir } from './token-acl.ts';

/** Connections at once (one per browser profile in practice). */
const MAX_CONNECTIONS = 32;
/** A connection must present the token this soon. */
const HELLO_TIMEOUT_MS = 5_000;

export interface BrowserReceiverOptions {
  /** Default: defaultRunDir(ctx.dataDir). */
  runDir?: string;
  /** Default 32. */
  maxConnections?: number;
  /** Default 5 s. */
  helloTimeoutMs?: number;
}

export class BrowserReceiver implements AgentComponent {
  readonly name = 'browser-extension';
  private readonly ctx: AgentContext;
  private readonly hub: TextUnitHub;
  private readonly runDir: string;
  private readonly maxConnections: number;
  private readonly helloTimeoutMs: number;
  private server: Server | undefined;
  private token = Buffer.alloc(0);
  private tokenFile: string | undefined;
  /** Authenticated hosts and the browser each one serves. */
  private readonly hosts = new Map<Socket, string>();
  private readonly sockets = new Set<Socket>();

  constructor(ctx: AgentContext, hub: TextUnitHub, options: BrowserReceiverOptions = {}) {
    this.ctx = ctx;
    this.hub = hub;
    this.runDir = options.runDir ?? defaultRunDir(ctx.dataDir);
    this.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.helloTimeoutMs = options.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
  }

  /**
   * Browsers (executable names) whose extension is connected now: the OS keyboard source (issue 14)
   * is meant to leave their keys to the extension.
   */
  connectedBrowsers(): string[] {
    return [...new Set(this.hosts.values())].sort();
  }

  capabilities(): CapabilityStatus[] {
    const browsers = this.connectedBrowsers();
    return [
      browsers.length > 0
        ? { name: 'browser_extension', available: true, reason: `connected in ${browsers.join(', ')}` }
        : { name: 'browser_extension', available: false, reason: 'no browser extension connected' },
    ];
  }

  async start(): Promise<void> {
    const pipe = process.platform === 'win32';
    await mkdir(this.runDir, { recursive: true, mode: 0o755 });
    if (pipe) await freshTokenDir(join(this.runDir, WINDOWS_TOKEN_DIR));
    else await chmod(this.runDir, 0o755);
    const socketPath = channelPath(this.runDir);
    if (!pipe) await rm(socketPath, { force: true });
    this.token = randomBytes(32);
    await this.writeToken();
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // A named pipe's default DACL lets other users read only: the user's host must write too.
      // libuv opens the first instance with FILE_FLAG_FIRST_PIPE_INSTANCE: on Windows a squatter that
      // came first makes this fail (Wine allows it); the handshake covers instances created later.
      if (pipe) server.listen({ path: socketPath, readableAll: true, writableAll: true }, () => resolve());
      else server.listen(socketPath, () => resolve());
    });
    if (!pipe) await chmod(socketPath, 0o666);
    this.server = server;
    this.ctx.log.info('browser extension channel listening', { socket: socketPath });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    this.hosts.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (this.tokenFile) await rm(this.tokenFile, { force: true });
    if (process.platform !== 'win32') await rm(channelPath(this.runDir), { force: true });
  }

  /**
   * The desktop user's runtime dir when there is one (token readable by that user only). That dir
   * belongs to the user: the file is created with O_EXCL (a planted symlink is removed, never
   * followed) and chowned through its descriptor, so root never writes or chowns another file.
   */
  private async writeToken(): Promise<void> {
    const runtime = sessionEnv()['XDG_RUNTIME_DIR'];
    const dir = runtime ? await stat(runtime).catch(() => undefined) : undefined;
    const inSession = dir?.isDirectory() === true;
    const [path] = tokenPaths(this.runDir, inSession ? runtime : undefined);
    this.tokenFile = path!;
    await rm(this.tokenFile, { force: true });
    const fh = await open(this.tokenFile, 'wx', 0o600);
    try {
      await fh.writeFile(this.token.toString('hex'));
      if (inSession) {
        await fh.chown(dir!.uid, dir!.gid);
        await fh.chmod(0o400);
      }
    } finally {
      await fh.close();
    }
  }

  private accept(s: Socket): void {
    if (this.sockets.size >= this.maxConnections) {
      this.ctx.log.warn('browser channel: too many connections; refused');
      s.destroy();
      return;
    }
    this.sockets.add(s);
    let buf = '';
    let authed = false;
    // The handshake (channel-crypto.ts): the nonces once challenged; the key and last counter once
    // the host proved itself. A token hello (first protocol) leaves `sealed` undefined: plain lines.
    let nonces: { host: string; agent: string } | undefined;
    let sealed: { key: Buffer; last: number } | undefined;
    const helloTimer = setTimeout(() => {
      if (!authed) s.destroy();
    }, this.helloTimeoutMs);
    helloTimer.unref();
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE_BYTES && !buf.includes('\n')) {
        this.ctx.log.warn('browser channel: line too long; connection closed');
        s.destroy();
        return;
      }
      let nl = buf.indexOf('\n');
      while (nl !== -1 && !s.destroyed) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const challenge = !authed && !nonces ? this.answer(s, line) : undefined;
        if (challenge) nonces = challenge;
        else if (!authed) {
          const keys = nonces
            ? channelKeys(this.token.toString('hex'), nonces.host, nonces.agent)
            : undefined;
          authed = this.hello(s, line, keys?.hostProof);
          if (!authed) {
            this.ctx.log.warn('browser channel: connection without the agent token refused');
            s.destroy();
          } else if (keys) sealed = { key: keys.key, last: 0 };
        } else if (sealed) {
          const opened = openLine(sealed.key, sealed.last, line);
          if (!opened) {
            this.ctx.log.warn('browser channel: forged or replayed line; connection closed');
            s.destroy();
          } else {
            sealed.last = opened.counter;
            this.line(s, opened.text);
          }
        } else this.line(s, line);
        nl = buf.indexOf('\n');
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(helloTimer);
      this.sockets.delete(s);
      if (this.hosts.delete(s)) this.ctx.capabilitiesChanged();
    });
  }

  /** A host's challenge (before its hello): our nonce and the proof that this is the agent. */
  private answer(s: Socket, line: string): { host: string; agent: string } | undefined {
    let c: Partial<HostChallenge>;
    try {
      c = JSON.parse(line) as Partial<HostChallenge>;
    } catch {
      return undefined;
    }
    if (c.t !== 'challenge' || !isNonce(c.nonce)) return undefined;
    const nonces = { host: c.nonce, agent: randomBytes(32).toString('hex') };
    const keys = channelKeys(this.token.toString('hex'), nonces.host, nonces.agent);
    const a: AgentAnswer = { t: 'agent', nonce: nonces.agent, proof: keys.agentProof };
    s.write(`${JSON.stringify(a)}\n`);
    return nonces;
  }

  /** After a challenge: the host's proof; without one, the token itself (first protocol). */
  private hello(s: Socket, line: string, hostProof: string | undefined): boolean {
    let h: Partial<HostHello & TokenHello>;
    try {
      h = JSON.parse(line) as Partial<HostHello & TokenHello>;
    } catch {
      return false;
    }
    if (h.t !== 'hello') return false;
    if (hostProof !== undefined) {
      if (!proofEquals(h.proof, hostProof)) return false;
    } else {
      if (typeof h.token !== 'string' || !/^[0-9a-f]{64}$/.test(h.token)) return false;
      if (!timingSafeEqual(Buffer.from(h.token, 'hex'), this.token)) return false;
    }
    const browser = typeof h.browser === 'string' && /^[\w.-]{1,40}$/.test(h.browser) ? h.browser : 'unknown';
    this.hosts.set(s, browser);
    this.ctx.log.info('browser extension connected', { browser, sealed: hostProof !== undefined });
    this.ctx.capabilitiesChanged();
    return true;
  }

  private line(s: Socket, line: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      this.ctx.log.warn('browser channel: message dropped', { reason: 'malformed-json' });
      return;
    }
    const c = checkBrowserMessage(raw);
    if (!c.ok) {
      this.ctx.log.warn('browser channel: message dropped', { reason: c.reason });
      return;
    }
    const m = c.message;
    if (m.kind === 'hello') return;
    const app = this.hosts.get(s) ?? 'unknown';
    this.hub.publish({
      origin: m.kind,
      text: m.kind === 'url' ? m.url : m.text,
      window: { title: m.title, url: m.url, app },
      time: Date.now(),
    });
  }
}

/** Component factory for agent/src/components.ts. */
export function createBrowserReceiver(
  ctx: AgentContext,
  hub: TextUnitHub,
  options: BrowserReceiverOptions = {},
): BrowserReceiver {
  return new BrowserReceiver(ctx, hub, options);
}
