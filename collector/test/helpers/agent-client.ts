// A minimal protocol client for tests: a real `ws` client speaking custodian.v1 to a real
// collector. Messages are queued; `next(kind)` waits for the next message of that kind.
import { createHash, randomUUID } from 'node:crypto';
import {
  type CollectorMessage,
  decodeCollectorMessage,
  encodeAgentMessage,
  type IAgentMessage,
  type IEvent,
  SUBPROTOCOL,
} from '@custodian/protocol';
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class AgentClient {
  readonly ws: WebSocket;
  readonly messages: CollectorMessage[] = [];
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];
  opened: Promise<void>;

  constructor(wsUrl: string, protocols: string[] = [SUBPROTOCOL]) {
    this.ws = new WebSocket(wsUrl, protocols);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      });
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: Buffer) => {
      this.messages.push(decodeCollectorMessage(new Uint8Array(data)));
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  send(msg: IAgentMessage): void {
    this.ws.send(encodeAgentMessage(msg));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Removes and returns the first queued message of `kind` (waits up to `timeoutMs`). */
  async next<K extends NonNullable<CollectorMessage['body']>>(
    kind: K,
    timeoutMs = 10_000,
  ): Promise<CollectorMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => m.body === kind);
      if (i >= 0) return this.messages.splice(i, 1)[0] as CollectorMessage;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed while waiting for ${kind}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Has a message of `kind` arrived (without waiting)? */
  has(kind: NonNullable<CollectorMessage['body']>): boolean {
    return this.messages.some((m) => m.body === kind);
  }

  async hello(deviceId: string, deviceKey: string, streamId: string, extra: Record<string, unknown> = {}) {
    await this.opened;
    this.send({
      hello: {
        deviceId,
        deviceKey,
        streamId,
        agentVersion: 'test-0.1',
        os: 'linux',
        lastSeq: 0,
        policyVersion: 0,
        ...extra,
      },
    });
    const welcome = await this.next('welcome');
    const policy = await this.next('policy');
    return { welcome: welcome.welcome!, policy: policy.policy! };
  }

  /** Sends one batch and waits for its ack. */
  async batch(streamId: string, events: IEvent[]) {
    this.send({ batch: { streamId, events } });
    return (await this.next('ack')).ack!;
  }

  close(): void {
    this.ws.close();
  }
}

export function heartbeat(seq: number, timeMs = Date.now()): IEvent {
  return { seq, timeMs, heartbeat: { uptimeSeconds: seq, loggedInUser: 'pupil1', outboxDepth: 0 } };
}

export function windowEvent(seq: number, title: string, timeMs = Date.now()): IEvent {
  return { seq, timeMs, activeWindow: { app: 'firefox', title, url: '', pid: 42 } };
}

export function flagged(seq: number, term: string, blobIds: string[] = [], timeMs = Date.now()): IEvent {
  return {
    seq,
    timeMs,
    flaggedActivity: {
      category: 'self-harm',
      severity: 4,
      matchedTerm: term,
      context: `... ${term} ...`,
      window: { app: 'firefox', title: `how to ${term}`, url: 'https://example.test/?q=x', pid: 1 },
      screenshotBlobIds: blobIds,
      source: 'title',
    },
  };
}

export function newStreamId(): string {
  return randomUUID();
}

export function sha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest();
}
