// A throwaway NATS server with JetStream (Debian package nats-server) for the multi-process
// tests: `nats-server -js` on 127.0.0.1, a free port, its JetStream store in a temp dir, a user
// and a random password (in `url`, as a collector's nats.url carries them). stop()
// ends it (the store stays, so start() brings back the same buckets, as a restarted server
// would); cleanup() also deletes the dir.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.ts';

export interface NatsServer {
  /** nats://custodian:<password>@127.0.0.1:<port> */
  readonly url: string;
  readonly password: string;
  readonly port: number;
  readonly storeDir: string;
  /** Starts (again) on the same port and store dir. */
  start(): Promise<void>;
  stop(): Promise<void>;
  cleanup(): Promise<void>;
  logs(): string;
}

/** Resolves once something accepts TCP connections on the port. */
export async function portOpen(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listening on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startNatsServer(): Promise<NatsServer> {
  const root = mkdtempSync(join(tmpdir(), 'custodian-nats-'));
  const storeDir = join(root, 'jetstream');
  const port = await freePort();
  const password = randomBytes(18).toString('base64url');
  // In a config file, not on the command line (ps).
  const conf = join(root, 'nats.conf');
  writeFileSync(
    conf,
    `listen: 127.0.0.1:${port}\njetstream { store_dir: "${storeDir}" }\nauthorization { user: custodian, password: "${password}" }\n`,
    { mode: 0o600 },
  );
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const handle: NatsServer = {
    url: `nats://custodian:${password}@127.0.0.1:${port}`,
    password,
    port,
    storeDir,
    logs: () => out,
    async start() {
      const proc = spawn('nats-server', ['-js', '-c', conf], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      proc.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      proc.stderr?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      await portOpen(port);
    },
    async stop() {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
    async cleanup() {
      await handle.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
