// Composition root of the collector: one validated config in, one Store, the live hub, the
// services, the HTTP server with its routes and the ingest WebSocket endpoint out. Feature
// modules (staff auth, safeguarding, console) plug in through `MODULES` (modules.ts) and the
// `App` surface below; nothing else reaches into the internals.
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bridgeBus } from './bus/bridge.ts';
import { type Bus, createBus, describeNatsUrl } from './bus/index.ts';
import type { CollectorConfig } from './config.ts';
import { commandRoutes } from './devices/command-routes.ts';
import { devicesRoutes } from './devices/routes.ts';
import { createAdminTokenAuthenticator } from './enrol/admin-token.ts';
import { agreementRoutes } from './enrol/agreement-routes.ts';
import { enrolRoutes } from './enrol/routes.ts';
import { EnrolService } from './enrol/service.ts';
import { openApiRoutes } from './http/openapi.ts';
import { actorOf, type Principal, Router } from './http/router.ts';
import { type Authenticator, createHooks, createServer, type HttpHooks } from './http/server.ts';
import { IngestServer } from './ingest/server.ts';
import { TextScreens } from './ingest/text-screen.ts';
import { LiveHub } from './live/hub.ts';
import { liveRoutes } from './live/routes.ts';
import { StatusTracker } from './live/status.ts';
import { createLogger, type Logger } from './log.ts';
import { type MetricCounts, newCounts } from './metrics/counts.ts';
import { createMetrics } from './metrics/metrics.ts';
import { MODULES } from './modules.ts';
import { healthRoutes } from './ops/health-routes.ts';
import { policyRoutes } from './policy/routes.ts';
import { PolicyService } from './policy/service.ts';
import { RetentionJob } from './retention/job.ts';
import { retentionRoutes } from './retention/routes.ts';
import {
  describePostgresUrl,
  loadOrCreateKeyFile,
  openLevelStore,
  openPostgresStore,
  parseKey,
} from './store/index.ts';
import { sealPlainRecords } from './store/seal-migration.ts';
import type { AuditRecord, Store } from './store/types.ts';
import { DeviceSchools } from './tenancy/device-schools.ts';
import { DeviceGroups } from './tenancy/groups.ts';
import { groupRoutes } from './tenancy/groups-routes.ts';
import { Schools } from './tenancy/schools.ts';
import { schoolsRoutes } from './tenancy/schools-routes.ts';

export interface AppModule {
  name: string;
  install(app: App): void | Promise<void>;
}

export interface App {
  readonly config: CollectorConfig;
  readonly log: Logger;
  /** The one Store of this process. */
  readonly store: Store;
  readonly router: Router;
  readonly hooks: HttpHooks;
  /** Same array as hooks.authenticators; the admin-token authenticator is first. */
  readonly authenticators: Authenticator[];
  /** Post-commit notifications: 'event', 'alert', 'status', 'device', 'policy'. */
  readonly live: LiveHub;
  /** What crosses collector processes (config `bus`): none, or NATS JetStream (bus/). */
  readonly bus: Bus;
  readonly status: StatusTracker;
  /** The safeguarding library compiled per policy: marks device text only the DSL may see. */
  readonly screens: TextScreens;
  readonly policy: PolicyService;
  /** Device groups within schools (tenancy/groups.ts); `groups.schoolExists` is wired to the schools registry. */
  readonly groups: DeviceGroups;
  readonly enrol: EnrolService;
  readonly ingest: IngestServer;
  readonly retention: RetentionJob;
  /** The trust's schools (tenancy/schools.ts); `schools.exists(id)` for other modules. */
  readonly schools: Schools;
  /** Each device's school, in memory (live feeds and per-row filters). */
  readonly deviceSchools: DeviceSchools;
  /** The app's clock (injectable in tests; retention and data protection read it). */
  readonly now: () => number;
  /** Plain counters for `/metrics` (metrics/counts.ts): bump them, the registry reads them. */
  readonly counts: MetricCounts;
  /** Credentials created (or set from the environment) at this start; empty on later starts. */
  readonly credentials: { adminToken?: string; enrolSecret?: string };
  /** Writes an audit record with the principal (or 'system') as actor. */
  audit(
    who: Principal | string | undefined,
    action: string,
    target: string,
    details?: Record<string, unknown>,
    ip?: string,
  ): Promise<AuditRecord>;
  /** Registers a module's teardown (timers, listeners); run first by `stop()`, in reverse order. */
  onStop(fn: () => void | Promise<void>): void;
  /** Listens; resolves with the base URLs once the port is bound. */
  start(): Promise<{ url: string; wsUrl: string; port: number }>;
  /** Graceful: stops accepting, finishes in-flight batches, closes sessions, closes the store. */
  stop(): Promise<void>;
}

export interface CreateAppOptions {
  config: CollectorConfig;
  /** Environment for first-start credentials and the screenshot key (default process.env). */
  env?: Record<string, string | undefined>;
  log?: Logger;
  /** A store to use instead of opening level in config.dataDir (tests); the app still closes it on stop. */
  store?: Store;
  modules?: AppModule[];
  now?: () => number;
}

// Kept here too for the feature modules that import it from the app.
export { actorOf };

export async function createApp(options: CreateAppOptions): Promise<App> {
  const { config } = options;
  const env = options.env ?? process.env;
  const log = options.log ?? createLogger(config.logLevel);
  const now = options.now ?? Date.now;

  const store = options.store;
  if (!store) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const envKey = env['CUSTODIAN_SCREENSHOT_KEY'];
    let key: Uint8Array;
    if (envKey) {
      key = parseKey(envKey, 'CUSTODIAN_SCREENSHOT_KEY');
    } else {
      const loaded = loadOrCreateKeyFile(config.screenshotKeyFile);
      if (loaded.created)
        log.warn(
          { file: config.screenshotKeyFile },
          'created screenshot key file: back it up, screenshots cannot be read without it',
        );
      key = loaded.key;
    }
    const opened = await openConfiguredStore(config, key, log, now);
    // A start that fails after this point (bad credentials in the environment, a module that
    // throws) must release the level lock (or PostgreSQL writer lock), or a retry in the same
    // process gets LEVEL_LOCKED (CUST_ERR_STORE_LOCKED).
    try {
      return await assemble(options, opened, log, now, env);
    } catch (err) {
      await opened.close().catch(() => undefined);
      throw err;
    }
  }
  return assemble(options, store, log, now, env);
}

/** The store `config.store` names: level under `<dataDir>/db`, or the PostgreSQL database. */
async function openConfiguredStore(
  config: CollectorConfig,
  key: Uint8Array,
  log: Logger,
  now: () => number,
): Promise<Store> {
  if (config.store === 'postgres') {
    const store = await openPostgresStore(
      {
        url: config.postgres.url,
        poolMax: config.postgres.poolMax,
        // Several collectors on one database share it (bus: nats); alone, one holds it.
        sharedWriters: config.bus === 'nats',
      },
      key,
      now,
    );
    log.info({ store: 'postgres', database: describePostgresUrl(config.postgres.url) }, 'store opened');
    return store;
  }
  const store = await openLevelStore(config.dataDir, key, now, {
    onHealthChange: (h) =>
      h.ok
        ? log.warn('store recovered: writes succeed again')
        : log.error({ err: h.error }, 'store failing: writes refused until the store reopens'),
  });
  log.info({ store: 'level', location: join(config.dataDir, 'db') }, 'store opened');
  return store;
}

async function assemble(
  options: CreateAppOptions,
  store: Store,
  log: Logger,
  now: () => number,
  env: NodeJS.ProcessEnv,
): Promise<App> {
  const { config } = options;
  const live = new LiveHub({ ssePerUser: config.http.maxSseStreamsPerUser });
  const router = new Router();
  const hooks = createHooks();
  const audit: App['audit'] = (who, action, target, details, ip) =>
    store.audit.append({
      actor: actorOf(who),
      action,
      target,
      ...(details ? { details } : {}),
      ...(ip ? { ip } : {}),
    });

  // Before anything reads or writes: records from before at-rest sealing are sealed once.
  const sealed = await sealPlainRecords(store);
  if (!sealed.skipped) log.info({ ...sealed }, 'safeguarding text at rest: plain records sealed');

  const enrol = new EnrolService({ store, live, log, config, now, audit });
  const credentials = await enrol.bootstrap(env);
  hooks.authenticators.push(createAdminTokenAuthenticator(store));

  const schools = new Schools(store, now);
  const groups = new DeviceGroups({ store, now, schoolExists: (id) => schools.exists(id) });
  const policy = new PolicyService({
    store,
    live,
    log,
    audit,
    groups,
    limits: { minIdleLockSeconds: config.policy.minIdleLockSeconds },
  });
  await policy.init();
  const screens = new TextScreens({ policy, live });
  await screens.init();
  const deviceSchools = new DeviceSchools(store, live);
  await deviceSchools.load();
  const status = new StatusTracker({ store, live, now, screens });
  await status.load();
  enrol.lastSeenAt = (id) => status.get(id).lastSeenAt;
  const counts = newCounts();
  const bus = createBus(config, log);
  const ingest = new IngestServer({
    bus,
    store,
    live,
    log,
    config,
    policy,
    enrol,
    status,
    screens,
    now,
    audit,
    counts,
  });
  hooks.upgrades.set('/ws/agent', (req, socket, head) => ingest.handleUpgrade(req, socket, head));
  const retention = new RetentionJob({ store, log, config, now, audit, counts });

  let server: Server | undefined;
  let unbridge: (() => void) | undefined;
  const stoppers: (() => void | Promise<void>)[] = [];
  const app: App = {
    config,
    log,
    store,
    router,
    hooks,
    authenticators: hooks.authenticators,
    live,
    bus,
    status,
    screens,
    policy,
    groups,
    enrol,
    ingest,
    retention,
    schools,
    deviceSchools,
    now,
    counts,
    credentials,
    audit,
    async start() {
      server = createServer({ router, hooks, log, tls: config.tls, limits: config.http });
      const srv = server;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(config.port, config.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      const port = (srv.address() as AddressInfo).port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
      const wsUrl = `${config.tls ? 'wss' : 'ws'}://${host}:${port}/ws/agent`;
      enrol.setServerUrl(config.publicUrl || url);
      ingest.start();
      if (bus.kind !== 'none') {
        unbridge = bridgeBus({ bus, live, status, store, ingest, log, now });
        log.info(
          { bus: bus.kind, process: bus.processId, nats: describeNatsUrl(config.nats.url) },
          'bus started (connects in the background)',
        );
      }
      retention.start();
      // Always printed (scripts and tests wait for it), whatever the configured level.
      const announce = config.logLevel === 'silent' ? log : log.child({}, { level: 'info' });
      announce.info({ url, wsUrl, port, dataDir: config.dataDir }, 'collector listening');
      return { url, wsUrl, port };
    },
    onStop(fn) {
      stoppers.push(fn);
    },
    async stop() {
      for (const fn of stoppers.splice(0).reverse()) await fn();
      retention.stop();
      const srv = server;
      const closed = srv ? new Promise<void>((resolve) => srv.close(() => resolve())) : Promise.resolve();
      await ingest.shutdown();
      srv?.closeAllConnections();
      await closed;
      unbridge?.();
      await bus.close();
      await retention.idle();
      await store.close();
      log.info('collector stopped');
    },
  };

  const metrics = createMetrics({
    counts,
    ingest,
    live,
    status,
    alerts: store.alerts,
    purges: store.purges,
    allowFrom: config.metrics.allowFrom,
    now,
  });
  app.onStop(() => metrics.stop());
  for (const route of [
    metrics.route,
    ...healthRoutes(app),
    ...agreementRoutes(app),
    ...enrolRoutes(app),
    ...devicesRoutes(app),
    ...commandRoutes(app),
    ...policyRoutes(app),
    ...groupRoutes(app),
    ...liveRoutes(app),
    ...retentionRoutes(app),
    ...schoolsRoutes(app),
    ...openApiRoutes(() => router.routes),
  ]) {
    router.add(route);
  }
  for (const mod of options.modules ?? MODULES) {
    await mod.install(app);
    log.debug({ module: mod.name }, 'module installed');
  }
  return app;
}
