// Notifications as a collector module (issue 18): new alerts at or above the threshold go to
// the DSL rota by email and to `alert` webhooks; every StaffNotification (auth/notifications.ts)
// goes to the contacts holding its role and to `staff` webhooks. Everything leaves through the
// module's own durable outbox. One timer drives the staff feed, the rota and the sender; new
// alerts also wake it at once (post-commit, from the live hub: nothing runs on ingest's path).
import type { App, AppModule } from '../app.ts';
import { NOTIFICATIONS_NS, type StaffNotification } from '../auth/notifications.ts';
import type { Alert } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID } from '../tenancy/model.ts';
import { type DeliveryLogEntry, LOG_NS, OUTBOX_NS, Outbox, type OutboxEntry, SENT_NS } from './outbox.ts';
import type { RotaState } from './rota.ts';
import { RotaRunner } from './rota-runner.ts';
import { notifyRoutes } from './routes.ts';
import { SCHOOL_LAYERS_NS, type SchoolNotifyLayer } from './school-layer.ts';
import { schoolNotifyRoutes } from './school-routes.ts';
import { Sender } from './sender.ts';
import { type NotifySettings, SETTINGS_NS, SettingsStore } from './settings.ts';
import { StaffFeed } from './staff-feed.ts';

/** Sent messages and delivery attempts are kept this long (the alert's history and the audit log keep theirs for good). */
export const KEEP_RECORDS_MS = 90 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
/** How long stop() waits for a pass in hand. */
const STOP_WAIT_MS = 3_000;

export interface NotifyModuleOptions {
  /** How often the loop runs (default 1000 ms). */
  tickMs?: number;
  now?: () => number;
}

export interface InstalledNotify {
  settings: SettingsStore;
  outbox: Outbox;
  rota: RotaRunner;
  sender: Sender;
  staff: StaffFeed;
  /** One pass now: staff feed, rota, sender. */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export async function installNotify(
  app: Pick<App, 'store' | 'router' | 'live' | 'log' | 'config' | 'enrol'> &
    Partial<Pick<App, 'counts' | 'schools'>>,
  options: NotifyModuleOptions = {},
): Promise<InstalledNotify> {
  const now = options.now ?? Date.now;
  const { store } = app;
  const log = app.log.child({ module: 'notify' });
  const settings = new SettingsStore(
    store.kv<NotifySettings>(SETTINGS_NS),
    store.kv<SchoolNotifyLayer>(SCHOOL_LAYERS_NS),
  );
  const outbox = new Outbox({
    pending: store.kv<OutboxEntry>(OUTBOX_NS),
    sent: store.kv<OutboxEntry>(SENT_NS),
    log: store.kv<DeliveryLogEntry>(LOG_NS),
    now,
  });
  const consoleUrl = () => app.config.publicUrl || app.enrol.publicUrl;
  const notifications = store.kv<StaffNotification>(NOTIFICATIONS_NS);
  const rota = new RotaRunner({
    store,
    states: store.kv<RotaState>('notify-rota'),
    active: store.kv<{ since: number }>('notify-rota-active'),
    outbox,
    settings,
    consoleUrl,
    log,
    now,
  });
  const sender = new Sender({ store, outbox, settings, notifications, log, now, counts: app.counts });
  const staff = new StaffFeed({
    notifications,
    picked: store.kv<{ at: number; targets: number }>('notify-staff-picked'),
    outbox,
    settings,
    consoleUrl,
    now,
    since: now(),
  });

  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let recovered = false;
  // The pass is a single-runner job: with several collector processes on one database
  // (PostgreSQL sharedWriters) one of them runs it at a time (`runExclusive`; a pass skipped here
  // runs on the process holding it, and the next tick anywhere takes over when that one dies),
  // so an outbox entry is claimed and sent by one process and a rota steps once.
  const pass = () =>
    store.runExclusive('notify', async () => {
      if (!recovered) {
        await rota.recover();
        recovered = true;
      }
      await staff.tick();
      await rota.stepAll();
      await sender.tick();
    });
  // At most one pass waiting behind the one running: a slow relay does not pile up passes.
  let queued = false;
  let lastPrune = 0;
  const tick = () => {
    if (stopped || queued) return running;
    queued = true;
    running = running
      .then(async () => {
        queued = false;
        await pass();
        if (now() - lastPrune >= PRUNE_EVERY_MS) {
          lastPrune = now();
          await store.runExclusive('notify', () => outbox.prune(now() - KEEP_RECORDS_MS));
        }
      })
      .catch((err: unknown) => log.error({ err }, 'notification pass failed'));
    return running;
  };
  const onAlert = (a: Alert) => {
    if (stopped) return;
    running = running
      .then(async () => {
        if (await rota.start(a)) await store.runExclusive('notify', () => sender.tick());
      })
      .catch((err: unknown) =>
        log.error({ err, alertId: a.id }, 'could not start notifications for an alert'),
      );
  };
  app.live.on('alert', onAlert);
  const timer = setInterval(() => void tick(), options.tickMs ?? 1000);
  timer.unref();

  for (const r of notifyRoutes({ store, settings, outbox, consoleUrl, now })) app.router.add(r);
  const { schools } = app;
  const schoolExists = schools
    ? (id: string) => schools.exists(id)
    : async (id: string) => id === DEFAULT_SCHOOL_ID;
  for (const r of schoolNotifyRoutes({ settings, schoolExists, now })) app.router.add(r);

  return {
    settings,
    outbox,
    rota,
    sender,
    staff,
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      app.live.off('alert', onAlert);
      // The store closes after this: let a pass in hand finish its writes, but do not hold the
      // shutdown for a relay that hangs (what it was sending stays waiting and goes after the restart).
      let wait: NodeJS.Timeout | undefined;
      await Promise.race([
        running,
        new Promise<void>((resolve) => (wait = setTimeout(resolve, STOP_WAIT_MS))),
      ]);
      clearTimeout(wait);
    },
  };
}

export function createNotifyModule(options: NotifyModuleOptions = {}): AppModule {
  return {
    name: 'notify',
    async install(app) {
      const installed = await installNotify(app, options);
      app.onStop(installed.stop);
    },
  };
}

export const notifyModule: AppModule = createNotifyModule();
