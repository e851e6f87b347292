// Device health and lifecycle as a collector module (issue 18 items 2 and 3): the health monitor
// on a timer, the health queue, the settings record, stale devices and bulk leaver actions.
// Wired in modules.ts.
import type { App, AppModule } from '../app.ts';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../auth/notifications.ts';
import { healthRoutes } from './health-routes.ts';
import { lifecycleRoutes } from './lifecycle-routes.ts';
import { HealthMonitor } from './monitor.ts';
import { HealthQueue } from './queue.ts';

export function installHealth(
  app: App,
  now: () => number = Date.now,
): { monitor: HealthMonitor; queue: HealthQueue } {
  const notifications = new Notifications({
    kv: app.store.kv<StaffNotification>(NOTIFICATIONS_NS),
    audit: app.store.audit,
    now,
  });
  const queue = new HealthQueue({ store: app.store, notifications, now });
  const monitor = new HealthMonitor({
    store: app.store,
    status: app.status,
    queue,
    notifications,
    now,
    log: app.log,
    intervalMs: app.config.health.checkIntervalMs,
  });
  for (const r of [...healthRoutes(app, queue, monitor, now), ...lifecycleRoutes(app, now)])
    app.router.add(r);
  monitor.start();
  app.onStop(() => monitor.stop());
  return { monitor, queue };
}

export const healthModule: AppModule = {
  name: 'health',
  install(app) {
    installHealth(app);
  },
};
