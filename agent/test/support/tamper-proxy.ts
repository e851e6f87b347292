// A WebSocket relay between a real agent and a real collector that can alter a message in
// transit, for the paths a well-behaved collector never takes on its own: bytes corrupted on
// the way (so the collector's own hash check answers HASH_MISMATCH) or a policy the agent
// cannot apply (an older agent meeting a newer collector). Every other frame, ping and close
// passes through unchanged; the collector decides everything it answers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AgentMessage,
  type CollectorMessage,
  decodeAgentMessage,
  decodeCollectorMessage,
  encodeAgentMessage,
  encodeCollectorMessage,
  type IAgentMessage,
  type ICollectorMessage,
  SUBPROTOCOL,
} from '@custodian/protocol';
import { WebSocket, WebSocketServer } from 'ws';

export interface TamperRules {
  /** Return a replacement for a message from the agent, or undefined to pass it unchanged. */
  toCollector?: (msg: AgentMessage) => IAgentMessage | undefined;
  /** Return a replacement for a message from the collector, or undefined to pass it unchanged. */
  toAgent?: (msg: CollectorMessage) => ICollectorMessage | undefined;
}

export class TamperProxy {
  /** Every message the agent sent, as sent (before any change). */
  readonly fromAgent: AgentMessage[] = [];
  private readonly upstream: string;
  private readonly rules: TamperRules;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  port = 0;

  /** @param upstreamWsUrl the collector's ingest URL (ws://host:port/ws/agent) */
  constructor(upstreamWsUrl: string, rules: TamperRules) {
    this.upstream = upstreamWsUrl;
    this.rules = rules;
  }

  /** The server URL to give the agent. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const http = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({
      noServer: true,
      handleProtocols: (p) => (p.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    http.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (agent) => this.relay(agent));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    this.port = (http.address() as AddressInfo).port;
    this.http = http;
    this.wss = wss;
  }

  async stop(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private relay(agent: WebSocket): void {
    const collector = new WebSocket(this.upstream, SUBPROTOCOL, { perMessageDeflate: false });
    const held: Buffer[] = [];
    agent.on('message', (data: Buffer) => {
      const msg = decodeAgentMessage(new Uint8Array(data));
      this.fromAgent.push(msg);
      const changed = this.rules.toCollector?.(msg);
      const out = changed ? Buffer.from(encodeAgentMessage(changed)) : data;
      if (collector.readyState === WebSocket.OPEN) collector.send(out);
      else held.push(out);
    });
    collector.on('open', () => {
      for (const b of held.splice(0)) collector.send(b);
    });
    collector.on('message', (data: Buffer) => {
      const changed = this.rules.toAgent?.(decodeCollectorMessage(new Uint8Array(data)));
      agent.send(changed ? encodeCollectorMessage(changed) : data);
    });
    const closeBoth = (code: number, reason: Buffer, other: WebSocket) => {
      // 1005/1006 cannot be sent in a close frame: the other side is cut off instead.
      if (code === 1005 || code === 1006) other.terminate();
      else if (other.readyState === WebSocket.OPEN) other.close(code, reason);
      else other.terminate();
    };
    collector.on('close', (code, reason) => closeBoth(code, reason, agent));
    agent.on('close', (code, reason) => closeBoth(code, reason, collector));
    collector.on('error', () => agent.terminate());
    agent.on('error', () => collector.terminate());
  }
}
