// The collectors under simulation (issue 20 item 5): ONE collector process (level or
// PostgreSQL), or K collector processes over one PostgreSQL database, sharing a NATS JetStream
// bus (`nats-server -js`, Debian package nats-server) behind one HAProxy front (Debian package
// haproxy, WebSocket-aware: `timeout tunnel`), with generated configs in a temp dir. Agents and
// the console then see one URL, as a trust's laptops would.
//
// K > 1 needs the bus (config `bus: nats`, `nats.url`) and a PostgreSQL store that takes several
// writers (issue 20 items 2–4, built on other branches this stop). A collector that refuses the
// setup (an unknown `bus` setting, or the one-writer lock CUST_ERR_STORE_LOCKED) stops the run
// with a message saying so (BusRequiredError), not a bare start-up failure.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import type { PgCluster } from '../support/postgres.ts';
import { hasCommand } from '../support/tools.ts';

export type StoreKind = 'level' | 'postgres';

export interface ClusterOptions {
  collectors: number;
  store: StoreKind;
  /** Required for store postgres: the database is made in it. */
  pg?: PgCluster;
  /**
   * Reuse a database an earlier cluster filled (its devices stay enrolled): with it, the at-rest
   * key file and the credentials that database was used with.
   */
  reuse?: ReusableStore;
  /** `haproxy`: agents and consoles go through an HAProxy front (always with K > 1). Default: direct for K = 1. */
  front?: 'direct' | 'haproxy';
  /** Extra collector environment (limits raised for the simulation). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Cluster {
  /** What agents and consoles use: the collector itself (K = 1) or the HAProxy front. */
  readonly url: string;
  readonly wsUrl: string;
  readonly collectors: CollectorProcess[];
  readonly adminToken: string;
  readonly enrolSecret: string;
  /** PostgreSQL database name (store postgres). */
  readonly database: string | undefined;
  /** Sum over the collectors of agentsConnected (GET /api/v1/health of each process). */
  agentsConnected(): Promise<number>;
  /** Restarts every collector (SIGTERM, wait, start again on the same data), all at once. */
  restartAll(): Promise<void>;
  stop(): Promise<void>;
  /** Whether each collector runs and its last log lines; the last output of nats-server and haproxy. */
  helperOutput(): string;
  /** How the collectors were started, for the bench notes. */
  describe(): string;
}

/** A PostgreSQL database and what opens it again: the next cluster over it finds its devices. */
export interface ReusableStore {
  database: string;
  /** The at-rest key the database's sealed records were written with (kept outside the cluster's temp dir). */
  keyFile: string;
  adminToken: string;
  enrolSecret: string;
}

export class BusRequiredError extends Error {}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A long-running helper process (nats-server, haproxy) and its output for error messages. */
function helper(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  });
  child.stderr?.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  });
  return { child, output: () => out };
}

async function listening(port: number, what: string, h: ReturnType<typeof helper>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (h.child.exitCode !== null || h.child.signalCode !== null)
      throw new Error(
        `${what} exited (${h.child.exitCode ?? h.child.signalCode}): ${h.output().slice(-800)}`,
      );
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`${what} not listening on ${port}: ${h.output().slice(-800)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Connections HAProxy may hold: it needs two descriptors per proxied connection and refuses to
 * start when its maxconn needs more than the process may open (ulimit -n).
 */
function haproxyMaxconn(): number {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  return Number.isFinite(limit) ? Math.max(1_000, Math.min(100_000, Math.floor((limit - 200) / 2))) : 10_000;
}

/** nats.conf for one JetStream server on loopback. */
export function natsConfig(port: number, storeDir: string): string {
  return [
    `listen: 127.0.0.1:${port}`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(storeDir)}`,
    '  max_memory_store: 256MB',
    '  max_file_store: 2GB',
    '}',
    // Thousands of live updates a second fan out to every collector: the default 64 MB pending
    // per client is ample; a slow collector is cut off rather than buffered without bound.
    'max_payload: 1MB',
    '',
  ].join('\n');
}

/**
 * haproxy.cfg: one front for agents (WebSocket) and consoles (HTTP, SSE), least-connections over
 * the collectors, health from GET /api/v1/health (503 while a store refuses writes), long tunnel
 * timeout for WebSocket and SSE, X-Forwarded-For for the collectors' throttles and audit.
 */
export function haproxyConfig(frontPort: number, backends: readonly number[], maxconn: number): string {
  return [
    'global',
    `  maxconn ${maxconn}`,
    // Server state changes and refused requests, to stderr (kept for a failure's message).
    '  log stderr format raw local0 notice',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    '  option dontlog-normal',
    '  option forwardfor',
    // Live updates (SSE) and small acks are interactive: send each at once rather than coalesce.
    '  option http-no-delay',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    // WebSocket and SSE: after the upgrade (or first byte) the tunnel timeout applies. Longer than
    // the collector's ping interval (30 s) and the SSE keep-alive.
    '  timeout tunnel 1h',
    '  timeout http-request 10s',
    // A collector busy with a reconnect storm answers its health check slowly: give it time
    // rather than take it out of the pool (which would turn away every agent with a 503).
    '  timeout check 5s',
    'frontend custodian',
    `  bind 127.0.0.1:${frontPort}`,
    `  maxconn ${maxconn}`,
    '  default_backend collectors',
    'backend collectors',
    '  balance leastconn',
    '  option httpchk GET /api/v1/health',
    '  http-check expect status 200',
    ...backends.map(
      (p, i) => `  server c${i + 1} 127.0.0.1:${p} check inter 1s fall 3 rise 1 maxconn ${maxconn}`,
    ),
    '',
  ].join('\n');
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const log = o.log ?? (() => undefined);
  if (o.collectors < 1) throw new Error('collectors must be at least 1');
  if (o.collectors > 1 && o.store !== 'postgres')
    throw new Error(
      'several collectors share one PostgreSQL database: use store postgres with collectors > 1',
    );
  if (o.store === 'postgres' && !o.pg) throw new Error('store postgres needs a PostgreSQL cluster');
  const root = mkdtempSync(join(tmpdir(), 'custodian-sim-'));
  const adminToken = o.reuse?.adminToken ?? randomBytes(32).toString('base64url');
  const enrolSecret = o.reuse?.enrolSecret ?? randomBytes(32).toString('base64url');
  const keyFile = o.reuse?.keyFile ?? join(root, 'screenshot.key');
  const database = o.reuse?.database ?? (o.pg ? await o.pg.createDatabase() : undefined);
  const helpers: ChildProcess[] = [];
  const outputs: (() => string)[] = [];
  const collectors: CollectorProcess[] = [];
  const env: Record<string, string> = {
    CUSTODIAN_LOG_LEVEL: 'warn',
    CUSTODIAN_ADMIN_TOKEN: adminToken,
    CUSTODIAN_ENROL_SECRET: enrolSecret,
    // One at-rest key for every process over one database.
    CUSTODIAN_SCREENSHOT_KEY_FILE: keyFile,
    ...(o.store === 'postgres' && o.pg && database
      ? { CUSTODIAN_STORE: 'postgres', CUSTODIAN_POSTGRES_URL: o.pg.url(database) }
      : {}),
    ...o.env,
  };
  let front: { url: string } | undefined;
  const stopAll = async () => {
    for (const c of collectors) await c.cleanup();
    for (const h of helpers) if (h.exitCode === null) h.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const args: string[] = [];
    if (o.collectors > 1) {
      for (const tool of ['nats-server', 'haproxy'] as const)
        if (!hasCommand(tool))
          throw new Error(`${tool} is not installed (Debian package ${tool}; scripts/system-deps.sh)`);
      const natsPort = await freePort();
      writeFileSync(join(root, 'nats.conf'), natsConfig(natsPort, join(root, 'jetstream')));
      const nats = helper('nats-server', ['-js', '-c', join(root, 'nats.conf')]);
      helpers.push(nats.child);
      outputs.push(nats.output);
      await listening(natsPort, 'nats-server', nats);
      log(`cluster: nats-server -js on ${natsPort}`);
      // The bus is set in a config file: a collector without it refuses the unknown setting.
      const configFile = join(root, 'collector.json');
      writeFileSync(
        configFile,
        JSON.stringify({ bus: 'nats', nats: { url: `nats://127.0.0.1:${natsPort}` } }, null, 2),
        { mode: 0o600 },
      );
      args.push('--config', configFile);
    }
    if (o.collectors > 1 || o.front === 'haproxy') env['CUSTODIAN_TRUSTED_PROXIES'] = '127.0.0.1';
    for (let i = 0; i < o.collectors; i++) {
      try {
        // One after the other: the first writes the at-rest key file and runs the migrations.
        collectors.push(await startCollector({ env, args, startTimeoutMs: 60_000 }));
      } catch (err) {
        const text = (err as Error).message;
        if (o.collectors > 1 && /unknown setting|CUST_ERR_STORE_LOCKED|bus/.test(text))
          throw new BusRequiredError(
            `collector ${i + 1} of ${o.collectors} refused to start: several collectors need the NATS bus ` +
              '(config `bus: nats`, `nats.url`) and a PostgreSQL store that takes several writers ' +
              `(issue 20 items 2-4). Merge them, or run with --collectors 1.\n${text.slice(0, 800)}`,
          );
        throw err;
      }
    }
    if (o.collectors > 1 || o.front === 'haproxy') {
      if (!hasCommand('haproxy'))
        throw new Error('haproxy is not installed (Debian package haproxy; scripts/system-deps.sh)');
      const frontPort = await freePort();
      writeFileSync(
        join(root, 'haproxy.cfg'),
        haproxyConfig(
          frontPort,
          collectors.map((c) => c.port),
          haproxyMaxconn(),
        ),
      );
      const ha = helper('haproxy', ['-db', '-f', join(root, 'haproxy.cfg')]);
      helpers.push(ha.child);
      outputs.push(ha.output);
      await listening(frontPort, 'haproxy', ha);
      front = { url: `http://127.0.0.1:${frontPort}` };
      log(`cluster: haproxy on ${frontPort} over ${collectors.length} collectors`);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const url = front?.url ?? collectors[0]!.url;
  return {
    url,
    wsUrl: `${url.replace(/^http/, 'ws')}/ws/agent`,
    collectors,
    adminToken,
    enrolSecret,
    database,
    async agentsConnected() {
      let n = 0;
      for (const c of collectors) {
        const res = await fetch(`${c.url}/api/v1/health`).catch(() => undefined);
        if (res?.ok) n += ((await res.json()) as { agentsConnected: number }).agentsConnected;
      }
      return n;
    },
    async restartAll() {
      await Promise.all(collectors.map((c) => c.restart()));
    },
    stop: stopAll,
    helperOutput: () =>
      [
        ...collectors.map(
          (c, i) =>
            `collector ${i + 1} (pid ${c.pid}, ${existsSync(`/proc/${c.pid}`) ? 'running' : 'gone'}): ${c.logs().slice(-40).join(' / ').slice(-4000)}`,
        ),
        ...outputs.map((out) => out().slice(-1500)),
      ].join('\n'),
    describe: () =>
      o.collectors === 1
        ? `1 collector process, store ${o.store}${front ? ', behind haproxy' : ''}`
        : `${o.collectors} collector processes, store postgres, bus nats (nats-server -js), behind haproxy (leastconn)`,
  };
}
