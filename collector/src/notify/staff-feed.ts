// Delivers the StaffNotifications that any part of the collector writes with
// `Notifications.notify(role, …)` (auth/notifications.ts): each new one is queued, once, for
// every contact holding that role (email) and every webhook subscribed to `staff`. The feed
// reads what was written to the notifications namespace since its last tick, so it needs no
// hook in the writers (there are several) and picks up after a restart. `deliveredAt` is set by the sender once every target
// has it; a notification for a role with no contact keeps `deliveredAt: null` (console only).
import type { StaffNotification } from '../auth/notifications.ts';
import type { KvNamespace } from '../store/types.ts';
import { staffMessage } from './content.ts';
import type { Outbox } from './outbox.ts';
import type { SettingsStore } from './settings.ts';

/** How far back a first start looks (older ones were for the console only). */
export const STAFF_LOOKBACK_MS = 24 * 3_600_000;
/** The time span of one key prefix (10 of the key's 15 time digits). */
const BUCKET_MS = 100_000;

export interface StaffFeedDeps {
  notifications: KvNamespace<StaffNotification>;
  picked: KvNamespace<{ at: number; targets: number }>;
  outbox: Outbox;
  settings: SettingsStore;
  consoleUrl: () => string;
  now: () => number;
  since: number;
}

export class StaffFeed {
  private readonly d: StaffFeedDeps;

  constructor(d: StaffFeedDeps) {
    this.d = d;
  }

  /** When the last scan ran; null before the first (which reads back STAFF_LOOKBACK_MS). */
  private lastScanAt: number | null = null;

  /**
   * Notifications written since the last scan. Their keys begin with the 15-digit creation time
   * (auth/notifications.ts), so a scan reads only the 100-second key prefixes since the last one
   * (with 10 s of overlap; repeats are dropped by `picked`), not the whole namespace.
   */
  private async fresh(now: number): Promise<StaffNotification[]> {
    const first = this.lastScanAt === null;
    const from = first ? this.d.since - STAFF_LOOKBACK_MS : (this.lastScanAt as number) - 10_000;
    let rows: StaffNotification[];
    if (first) rows = (await this.d.notifications.list()).map((r) => r.value);
    else {
      rows = [];
      for (let b = Math.floor(from / BUCKET_MS); b <= Math.floor(now / BUCKET_MS); b++)
        for (const r of await this.d.notifications.list({ prefix: String(b).padStart(10, '0') }))
          rows.push(r.value);
    }
    return rows.filter((n) => n.deliveredAt === null && n.at >= from);
  }

  /** Returns how many messages were queued. */
  async tick(): Promise<number> {
    const now = this.d.now();
    const fresh = await this.fresh(now);
    let queued = 0;
    for (const n of fresh) {
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
    // Only after every one was queued: a pass that failed half-way reads the same span again.
    this.lastScanAt = now;
    return queued;
  }
}
