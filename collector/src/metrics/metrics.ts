// Prometheus `/metrics` (text exposition format, prom-client). Reachable with the admin API token
// or, without credentials, from the addresses in config metrics.allowFrom; a staff session of any
// role (admin included) is refused 403.
// Hot paths only bump plain numbers (counts.ts) or feed one histogram per group commit; every
// figure here is read when scraped. No label carries a device, user or address: the series
// count is fixed whatever the size of the fleet.
import { BlockList, isIP } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Route } from '../http/router.ts';
import type { LiveHub } from '../live/hub.ts';
import type { AlertStore, DeviceLiveStatus, Store } from '../store/types.ts';
import type { MetricCounts } from './counts.ts';

/** What the metrics read; narrow so tests and the composition root can hand in just these. */
export interface MetricsSources {
  counts: MetricCounts;
  ingest: {
    readonly agentsConnected: number;
    readonly connectionCount: number;
    readonly committer: { observe: ((seconds: number) => void) | undefined };
  };
  live: Pick<LiveHub, 'on' | 'off' | 'streams'>;
  status: { list(): DeviceLiveStatus[] };
  alerts: Pick<AlertStore, 'list'>;
  purges: Pick<Store['purges'], 'list'>;
  /** IPs and CIDR ranges allowed without the token (config metrics.allowFrom, validated). */
  allowFrom: readonly string[];
  now: () => number;
}

/** Seconds: a group commit normally takes one disk sync (a few ms); seconds mean a sick disk. */
export const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Alert figures are read from the store at most this often, and again at once after a new alert. */
export const ALERT_SCAN_MS = 15_000;
const SEVERITIES = ['1', '2', '3', '4', '5'] as const;

export interface CollectorMetrics {
  readonly registry: Registry;
  readonly route: Route;
  /** Detaches the listeners and the commit observer (app.onStop). */
  stop(): void;
}

export function createMetrics(src: MetricsSources): CollectorMetrics {
  const registry = new Registry();
  const registers = [registry];
  const { counts } = src;

  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  gauge(
    'custodian_agents_connected',
    'Agents with an authenticated session now.',
    () => src.ingest.agentsConnected,
  );
  gauge(
    'custodian_ingest_connections',
    'Agent WebSocket connections now, including those not yet authenticated.',
    () => src.ingest.connectionCount,
  );
  counter(
    'custodian_ingest_events_committed_total',
    'Events durably stored (rate() gives events per second).',
    () => counts.ingestEvents,
  );
  counter('custodian_ingest_batches_total', 'Event batches committed and acked.', () => counts.ingestBatches);
  counter(
    'custodian_ingest_duplicates_total',
    'Events received again and not stored (replays after a lost ack, repeats within a batch).',
    () => counts.ingestDuplicates,
  );
  const commit = new Histogram({
    name: 'custodian_ingest_commit_seconds',
    help: 'Group commit latency: from the first write of a group queued to the synced write done.',
    buckets: COMMIT_BUCKETS,
    registers,
  });
  const observe = (seconds: number) => commit.observe(seconds);
  src.ingest.committer.observe = observe;

  const outbox = () => {
    let sum = 0;
    let max = 0;
    let reporting = 0;
    for (const s of src.status.list()) {
      if (!s.connected || !s.lastHeartbeat) continue;
      const depth = Number(s.lastHeartbeat['outboxDepth'] ?? 0);
      if (!Number.isFinite(depth) || depth < 0) continue;
      reporting++;
      sum += depth;
      if (depth > max) max = depth;
    }
    return { sum, max, reporting };
  };
  new Gauge({
    name: 'custodian_agents_outbox_events',
    help: 'Events waiting in the outboxes of connected agents, from their last heartbeat: stat="sum" over agents, "max" of one agent.',
    labelNames: ['stat'] as const,
    registers,
    collect() {
      const o = outbox();
      this.set({ stat: 'sum' }, o.sum);
      this.set({ stat: 'max' }, o.max);
    },
  });
  gauge(
    'custodian_agents_reporting_outbox',
    'Connected agents that have sent a heartbeat (the outbox figures cover these).',
    () => outbox().reporting,
  );

  // Alerts: one scan of the alert index, shared by both metrics and by concurrent scrapes.
  let scan: { at: number; result: Promise<{ bySeverity: Map<string, number>; oldest: number }> } | undefined;
  const onAlert = () => {
    scan = undefined;
  };
  src.live.on('alert', onAlert);
  const alerts = () => {
    const now = src.now();
    if (!scan || now - scan.at >= ALERT_SCAN_MS) {
      const result = src.alerts.list({ status: ['new'], limit: Number.MAX_SAFE_INTEGER }).then((list) => {
        const bySeverity = new Map<string, number>(SEVERITIES.map((s) => [s, 0]));
        let oldest = Number.POSITIVE_INFINITY;
        for (const a of list) {
          const sev = String(Math.min(5, Math.max(1, Math.round(a.severity) || 1)));
          bySeverity.set(sev, (bySeverity.get(sev) ?? 0) + 1);
          if (a.createdAt < oldest) oldest = a.createdAt;
        }
        return { bySeverity, oldest };
      });
      scan = { at: now, result };
      // A failed read is not cached: the next scrape tries again (and this one reports the error).
      result.catch(() => {
        if (scan?.result === result) scan = undefined;
      });
    }
    return scan.result;
  };
  new Gauge({
    name: 'custodian_alerts_new',
    help: 'Safeguarding alerts not yet looked at by the DSL (status new), by severity 1-5.',
    labelNames: ['severity'] as const,
    registers,
    async collect() {
      const { bySeverity } = await alerts();
      for (const [severity, n] of bySeverity) this.set({ severity }, n);
    },
  });
  new Gauge({
    name: 'custodian_alerts_oldest_new_age_seconds',
    help: 'Age of the oldest alert still new (0 when none is waiting).',
    registers,
    async collect() {
      const { oldest } = await alerts();
      this.set(Number.isFinite(oldest) ? Math.max(0, (src.now() - oldest) / 1000) : 0);
    },
  });

  gauge(
    'custodian_sse_clients',
    'Open live feeds (/live and /alerts/live) of the console.',
    () => src.live.streams.total,
  );
  counter(
    'custodian_login_failures_total',
    'Staff sign-ins refused for a wrong username or password.',
    () => counts.loginFailures,
  );
  new Counter({
    name: 'custodian_login_throttled_total',
    help: 'Staff sign-ins refused 429 before checking the password: reason="failures" (the login throttle), "busy" (too many checks in hand).',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ reason: 'failures' }, counts.loginThrottled);
      this.inc({ reason: 'busy' }, counts.loginBusy);
    },
  });
  new Counter({
    name: 'custodian_retention_runs_total',
    help: 'Retention purges run by this process: result="ok" or "failed".',
    labelNames: ['result'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, counts.retentionRuns);
      this.inc({ result: 'failed' }, counts.retentionFailures);
    },
  });
  new Counter({
    name: 'custodian_notify_deliveries_total',
    help: 'Notification deliveries by this process: result="sent", "failed-attempt" (retried), "given-up" (after the last attempt). Alert on given-up: a DSL was not told.',
    labelNames: ['result'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'sent' }, counts.notifySent);
      this.inc({ result: 'failed-attempt' }, counts.notifyFailedAttempts);
      this.inc({ result: 'given-up' }, counts.notifyGivenUp);
    },
  });
  new Gauge({
    name: 'custodian_retention_last_run_timestamp_seconds',
    help: 'When the last recorded retention purge ran (Unix seconds; 0 if never).',
    registers,
    async collect() {
      const [last] = await src.purges.list(1);
      this.set(last ? last.at / 1000 : 0);
    },
  });

  const allowed = allowList(src.allowFrom);
  const route: Route = {
    method: 'GET',
    path: '/metrics',
    access: ['admin'],
    // The admin token only: a staff session (even an admin's) is refused, like any other caller
    // not on metrics.allowFrom.
    tokenOnly: true,
    ...(allowed ? { allowFrom: allowed } : {}),
    raw: true,
    handler: async ({ res }) => {
      const text = await registry.metrics();
      res.writeHead(200, {
        'content-type': registry.contentType,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    },
  };
  return {
    registry,
    route,
    stop() {
      src.live.off('alert', onAlert);
      if (src.ingest.committer.observe === observe) src.ingest.committer.observe = undefined;
    },
  };
}

/** A matcher for IPs and CIDR ranges (config.ts isAddressRange validated them); undefined when empty. */
export function allowList(ranges: readonly string[]): ((ip: string) => boolean) | undefined {
  if (ranges.length === 0) return undefined;
  const list = new BlockList();
  for (const range of ranges) {
    const [addr = '', prefix] = range.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(prefix), family);
  }
  return (ip) => {
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
}
