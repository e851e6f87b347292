// The health monitor shell on a memory store with a fake clock and status: it opens, keeps one
// item per device and kind, and survives IT resolving an item while a pass is running.
import { describe, expect, it } from 'vitest';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../../src/auth/notifications.ts';
import { HealthMonitor } from '../../src/health/monitor.ts';
import { HealthQueue } from '../../src/health/queue.ts';
import { writeHealthSettings } from '../../src/health/settings.ts';
import { openMemoryStore } from '../../src/store/index.ts';
import type { DeviceLiveStatus } from '../../src/store/types.ts';

const MIN = 60_000;

async function setup() {
  let now = Date.UTC(2026, 10, 25, 10, 0);
  const clock = () => now;
  const store = openMemoryStore(undefined, clock);
  const notifications = new Notifications({
    kv: store.kv<StaffNotification>(NOTIFICATIONS_NS),
    audit: store.audit,
    now: clock,
  });
  const queue = new HealthQueue({ store, notifications, now: clock });
  const statuses = new Map<string, DeviceLiveStatus>();
  const monitor = new HealthMonitor({
    store,
    status: { get: (id) => statuses.get(id) ?? { deviceId: id, connected: false, usbVolumes: [] } },
    queue,
    notifications,
    now: clock,
    intervalMs: 3_600_000,
  });
  await writeHealthSettings(store, { offlineMinutes: 5 }, 'test', now);
  await store.devices.put({
    id: 'd_1',
    kind: 'school',
    machineId: 'm',
    hostname: 'h',
    os: 'linux',
    serial: 's',
    keyHash: 'x',
    enrolledAt: now - 86_400_000,
  });
  statuses.set('d_1', { deviceId: 'd_1', connected: true, lastSeenAt: now, usbVolumes: [] });
  return {
    store,
    queue,
    monitor,
    statuses,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('HealthMonitor', () => {
  it('opens once while the condition lasts, resolves when it clears', async () => {
    const t = await setup();
    t.advance(10 * MIN); // the monitor started listening at setup: 10 min of silence since
    t.statuses.set('d_1', {
      deviceId: 'd_1',
      connected: false,
      lastSeenAt: t.now() - 10 * MIN,
      usbVolumes: [],
    });
    expect((await t.monitor.check()).opened.map((a) => a.kind)).toEqual(['agent-stopped']);
    expect((await t.monitor.check()).opened).toEqual([]);
    t.statuses.set('d_1', { deviceId: 'd_1', connected: true, lastSeenAt: t.now(), usbVolumes: [] });
    expect((await t.monitor.check()).resolved.map((a) => a.resolvedBy)).toEqual(['system']);
    const notices = (await t.store.kv<StaffNotification>(NOTIFICATIONS_NS).list()).map((r) => r.value);
    expect(notices.map((n) => [n.to, n.kind])).toEqual([['it', 'health.agent-stopped']]);
  });

  it('an item IT resolves while a pass runs is left resolved by IT; the pass goes on', async () => {
    const t = await setup();
    t.advance(10 * MIN);
    t.statuses.set('d_1', {
      deviceId: 'd_1',
      connected: false,
      lastSeenAt: t.now() - 10 * MIN,
      usbVolumes: [],
    });
    const [opened] = (await t.monitor.check()).opened;
    t.statuses.set('d_1', { deviceId: 'd_1', connected: true, lastSeenAt: t.now(), usbVolumes: [] });
    // IT resolves between the pass reading the queue and acting on it.
    const resolve = t.queue.resolve.bind(t.queue);
    t.queue.resolve = async (id, actor, note) => {
      if (actor === 'system') await resolve(id, 'it-person', 'fixed it');
      return resolve(id, actor, note);
    };
    const r = await t.monitor.check();
    expect(r.resolved).toEqual([]);
    expect(await t.queue.get(opened?.id as string)).toMatchObject({
      state: 'resolved',
      resolvedBy: 'it-person',
    });
  });
});
