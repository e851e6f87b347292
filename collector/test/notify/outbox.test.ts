// The outbox's rules on a memory store: one entry per (message, channel, target) however often it
// is queued, never again once sent, retries with doubling backoff then given up, old records
// pruned; and the content rule of the staff message (one-line subject).
import { describe, expect, it } from 'vitest';
import type { StaffNotification } from '../../src/auth/notifications.ts';
import { alertFacts, alertMessage, staffMessage } from '../../src/notify/content.ts';
import { type DeliveryLogEntry, Outbox, type OutboxEntry, retryDelayMs } from '../../src/notify/outbox.ts';
import { openMemoryStore } from '../../src/store/index.ts';
import { seedAlert, seedDevice } from '../safeguarding/seed.ts';

function outboxWithClock() {
  const clock = { now: 1_000_000 };
  const store = openMemoryStore(undefined, () => clock.now);
  const outbox = new Outbox({
    pending: store.kv<OutboxEntry>('notify-outbox'),
    sent: store.kv<OutboxEntry>('notify-sent'),
    log: store.kv<DeliveryLogEntry>('notify-log'),
    now: () => clock.now,
  });
  return { clock, outbox, store };
}

const msg = { subject: 's', text: 't', json: {} };
const src = { kind: 'staff' as const, notificationId: 'n1' };

describe('outbox', () => {
  it('queues a (message, target) once; once sent it is never queued again', async () => {
    const { outbox } = outboxWithClock();
    expect(await outbox.enqueue('m1', 'email', 'a@school.test', msg, src)).toBe(true);
    expect(await outbox.enqueue('m1', 'email', 'a@school.test', msg, src)).toBe(false);
    expect(await outbox.enqueue('m1', 'email', 'b@school.test', msg, src)).toBe(true);
    const [first] = await outbox.due();
    await outbox.markSent(first!);
    expect(await outbox.enqueue('m1', first!.channel, first!.target, msg, src)).toBe(false);
    expect(await outbox.pending()).toHaveLength(1);
  });

  it('retries with doubling backoff, then gives up after maxAttempts', async () => {
    const { clock, outbox } = outboxWithClock();
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 30))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(30, 30)).toBe(3_600_000);
    await outbox.enqueue('m2', 'webhook', 'h1', msg, src);
    const retry = { baseSeconds: 10, maxAttempts: 3 };
    await outbox.markFailed((await outbox.due())[0]!, 'HTTP 500', retry);
    expect(await outbox.due()).toEqual([]);
    clock.now += 10_000;
    const again = (await outbox.due())[0]!;
    expect(again).toMatchObject({ attempts: 1, lastError: 'HTTP 500' });
    await outbox.markFailed(again, 'HTTP 500', retry);
    clock.now += 19_999;
    expect(await outbox.due()).toEqual([]);
    clock.now += 1;
    await outbox.markFailed((await outbox.due())[0]!, 'HTTP 502', retry);
    expect(await outbox.pending()).toEqual([]);
    expect((await outbox.sent())[0]).toMatchObject({ state: 'failed', attempts: 3, lastError: 'HTTP 502' });
  });

  it('prunes sent entries and delivery attempts older than the cut-off only', async () => {
    const { clock, outbox } = outboxWithClock();
    await outbox.enqueue('old', 'email', 'a@school.test', msg, src);
    await outbox.markSent((await outbox.due())[0]!);
    await outbox.log({
      endpoint: 'email-aa',
      channel: 'email',
      outboxId: 'x',
      attempt: 1,
      ok: true,
      detail: '250',
      ms: 1,
    });
    clock.now += 100_000;
    await outbox.enqueue('new', 'email', 'a@school.test', msg, src);
    await outbox.markSent((await outbox.due())[0]!);
    await outbox.log({
      endpoint: 'email-aa',
      channel: 'email',
      outboxId: 'y',
      attempt: 1,
      ok: true,
      detail: '250',
      ms: 1,
    });
    expect(await outbox.prune(clock.now - 50_000)).toBe(2);
    expect((await outbox.sent()).map((e) => e.sentAt)).toEqual([clock.now]);
    expect((await outbox.deliveries('email-aa')).map((d) => d.outboxId)).toEqual(['y']);
  });
});

describe('content', () => {
  it('a staff subject stays one header line; an alert message carries no flagged text', async () => {
    const n: StaffNotification = {
      id: '1',
      at: 0,
      to: 'it',
      kind: 'health.offline',
      subject: 'Device offline\r\nBcc: everyone@school.test',
      details: {},
      deliveredAt: null,
    };
    const m = staffMessage(n, 'https://c.test/');
    expect(m.subject).not.toMatch(/[\r\n]/);
    expect(m.subject).toContain('Device offline');
    const store = openMemoryStore();
    const a = await seedAlert(store, {
      device: await seedDevice(store),
      term: 'secretword',
      context: 'ctx secretword',
      title: 'Title secretword',
      url: 'https://x.test/secretword',
      category: '<b>not-a-category</b>',
    });
    const out = alertMessage(alertFacts(a), 'https://c.test', 0);
    const all = JSON.stringify(out);
    expect(all).not.toContain('secretword');
    expect(all).not.toContain('not-a-category');
    expect(out.json).toMatchObject({ category: 'other', link: `https://c.test/#/alerts/${a.id}` });
    // One school: no school in the message; in a trust, the alert's school id (to route by).
    expect(out.json).not.toHaveProperty('schoolId');
    expect(out.text).not.toContain('School:');
    const inB = alertMessage(alertFacts({ ...a, schoolId: 'school-b' }), 'https://c.test', 0);
    expect(inB.json).toMatchObject({ schoolId: 'school-b', alertId: a.id });
    expect(inB.text).toContain('School: school-b');
  });
});
