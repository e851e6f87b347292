// The delivery loop: takes due outbox entries one at a time, sends each on its channel, writes
// the per-endpoint delivery log, and marks it sent (or retries with backoff). After a message
// went it records what it was for: a line in the alert's history with its audit record (one
// batch), or `deliveredAt` on the staff notification once every target has it.
import { AUDIT } from '../auth/audit.ts';
import type { StaffNotification } from '../auth/notifications.ts';
import type { Logger } from '../log.ts';
import type { MetricCounts } from '../metrics/counts.ts';
import type { AuditInput, KvNamespace, Store } from '../store/types.ts';
import { sendEmail } from './email.ts';
import { endpointKey, type Outbox, type OutboxEntry } from './outbox.ts';
import type { NotifySettings, SettingsStore } from './settings.ts';
import { postWebhook } from './webhook.ts';

export interface SenderDeps {
  store: Store;
  outbox: Outbox;
  settings: SettingsStore;
  notifications: KvNamespace<StaffNotification>;
  log: Logger;
  now: () => number;
  /** `/metrics` counters (absent in unit tests). */
  counts?: Pick<MetricCounts, 'notifySent' | 'notifyFailedAttempts' | 'notifyGivenUp'> | undefined;
}

/** One attempt on the wire. Throws (or returns ok: false) when the endpoint did not take it. */
export async function deliverOnce(
  e: Pick<OutboxEntry, 'id' | 'channel' | 'target' | 'message'>,
  s: NotifySettings,
  now: number,
): Promise<{ ok: boolean; detail: string }> {
  if (e.channel === 'email') {
    if (!s.smtp) return { ok: false, detail: 'no SMTP relay is set' };
    return { ok: true, ...(await sendEmail(s.smtp, e.target, e.message, e.id)) };
  }
  const hook = s.webhooks.find((w) => w.id === e.target);
  if (!hook) return { ok: false, detail: 'webhook deleted' };
  return postWebhook(hook.url, hook.secret, e.message.json, e.id, now);
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err))
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .slice(0, 200);
}

export class Sender {
  private running = false;
  private again = false;

  private readonly d: SenderDeps;

  constructor(d: SenderDeps) {
    this.d = d;
  }

  /** Sends what is due. Re-entrant calls fold into one more pass. */
  async tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        for (const e of await this.d.outbox.due()) await this.attempt(e);
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  private async attempt(e: OutboxEntry): Promise<void> {
    const { outbox } = this.d;
    // Sent before a crash that came before the waiting entry was removed.
    if (await outbox.isSent(e.id)) return outbox.drop(e.id);
    const s = await this.d.settings.read();
    const started = this.d.now();
    let result: { ok: boolean; detail: string };
    try {
      result = await deliverOnce(e, s, started);
    } catch (err) {
      result = { ok: false, detail: errorText(err) };
    }
    const endpoint = endpointKey(e.channel, e.target);
    await outbox.log({
      endpoint,
      channel: e.channel,
      outboxId: e.id,
      attempt: e.attempts + 1,
      ok: result.ok,
      detail: result.detail,
      ms: this.d.now() - started,
    });
    const counts = this.d.counts;
    if (result.ok) {
      if (counts) counts.notifySent++;
      await outbox.markSent(e);
      await this.afterSent(e, endpoint);
      return;
    }
    if (result.detail === 'webhook deleted') {
      await outbox.drop(e.id);
      return;
    }
    const retry = { baseSeconds: s.delivery.retryBaseSeconds, maxAttempts: s.delivery.maxAttempts };
    const last = e.attempts + 1 >= retry.maxAttempts;
    if (counts) {
      if (last) counts.notifyGivenUp++;
      else counts.notifyFailedAttempts++;
    }
    await outbox.markFailed(e, result.detail, retry);
    this.d.log.warn(
      { channel: e.channel, endpoint, attempt: e.attempts + 1, error: result.detail },
      'notification not delivered',
    );
    if (last && e.source.kind === 'alert')
      await this.alertHistory(e, endpoint, 'notify-failed', AUDIT.alertNotifyFailed, result.detail);
  }

  private async afterSent(e: OutboxEntry, endpoint: string): Promise<void> {
    if (e.source.kind === 'alert') {
      await this.alertHistory(e, endpoint, 'notified', AUDIT.alertNotified);
      return;
    }
    const { notificationId } = e.source;
    const waiting = (await this.d.outbox.pending()).some(
      (p) => p.source.kind === 'staff' && p.source.notificationId === notificationId,
    );
    if (waiting) return;
    const at = this.d.now();
    await this.d.notifications.update(notificationId, (n) =>
      n && n.deliveredAt === null ? { ...n, deliveredAt: at } : n,
    );
  }

  private async alertHistory(
    e: OutboxEntry,
    endpoint: string,
    action: string,
    auditAction: string,
    error?: string,
  ): Promise<void> {
    if (e.source.kind !== 'alert') return;
    const { alertId, step, contactId } = e.source;
    const to = contactId ? `contact:${contactId}` : `webhook:${e.target}`;
    const details: Record<string, unknown> = { channel: e.channel, endpoint, to, step, outboxId: e.id };
    if (error) details['error'] = error;
    const record: AuditInput = { actor: 'system', action: auditAction, target: `alert:${alertId}`, details };
    try {
      await this.d.store.alerts.update(
        alertId,
        (a) => {
          a.history.push({ at: this.d.now(), actor: 'system', action, to, from: e.channel });
          return a;
        },
        record,
      );
    } catch (err) {
      this.d.log.warn({ err, alertId }, 'could not record a notification on its alert');
    }
  }
}
