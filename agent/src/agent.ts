// Composition root: builds the agent from its data dir (credentials, outbox, policy) and the
// component list (components.ts), starts everything, and keeps status.json fresh.
import { hostname } from 'node:os';
import { CustodianError, ErrorCode, type ICommand, v1 } from '@custodian/protocol';
import { TextUnitHub } from './capture/text-source.ts';
import { type ComponentFactory, type CoreServices, componentFactories } from './components.ts';
import { ensurePrivateDir } from './config/files.ts';
import { dataPaths } from './config/paths.ts';
import { PolicyStore } from './config/policy-store.ts';
import type { AgentComponent, AgentContext, AgentLogger, LockStateProbe } from './core/contracts.ts';
import { loadCredentials } from './identity/credentials.ts';
import { type CommandOutcome, Link } from './link/link.ts';
import { transportCapability } from './link/transport.ts';
import { CapabilityReporter } from './monitors/capability-reporter.ts';
import { InventoryMonitor } from './monitors/inventory-monitor.ts';
import { WindowFeedHub } from './monitors/window-feed.ts';
import { BlobStore } from './outbox/blob-store.ts';
import { Outbox } from './outbox/outbox.ts';
import { createDesktopNotice } from './platform/desktop-notice.ts';
import { createInventorySource } from './platform/inventory.ts';
import { createLockStateProbe } from './platform/lock-state.ts';
import { createNetworkFacts, type NetworkFactsSource } from './platform/network-facts.ts';
import { setSessionEnvProvider, watchGraphicalSession } from './platform/session.ts';
import { createWindowSource } from './platform/window.ts';
import { ScopeMonitor } from './scope/scope-monitor.ts';
import type { SpawnCounts } from './service/spawn-counter.ts';
import { type AgentStatus, writeStatus } from './service/status-file.ts';

export interface AgentOptions {
  dataDir: string;
  version: string;
  log: AgentLogger;
  /** Newcomer's own machine: USB audit-only and idle lock report-only, unless `enforce`. */
  demo: boolean;
  enforce: boolean;
  outbox?: { maxEvents?: number; maxBytes?: number; minFreeDiskBytes?: number };
  statusIntervalMs?: number;
  /** Overrides for tests; defaults are the real platform implementations. */
  factories?: readonly ComponentFactory[];
  lockState?: LockStateProbe;
  countSpawns?: () => SpawnCounts;
  /** The agent's entry script: inventory then runs in a child process (`<script> inventory`). */
  helperScript?: string;
  /** How often the graphical session is re-checked when the agent has no display. Default 30 s. */
  sessionIntervalMs?: number;
  /** How often a BYOD device re-reads its network for the scope. Default 10 s (CUSTODIAN_SCOPE_POLL_MS). */
  scopePollMs?: number;
  /** Network facts and the collector-LAN probe for the scope (tests); default the platform's. */
  networkFacts?: NetworkFactsSource;
  scopeProbe?: (hostPort: string) => Promise<boolean>;
}

/** Components that talk to the user's display: restarted when the graphical session changes. */
const DISPLAY_BOUND = new Set([
  'window-monitor',
  'idle-lock',
  'capture',
  'browser-extension',
  'typed-text',
  'screen-text',
]);

/**
 * Components that run whatever the BYOD scope (issue 19). Everything else — window, inventory,
 * idle lock, USB control, every capture source, and any component added later — is stopped while
 * a BYOD device is outside its monitoring scope: outside scope the agent collects nothing.
 */
const OUTSIDE_SCOPE = new Set(['transport', 'heartbeat', 'scope']);

export interface RunningAgent {
  deviceId: string;
  outbox: Outbox;
  components: readonly AgentComponent[];
  stop(reason: string): Promise<void>;
}

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  const { log, dataDir } = options;
  const paths = dataPaths(dataDir);
  const creds = await loadCredentials(dataDir);
  if (!creds)
    throw new CustodianError(
      ErrorCode.INVALID_CONFIG,
      `not enrolled (no ${paths.credentials}); run \`custodian-agent enrol --server URL ...\` first`,
    );
  await ensurePrivateDir(dataDir);
  const outbox = await Outbox.open({ dir: paths.outbox, log, ...options.outbox });
  const blobs = new BlobStore({ dir: paths.blobs, log });
  await blobs.init();
  const policy = await PolicyStore.load({
    path: paths.policy,
    log,
    demo: options.demo,
    enforce: options.enforce,
  });
  if (options.demo)
    log.warn(
      options.enforce
        ? 'DEMO MODE with --enforce: USB write control and idle lock ENFORCE the policy on this machine'
        : 'DEMO MODE: USB control runs in audit mode (nothing is blocked) and idle lock only reports ' +
            '(nothing is locked); pass --enforce to enforce',
      { usbMode: policy.current().usb.mode, idleLockReportOnly: policy.current().idleLock.reportOnly },
    );

  // A root service has no display: find the user's desktop session (nothing changes when it has one).
  const session = await watchGraphicalSession(log, {
    ...(options.sessionIntervalMs !== undefined ? { intervalMs: options.sessionIntervalMs } : {}),
  });

  // How this device reaches the collector is reported like any capability, so an --insecure
  // enrolment stays visible in the console.
  const transport = transportCapability(creds.serverUrl, creds.tls);
  if (!transport.available) log.warn('insecure transport to the collector', { reason: transport.reason });
  const components: AgentComponent[] = [
    { name: 'transport', start: async () => {}, stop: async () => {}, capabilities: () => [transport] },
  ];
  const reporter = new CapabilityReporter(() => components, outbox, log);

  // BYOD scope: decided before anything that collects starts (issue 19).
  const scope = new ScopeMonitor({
    byod: creds.kind === 'byod',
    policy,
    facts: options.networkFacts ?? (await createNetworkFacts()),
    notice: await createDesktopNotice(),
    log,
    ...(options.scopeProbe ? { probe: options.scopeProbe } : {}),
    pollMs: options.scopePollMs ?? (Number(process.env['CUSTODIAN_SCOPE_POLL_MS']) || undefined),
  });
  components.push({
    name: 'scope',
    start: async () => {},
    stop: async () => scope.stop(),
    capabilities: () => scope.capabilities(),
  });
  const windowHub = new WindowFeedHub(log);
  const ctx: AgentContext = {
    events: outbox,
    blobs,
    policy,
    log,
    demo: options.demo,
    capabilitiesChanged: () => reporter.changed(),
    lockState: options.lockState ?? createLockStateProbe(),
    dataDir,
    windows: windowHub,
  };
  const core: CoreServices = {
    windowHub,
    textUnits: new TextUnitHub(log),
    windowSource: await createWindowSource(log),
    inventory: new InventoryMonitor(ctx, await createInventorySource(options.version, options.helperScript)),
    outboxDepth: () => outbox.stats().depth,
    scope: () => scope.state(),
  };
  for (const factory of options.factories ?? componentFactories) {
    try {
      components.push(await factory(ctx, core));
    } catch (err) {
      log.error('component could not be created; continuing without it', { err });
    }
  }

  await outbox.emit({
    agentStarted: {
      agentVersion: options.version,
      os: process.platform,
      hostname: hostname(),
      demoMode: options.demo,
    },
  });
  await scope.start();
  const scopeBound = (c: AgentComponent) => !OUTSIDE_SCOPE.has(c.name);
  // `started`: the components this agent runs (those that failed at boot are left out for good);
  // `running`: those of them running now (scope-bound ones are stopped outside scope).
  const started: AgentComponent[] = [];
  const running = new Set<AgentComponent>();
  const startOne = async (c: AgentComponent, why: string): Promise<boolean> => {
    try {
      await c.start();
      running.add(c);
      return true;
    } catch (err) {
      log.error(`component failed to start (${why})`, { component: c.name, err });
      return false;
    }
  };
  const stopOne = async (c: AgentComponent, why: string): Promise<void> => {
    if (!running.delete(c)) return;
    try {
      await c.stop();
    } catch (err) {
      log.error(`component failed to stop (${why})`, { component: c.name, err });
    }
  };
  const inScope = scope.current().inScope;
  if (scope.current().applies) await outbox.emit({ scopeChanged: scope.state() });
  for (const c of components) {
    if (scopeBound(c) && !inScope) {
      started.push(c); // starts when the device enters scope
      continue;
    }
    // One broken component must not take the rest down (a headless box has no display).
    if (await startOne(c, 'at start; continuing without it')) started.push(c);
  }
  await reporter.reportNow();

  // Logout, login, user switch: the display-bound components start over in the new session
  // (they read the environment when they start) and report their capabilities again.
  let restarting: Promise<void> = Promise.resolve();
  let statusDirty = true;
  let stoppingAgent = false;
  session?.onChange(() => {
    restarting = restarting.then(async () => {
      if (stoppingAgent) return;
      // Only those running: a component stopped outside scope stays stopped.
      const bound = started.filter((c) => DISPLAY_BOUND.has(c.name) && running.has(c));
      for (const c of [...bound].reverse()) await stopOne(c, 'for a session change');
      windowHub.publish(undefined); // the old session's window is not the new session's
      for (const c of bound) await startOne(c, 'in the new session');
      reporter.changed();
    });
  });

  // Entering scope: the event first, then everything starts. Leaving it: everything that collects
  // stops first (a capture in flight finishes or is dropped by its stop()), then the event.
  let linkRef: Link | undefined;
  scope.onChange((now) => {
    restarting = restarting.then(async () => {
      if (stoppingAgent) return;
      const bound = started.filter(scopeBound);
      if (now.inScope) {
        await outbox.emit({ scopeChanged: scope.state() });
        for (const c of bound) if (!running.has(c)) await startOne(c, 'entering monitoring scope');
      } else {
        for (const c of [...bound].reverse()) await stopOne(c, 'leaving monitoring scope');
        windowHub.publish(undefined);
        await outbox.emit({ scopeChanged: scope.state() });
      }
      statusDirty = true;
      reporter.changed();
      // In or out of scope means another network: the collector connection's path changed too.
      linkRef?.reconnectNow(now.inScope ? 'entered the school network' : 'left the school network');
    });
  });

  const onCommand = async (command: ICommand): Promise<CommandOutcome> => {
    for (const c of started) {
      if (!c.onCommand || !running.has(c)) continue;
      try {
        if (await c.onCommand(command)) return { ok: true, error: '' };
      } catch (err) {
        log.error('command failed', { component: c.name, kind: command.kind, err });
        return { ok: false, error: (err as Error).message };
      }
    }
    const kind = v1.Command.Kind[command.kind ?? 0] ?? String(command.kind);
    const out = scope.current();
    if (!out.inScope)
      return {
        ok: false,
        error: `${kind} not done: the device is outside its monitoring scope (${out.reason})`,
      };
    return { ok: false, error: `${kind} is not supported on this device` };
  };

  const startedAt = new Date().toISOString();
  const status = (running: boolean): AgentStatus => {
    const s = outbox.stats();
    return {
      pid: process.pid,
      startedAt,
      updatedAt: new Date().toISOString(),
      running,
      demo: options.demo,
      enforce: options.enforce,
      deviceId: creds.deviceId,
      serverUrl: creds.serverUrl,
      link: link.current(),
      outbox: { ...s, pendingGaps: s.pendingGaps.reduce((n, g) => n + g.dropped, 0) },
      policyVersion: policy.version(),
      capabilities: reporter.all(),
      scope: scope.current(),
      ...(options.countSpawns ? { spawns: options.countSpawns() } : {}),
    };
  };
  const link = new Link({
    serverUrl: creds.serverUrl,
    deviceId: creds.deviceId,
    deviceKey: creds.deviceKey,
    trust: creds.tls,
    agentVersion: options.version,
    os: process.platform,
    outbox,
    blobs,
    policy,
    log,
    capabilities: () => reporter.all(),
    onCommand,
    onState: () => {
      statusDirty = true;
    },
    ...pingOverride(),
  });
  linkRef = link;
  link.start();

  let writing: Promise<void> = Promise.resolve();
  const flushStatus = (running: boolean) => {
    writing = writing
      .then(() => writeStatus(paths.status, status(running)))
      .catch((err) => log.warn('status.json not written', { err }));
    return writing;
  };
  await flushStatus(true);
  let ticks = 0;
  const statusTimer = setInterval(() => {
    // Every second when something changed (link state), every 5 s otherwise.
    if (statusDirty || ++ticks % 5 === 0) {
      statusDirty = false;
      void flushStatus(true);
    }
  }, options.statusIntervalMs ?? 1_000);
  statusTimer.unref();

  log.info('agent started', {
    deviceId: creds.deviceId,
    server: creds.serverUrl,
    streamId: outbox.streamId,
    components: started.map((c) => c.name),
  });

  let stopping: Promise<void> | undefined;
  return {
    deviceId: creds.deviceId,
    outbox,
    components,
    stop(reason: string) {
      stopping ??= (async () => {
        stoppingAgent = true;
        session?.stop();
        await restarting;
        clearInterval(statusTimer);
        reporter.stop();
        await outbox.emit({ agentStopping: { reason } }).catch(() => undefined);
        // Give the link a moment to deliver the goodbye; whatever is left goes next session.
        const deadline = Date.now() + 1_000;
        while (link.current().status === 'connected' && outbox.stats().depth > 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        for (const c of [...started].reverse()) await stopOne(c, 'agent stopping');
        await link.stop();
        await flushStatus(false);
        await outbox.close();
        if (session) setSessionEnvProvider(undefined);
        log.info('agent stopped', { reason });
      })();
      return stopping;
    },
  };
}

/**
 * CUSTODIAN_AGENT_PING_INTERVAL_MS (tests and diagnostics only, like CUSTODIAN_AGENT_CLAIM_INTERVAL_MS):
 * how often the link pings the collector; a missing pong drops the connection after two of them.
 * Default 25 s. Values under 1 s or not a number are ignored.
 */
function pingOverride(): { pingIntervalMs?: number } {
  const ms = Number(process.env['CUSTODIAN_AGENT_PING_INTERVAL_MS']);
  return Number.isFinite(ms) && ms >= 1000 ? { pingIntervalMs: ms } : {};
}
