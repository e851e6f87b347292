// The agent's end of the browser channel (channel.ts): accepts native hosts that present this
// start's token, checks every line again, and publishes page text, typed text and tab URLs as
// text units (capture matches them). Reports the `browser_extension` capability: available while
// at least one browser's extension is connected, naming the browsers.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, chown, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TextUnitHub } from '../capture/text-source.ts';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import { sessionEnv } from '../platform/session.ts';
import { defaultRunDir, type HostHello, MAX_LINE_BYTES, SOCKET_NAME, tokenPaths } from './channel.ts';
import { checkBrowserMessage } from './messages.ts';

export interface BrowserReceiverOptions {
  /** Default: defaultRunDir(ctx.dataDir). */
  runDir?: string;
}

export class BrowserReceiver implements AgentComponent {
  readonly name = 'browser-extension';
  private readonly ctx: AgentContext;
  private readonly hub: TextUnitHub;
  private readonly runDir: string;
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
  }

  /** Browsers whose extension is connected now (the keyboard source leaves their keys to it). */
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
    await mkdir(this.runDir, { recursive: true, mode: 0o755 });
    await chmod(this.runDir, 0o755);
    const socketPath = join(this.runDir, SOCKET_NAME);
    await rm(socketPath, { force: true });
    this.token = randomBytes(32);
    await this.writeToken();
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o666);
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
    await rm(join(this.runDir, SOCKET_NAME), { force: true });
  }

  /** The desktop user's runtime dir when there is one (token readable by that user only). */
  private async writeToken(): Promise<void> {
    const runtime = sessionEnv()['XDG_RUNTIME_DIR'];
    const owner = runtime ? await stat(runtime).catch(() => undefined) : undefined;
    const [path] = tokenPaths(this.runDir, owner?.isDirectory() ? runtime : undefined);
    this.tokenFile = path!;
    await rm(this.tokenFile, { force: true });
    await writeFile(this.tokenFile, this.token.toString('hex'), { mode: 0o600 });
    if (owner?.isDirectory() && this.tokenFile.startsWith(runtime!)) {
      await chown(this.tokenFile, owner.uid, owner.gid);
      await chmod(this.tokenFile, 0o400);
    }
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    let buf = '';
    let authed = false;
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
        if (!authed) {
          authed = this.hello(s, line);
          if (!authed) {
            this.ctx.log.warn('browser channel: connection without the agent token refused');
            s.destroy();
          }
        } else this.line(s, line);
        nl = buf.indexOf('\n');
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      this.sockets.delete(s);
      if (this.hosts.delete(s)) this.ctx.capabilitiesChanged();
    });
  }

  private hello(s: Socket, line: string): boolean {
    let h: Partial<HostHello>;
    try {
      h = JSON.parse(line) as Partial<HostHello>;
    } catch {
      return false;
    }
    if (h.t !== 'hello' || typeof h.token !== 'string' || !/^[0-9a-f]{64}$/.test(h.token)) return false;
    if (!timingSafeEqual(Buffer.from(h.token, 'hex'), this.token)) return false;
    const browser = typeof h.browser === 'string' && /^[\w.-]{1,40}$/.test(h.browser) ? h.browser : 'unknown';
    this.hosts.set(s, browser);
    this.ctx.log.info('browser extension connected', { browser });
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
