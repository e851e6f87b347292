// HAProxy (Debian package haproxy) in front of several collector processes for the multi-process
// tests: a generated config (haproxyConfig, also shown in docs/deployment.md), started in the
// foreground on 127.0.0.1 and a free port. WebSocket-aware: HTTP mode passes the Upgrade through
// and `timeout tunnel` governs the upgraded connection; the health check is the collector's own
// GET /api/v1/health.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { portOpen } from './nats-server.ts';
import { freePort } from './postgres.ts';

export interface HaproxyBackend {
  name: string;
  host: string;
  port: number;
}

export interface Haproxy {
  readonly url: string;
  readonly port: number;
  readonly config: string;
  stop(): Promise<void>;
}

/** The config the test runs (and docs/deployment.md shows): collectors behind one frontend. */
export function haproxyConfig(opts: {
  bind: string;
  backends: HaproxyBackend[];
  checkIntervalMs?: number;
  /** Two file descriptors each: the process's open-file limit must allow it (LimitNOFILE). */
  maxconn?: number;
}): string {
  const inter = opts.checkIntervalMs ?? 2000;
  return `global
    maxconn ${opts.maxconn ?? 4000}

defaults
    mode http
    option forwardfor
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    # An upgraded WebSocket (agents) or a long SSE feed (consoles) lives in the tunnel:
    # longer than the agents' ping interval, so only a dead peer is cut.
    timeout tunnel 1h
    timeout http-keep-alive 10s
    # A connection refused by a collector that just died is retried on another one.
    retries 3
    option redispatch

frontend custodian
    bind ${opts.bind}
    default_backend collectors

backend collectors
    balance leastconn
    option httpchk
    http-check send meth GET uri /api/v1/health ver HTTP/1.1 hdr Host collector
    http-check expect status 200
    default-server inter ${inter}ms fall 2 rise 2
${opts.backends.map((b) => `    server ${b.name} ${b.host}:${b.port} check`).join('\n')}
`;
}

export async function startHaproxy(backends: HaproxyBackend[], port?: number): Promise<Haproxy> {
  const root = mkdtempSync(join(tmpdir(), 'custodian-haproxy-'));
  const listen = port ?? (await freePort());
  const config = haproxyConfig({ bind: `127.0.0.1:${listen}`, backends, checkIntervalMs: 500 });
  const file = join(root, 'haproxy.cfg');
  writeFileSync(file, config);
  await promisify(execFile)('haproxy', ['-c', '-q', '-f', file], { timeout: 20_000 });
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await portOpen(listen);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`haproxy did not listen: ${(e as Error).message}\n${err}`);
  }
  return {
    url: `http://127.0.0.1:${listen}`,
    port: listen,
    config,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
