// The staff feed over a memory store with a fake clock: notifications written through the real
// Notifications service are queued once per contact of their role, those older than the
// look-back at the first start are left to the console, later ones are found by the scan of
// recent key prefixes, and a role with no contact is console-only.
import { describe, expect, it } from 'vitest';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../../src/auth/notifications.ts';
import { type DeliveryLogEntry, Outbox, type OutboxEntry } from '../../src/notify/outbox.ts';
import { DEFAULT_SETTINGS, type NotifySettings, SettingsStore } from '../../src/notify/settings.ts';
import { STAFF_LOOKBACK_MS, StaffFeed } from '../../src/notify/staff-feed.ts';
import { openMemoryStore } from '../../src/store/index.ts';

describe('staff feed', () => {
  it('queues each notice once for the contacts of its role, finding later ones by key prefix', async () => {
    const clock = { now: Date.UTC(2026, 10, 30, 10, 0) };
    const now = () => clock.now;
    const store = openMemoryStore(undefined, now);
    const kv = store.kv<StaffNotification>(NOTIFICATIONS_NS);
    const notices = new Notifications({ kv, audit: store.audit, now });
    const settings = new SettingsStore(store.kv<NotifySettings>('notify-settings'));
    await settings.update(() => ({
      ...DEFAULT_SETTINGS,
      contacts: [
        { id: 'a', name: 'Tech A', email: 'a@school.test', role: 'it' },
        { id: 'b', name: 'Tech B', email: 'b@school.test', role: 'it' },
      ],
    }));
    const outbox = new Outbox({
      pending: store.kv<OutboxEntry>('notify-outbox'),
      sent: store.kv<OutboxEntry>('notify-sent'),
      log: store.kv<DeliveryLogEntry>('notify-log'),
      now,
    });
    const picked = store.kv<{ at: number; targets: number }>('notify-staff-picked');
    const ancient = await notices.notify('it', 'health.offline', 'long ago');
    clock.now += STAFF_LOOKBACK_MS + 60_000;
    const recent = await notices.notify('it', 'health.offline', 'an hour ago');
    const forGovernors = await notices.notify('governor', 'report.ready', 'report');
    clock.now += 3_600_000;
    const feed = new StaffFeed({
      notifications: kv,
      picked,
      outbox,
      settings,
      consoleUrl: () => 'https://c.test',
      now,
      since: now(),
    });

    expect(await feed.tick()).toBe(2);
    expect(await picked.get(ancient.id)).toBeUndefined();
    expect(await picked.get(forGovernors.id)).toMatchObject({ targets: 0 });
    const targets = async () =>
      (await outbox.pending())
        .map((e) => `${(e.source as { notificationId: string }).notificationId} ${e.target}`)
        .sort();
    expect(await targets()).toEqual([`${recent.id} a@school.test`, `${recent.id} b@school.test`]);
    expect(await feed.tick()).toBe(0);

    // Later, in another 100-second key prefix than the last scan.
    clock.now += 250_000;
    const later = await notices.notify('it', 'health.usb-failing', 'USB enforcement failing');
    clock.now += 1_000;
    expect(await feed.tick()).toBe(2);
    expect((await targets()).filter((t) => t.startsWith(later.id))).toHaveLength(2);
    expect(await feed.tick()).toBe(0);
  });
});
