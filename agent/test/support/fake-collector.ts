// A small collector speaking the real protocol over real sockets on 127.0.0.1, for the agent's
// link and composition-root tests that need switches a real collector does not have: withhold
// acks, answer HASH_MISMATCH once, reject every blob, stop answering pings. It keeps its state
// across stop()/restart() as a durable collector would. What the agent tests rely on is held to
// the real collector by one conformance suite run against both (collector-conformance.ts);
// the paths driven here with switches also run against a real collector process in
// link/link-real-collector.test.ts.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AgentMessage,
  CloseCode,
  decodeAgentMessage,
  type Event,
  encodeCollectorMessage,
  type ICollectorMessage,
  type IPolicy,
  SUBPROTOCOL,
  v1,
} from '@custodian/protocol';
import { WebSocket, WebSocketServer } from 'ws';

export const ENROL_SECRET = 'test-enrol-secret';
/** The content types a real collector accepts for blobs (collector/src/ingest/blob-upload.ts). */
const CONTENT_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
export const AGREEMENT = { version: '2026-1', text: 'You agree that this school device is monitored.' };

export interface FakeDevice {
  deviceId: string;
  deviceKey: string;
  machineId: string;
  hostname: string;
  revoked: boolean;
  userName?: string;
  agreementVersion?: string;
}

export interface FakeCollectorOptions {
  /** Answer each blob's first upload with HASH_MISMATCH (the resend is stored). */
  blobHashMismatchOnce?: boolean;
  /** Answer every blob with REJECTED. */
  rejectBlobs?: boolean;
  /** Send this policy after Welcome. */
  policy?: IPolicy;
  /** Do not ack batches (to hold events in flight). */
  withholdAcks?: boolean;
}

export class FakeCollector {
  readonly devices = new Map<string, FakeDevice>();
  /** Timeline per device: events in arrival order, deduplicated by (stream, seq). */
  readonly timeline = new Map<string, Event[]>();
  readonly held = new Map<string, Set<number>>();
  readonly received: AgentMessage[] = [];
  readonly blobs = new Map<string, { contentType: string; data: Buffer }>();
  readonly duplicates = { count: 0 };
  options: FakeCollectorOptions;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Map<string, WebSocket>();
  private readonly blobParts = new Map<string, Buffer[]>();
  private readonly mismatched = new Set<string>();
  private readonly frozen = new Set<string>();
  /** BYOD one-time codes not used yet. */
  private readonly codes = new Set<string>();
  port = 0;

  constructor(options: FakeCollectorOptions = {}) {
    this.options = options;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const http = createServer((req, res) => void this.route(req, res));
    const wss = new WebSocketServer({
      noServer: true,
      autoPong: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    http.on('upgrade', (req, socket, head) => {
      if (req.url !== '/ws/agent') return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => this.session(ws));
    });
    await new Promise<void>((resolve) => http.listen(this.port, '127.0.0.1', resolve));
    this.port = (http.address() as AddressInfo).port;
    this.http = http;
    this.wss = wss;
  }

  /** Stops like a killed process: sockets dropped, no close frames. */
  async stop(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.sockets.clear();
    this.wss?.close();
    await new Promise<void>((resolve) => {
      if (!this.http) return resolve();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.http = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  events(deviceId: string): Event[] {
    return this.timeline.get(deviceId) ?? [];
  }

  connected(deviceId: string): boolean {
    return this.sockets.get(deviceId)?.readyState === WebSocket.OPEN;
  }

  send(deviceId: string, msg: ICollectorMessage): void {
    const ws = this.sockets.get(deviceId);
    if (!ws) throw new Error(`device ${deviceId} not connected`);
    ws.send(encodeCollectorMessage(msg));
  }

  /** The device's connection goes half-dead: it stays open but answers no ping. */
  freeze(deviceId: string): void {
    this.frozen.add(deviceId);
  }

  /** A BYOD one-time code, valid for one enrolment. */
  issueCode(): string {
    const code = `CODE-${randomBytes(4).toString('hex').toUpperCase()}`;
    this.codes.add(code);
    return code;
  }

  revoke(deviceId: string): void {
    const d = this.devices.get(deviceId);
    if (d) d.revoked = true;
    this.sockets.get(deviceId)?.close(CloseCode.DEVICE_REVOKED, 'revoked');
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/api/v1/agreement') {
      return json(200, { ...AGREEMENT, sha256: sha256Hex(AGREEMENT.text) });
    }
    if (req.method === 'POST' && req.url === '/api/v1/enrol') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      if (body['code'] !== undefined) {
        if (
          body['acceptAgreement'] !== true ||
          body['agreementVersion'] !== AGREEMENT.version ||
          body['agreementSha256'] !== sha256Hex(AGREEMENT.text)
        )
          return json(400, { error: { code: 'CUST_ERR_AGREEMENT_NOT_ACCEPTED', message: 'accept it' } });
        if (!this.codes.delete(String(body['code'])))
          return json(403, { error: { code: 'CUST_ERR_BAD_ENROL_CODE', message: 'bad code' } });
      } else if (body['secret'] !== ENROL_SECRET) {
        return json(403, { error: { code: 'CUST_ERR_BAD_ENROL_SECRET', message: 'bad secret' } });
      }
      const device: FakeDevice = {
        deviceId: randomUUID(),
        deviceKey: randomBytes(32).toString('base64url'),
        machineId: String(body['machineId']),
        hostname: String(body['hostname']),
        revoked: false,
        ...(typeof body['userName'] === 'string' ? { userName: body['userName'] } : {}),
        ...(typeof body['agreementVersion'] === 'string'
          ? { agreementVersion: body['agreementVersion'] }
          : {}),
      };
      this.devices.set(device.deviceId, device);
      return json(200, { deviceId: device.deviceId, deviceKey: device.deviceKey, serverUrl: this.url });
    }
    json(404, { error: { code: 'CUST_ERR_NOT_FOUND', message: 'no such route' } });
  }

  private session(ws: WebSocket): void {
    let deviceId: string | undefined;
    const reply = (msg: ICollectorMessage) => ws.send(encodeCollectorMessage(msg));
    ws.on('ping', (data) => {
      if (!deviceId || !this.frozen.has(deviceId)) ws.pong(data);
    });
    ws.on('message', (data: Buffer) => {
      const msg = decodeAgentMessage(data);
      this.received.push(msg);
      if (!deviceId) {
        const hello = msg.hello;
        const device = hello ? this.devices.get(hello.deviceId ?? '') : undefined;
        if (!hello || !device || device.deviceKey !== hello.deviceKey)
          return ws.close(CloseCode.AUTH_FAILED, 'auth');
        if (device.revoked) return ws.close(CloseCode.DEVICE_REVOKED, 'revoked');
        deviceId = device.deviceId;
        this.sockets.get(deviceId)?.close(CloseCode.REPLACED, 'replaced');
        this.sockets.set(deviceId, ws);
        reply({
          welcome: { ackedSeq: this.maxHeld(deviceId, hello.streamId ?? ''), serverTimeMs: Date.now() },
        });
        if (this.options.policy) reply({ policy: this.options.policy });
        return;
      }
      if (msg.batch) {
        const streamId = msg.batch.streamId ?? '';
        const held = this.heldSet(deviceId, streamId);
        let dup = 0;
        for (const e of msg.batch.events ?? []) {
          const seq = Number(e.seq);
          if (held.has(seq)) {
            dup++;
            continue;
          }
          held.add(seq);
          const list = this.timeline.get(deviceId) ?? [];
          list.push(v1.Event.decode(v1.Event.encode(e).finish()));
          this.timeline.set(deviceId, list);
        }
        this.duplicates.count += dup;
        if (!this.options.withholdAcks)
          reply({ ack: { streamId, seq: this.maxHeld(deviceId, streamId), duplicates: dup } });
        return;
      }
      if (msg.blobChunk) {
        const c = msg.blobChunk;
        const blobId = c.blobId ?? '';
        const parts = this.blobParts.get(blobId) ?? [];
        parts[c.index ?? 0] = Buffer.from(c.data ?? []);
        this.blobParts.set(blobId, parts);
        if (parts.filter(Boolean).length < (c.totalChunks ?? 0)) return;
        this.blobParts.delete(blobId);
        const data = Buffer.concat(parts);
        const ok = createHash('sha256')
          .update(data)
          .digest()
          .equals(Buffer.from(c.sha256 ?? []));
        if (this.options.rejectBlobs)
          return reply({ blobAck: { blobId, status: v1.BlobAck.Status.REJECTED, reason: 'too big' } });
        if (!CONTENT_TYPES.has(c.contentType ?? ''))
          return reply({
            blobAck: { blobId, status: v1.BlobAck.Status.REJECTED, reason: 'content type not accepted' },
          });
        if (!ok || (this.options.blobHashMismatchOnce && !this.mismatched.has(blobId))) {
          this.mismatched.add(blobId);
          return reply({ blobAck: { blobId, status: v1.BlobAck.Status.HASH_MISMATCH } });
        }
        this.blobs.set(blobId, { contentType: c.contentType ?? '', data });
        reply({ blobAck: { blobId, status: v1.BlobAck.Status.STORED } });
      }
    });
    ws.on('close', () => {
      if (deviceId && this.sockets.get(deviceId) === ws) this.sockets.delete(deviceId);
    });
  }

  private heldSet(deviceId: string, streamId: string): Set<number> {
    const key = `${deviceId}/${streamId}`;
    let s = this.held.get(key);
    if (!s) {
      s = new Set();
      this.held.set(key, s);
    }
    return s;
  }

  private maxHeld(deviceId: string, streamId: string): number {
    let max = 0;
    for (const seq of this.heldSet(deviceId, streamId)) if (seq > max) max = seq;
    return max;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
