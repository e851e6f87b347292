// Delivers the StaffNotifications that any part of the collector writes with
// `Notifications.notify(role, …)` (auth/notifications.ts): each new one is queued, once, for
// every contact holding that role (email) and every webhook subscribed to `staff`. The feed
// reads the notifications namespace on each tick, so it needs no hook in the writers (there are
// several) and picks up after a restart. `deliveredAt` is set by the sender once every target
// has it; a notification for a role with no contact keeps `deliveredAt: null` (console only).
import type { StaffNotification } from '../auth/notifications.ts';
import type { KvNamespace } from '../store/types.ts';
import { staffMessage } from './content.ts';
import type { Outbox } from './outbox.ts';
import type { SettingsStore } from './settings.ts';

/** How far back a first start looks (older ones were for the console only). */
export const STAFF_LOOKBACK_MS = 24 * 3_600_000;
/** Newest notifications read per tick. */
const SCAN = 500;

export class StaffFeed {
  private readonly d: {
    notifications: KvNamespace<StaffNotification>;
    picked: KvNamespace<{ at: number; targets: number }>;
    outbox: Outbox;
    settings: SettingsStore;
    consoleUrl: () => string;
    now: () => number;
    since: number;
  };

  constructor(d: {
    notifications: KvNamespace<StaffNotification>;
    picked: KvNamespace<{ at: number; targets: number }>;
    outbox: Outbox;
    settings: SettingsStore;
    consoleUrl: () => string;
    now: () => number;
    since: number;
  }) {
    this.d = d;
  }

  /** Returns how many messages were queued. */
  async tick(): Promise<number> {
    const rows = await this.d.notifications.list({ reverse: true, limit: SCAN });
    const fresh = rows
      .map((r) => r.value)
      .filter((n) => n.deliveredAt === null && n.at >= this.d.since - STAFF_LOOKBACK_MS);
    let queued = 0;
    for (const n of fresh.reverse()) {
      if (await this.d.picked.get(n.id)) continue;
      const s = await this.d.settings.read();
      const message = staffMessage(n, this.d.consoleUrl());
      const key = `staff-${n.id}`;
      let targets = 0;
      for (const c of s.contacts.filter((c) => c.role === n.to)) {
        targets++;
        if (
          await this.d.outbox.enqueue(key, 'email', c.email, message, { kind: 'staff', notificationId: n.id })
        )
          queued++;
      }
      for (const w of s.webhooks.filter((w) => w.events.includes('staff'))) {
        targets++;
        if (
          await this.d.outbox.enqueue(key, 'webhook', w.id, message, { kind: 'staff', notificationId: n.id })
        )
          queued++;
      }
      await this.d.picked.put(n.id, { at: this.d.now(), targets });
    }
    return queued;
  }
}
