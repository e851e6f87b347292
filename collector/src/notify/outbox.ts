// The notification module's own durable outbox (kv `notify-outbox`: waiting; `notify-sent`:
// done, kept as the record that a message went) and the per-endpoint delivery log
// (`notify-log`). An entry's key is derived from (message, channel, target), so enqueueing the
// same message for the same target twice — after a crash, a restart, a rescan — is one entry,
// and once it is in `notify-sent` it is never sent again.
import { createHash } from 'node:crypto';
import { randomId } from '../store/records.ts';
import type { KvNamespace } from '../store/types.ts';
import type { Message } from './content.ts';

export type Channel = 'email' | 'webhook';

/** Why the message exists (what to update once it went). */
export type Source =
  | { kind: 'alert'; alertId: string; step: number; contactId?: string }
  | { kind: 'staff'; notificationId: string };

export interface OutboxEntry {
  id: string;
  channel: Channel;
  /** An email address, or a webhook id. */
  target: string;
  message: Message;
  source: Source;
  createdAt: number;
  attempts: number;
  nextTryAt: number;
  lastError: string | null;
  state: 'pending' | 'sent' | 'failed';
  sentAt: number | null;
}

export interface DeliveryLogEntry {
  at: number;
  endpoint: string;
  channel: Channel;
  outboxId: string;
  attempt: number;
  ok: boolean;
  /** HTTP status or SMTP response line (no message content). */
  detail: string;
  ms: number;
}

export const OUTBOX_NS = 'notify-outbox';
export const SENT_NS = 'notify-sent';
export const LOG_NS = 'notify-log';

/** The stable id of (message, channel, target): also the Message-ID / delivery header, for receivers to drop a repeat. */
export function entryId(messageKey: string, channel: Channel, target: string): string {
  return createHash('sha256').update(`${messageKey}\n${channel}\n${target}`).digest('base64url').slice(0, 32);
}

/** Endpoint key for the delivery log: a webhook's id, or `email-` and a hash of the address. */
export function endpointKey(channel: Channel, target: string): string {
  return channel === 'webhook'
    ? `webhook-${target}`
    : `email-${createHash('sha256').update(target.toLowerCase()).digest('hex').slice(0, 16)}`;
}

/** Delay before attempt `attempts + 1`: base, doubling, capped at an hour. Pure. */
export function retryDelayMs(attempts: number, baseSeconds: number): number {
  return Math.min(baseSeconds * 1000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

export interface OutboxDeps {
  pending: KvNamespace<OutboxEntry>;
  sent: KvNamespace<OutboxEntry>;
  log: KvNamespace<DeliveryLogEntry>;
  now: () => number;
}

export class Outbox {
  private readonly o: OutboxDeps;

  constructor(o: OutboxDeps) {
    this.o = o;
  }

  /** Adds the message for the target unless it is already waiting or sent. Returns true if added. */
  async enqueue(
    messageKey: string,
    channel: Channel,
    target: string,
    message: Message,
    source: Source,
  ): Promise<boolean> {
    const id = entryId(messageKey, channel, target);
    if (await this.o.sent.get(id)) return false;
    let added = false;
    const now = this.o.now();
    await this.o.pending.update(id, (cur) => {
      if (cur) return cur;
      added = true;
      return {
        id,
        channel,
        target,
        message,
        source,
        createdAt: now,
        attempts: 0,
        nextTryAt: now,
        lastError: null,
        state: 'pending',
        sentAt: null,
      };
    });
    return added;
  }

  /** Entries due now, oldest first. */
  async due(limit = 50): Promise<OutboxEntry[]> {
    const now = this.o.now();
    return (await this.o.pending.list())
      .map((e) => e.value)
      .filter((e) => e.nextTryAt <= now)
      .sort((a, b) => a.nextTryAt - b.nextTryAt)
      .slice(0, limit);
  }

  async pending(): Promise<OutboxEntry[]> {
    return (await this.o.pending.list()).map((e) => e.value);
  }

  async sent(limit = 200): Promise<OutboxEntry[]> {
    return (await this.o.sent.list())
      .map((e) => e.value)
      .sort((a, b) => (b.sentAt ?? 0) - (a.sentAt ?? 0))
      .slice(0, limit);
  }

  async isSent(id: string): Promise<boolean> {
    return (await this.o.sent.get(id)) !== undefined;
  }

  /** Sent: into `notify-sent` first, then out of the waiting list (a crash between the two is caught by isSent). */
  async markSent(e: OutboxEntry): Promise<OutboxEntry> {
    const done: OutboxEntry = { ...e, state: 'sent', sentAt: this.o.now(), attempts: e.attempts + 1 };
    await this.o.sent.put(e.id, done);
    await this.o.pending.del(e.id);
    return done;
  }

  /** A failed attempt: retry later with backoff, or give up after `maxAttempts` (kept in `notify-sent` as failed). */
  async markFailed(e: OutboxEntry, error: string, retry: { baseSeconds: number; maxAttempts: number }) {
    const attempts = e.attempts + 1;
    if (attempts >= retry.maxAttempts) {
      await this.o.sent.put(e.id, { ...e, attempts, lastError: error, state: 'failed' });
      await this.o.pending.del(e.id);
      return;
    }
    await this.o.pending.put(e.id, {
      ...e,
      attempts,
      lastError: error,
      nextTryAt: this.o.now() + retryDelayMs(attempts, retry.baseSeconds),
    });
  }

  async drop(id: string): Promise<void> {
    await this.o.pending.del(id);
  }

  /** Deletes sent (or given-up) entries and delivery attempts older than `before`. Returns how many. */
  async prune(before: number): Promise<number> {
    let n = 0;
    for (const { key, value } of await this.o.sent.list())
      if ((value.sentAt ?? value.createdAt) < before) {
        await this.o.sent.del(key);
        n++;
      }
    for (const { key, value } of await this.o.log.list())
      if (value.at < before) {
        await this.o.log.del(key);
        n++;
      }
    return n;
  }

  async log(entry: Omit<DeliveryLogEntry, 'at'>): Promise<void> {
    const at = this.o.now();
    await this.o.log.put(`${entry.endpoint}-${String(at).padStart(15, '0')}-${randomId(6)}`, {
      ...entry,
      at,
    });
  }

  /** The delivery log of one endpoint (or all), newest first. */
  async deliveries(endpoint?: string, limit = 100): Promise<DeliveryLogEntry[]> {
    const rows = await this.o.log.list(endpoint ? { prefix: `${endpoint}-`, reverse: true } : {});
    return rows
      .map((r) => r.value)
      .sort((a, b) => b.at - a.at)
      .slice(0, limit);
  }
}
