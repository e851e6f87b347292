// An in-process collector (createApp) on 127.0.0.1 with a real level store in a temp dir (or a
// fresh PostgreSQL database with CUSTODIAN_TEST_POSTGRES_URL, test/support/test-store.ts), for
// tests that need to reach inside (store, clock, engine). Cross-process tests use
// test/support/collector-process.ts instead.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestStore } from '../../../test/support/test-store.ts';
import { type App, type AppModule, createApp } from '../../src/app.ts';
import { type CollectorConfig, defaultConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import type { KvEngine, Store } from '../../src/store/types.ts';
import { AgentClient, newStreamId } from './agent-client.ts';
import { passwordOnly } from './password-only.ts';

export interface Harness {
  app: App;
  url: string;
  wsUrl: string;
  adminToken: string;
  enrolSecret: string;
  dir: string;
  clock: { now: number | undefined };
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
    // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly
  ): Promise<{ status: number; json: any }>;
  enrol(
    facts?: Partial<{ machineId: string; hostname: string; serial: string }>,
  ): Promise<{ deviceId: string; deviceKey: string }>;
  close(): Promise<void>;
}

export async function startHarness(
  options: {
    config?: (c: CollectorConfig) => void;
    wrapEngine?: (e: KvEngine) => KvEngine;
    /** Feature modules to install (default none: collector-core only). */
    modules?: AppModule[];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-harness-'));
  const config = passwordOnly(defaultConfig(join(dir, 'data')));
  config.port = 0;
  config.logLevel = 'silent';
  config.screenshotKeyFile = join(dir, 'screenshot.key');
  // Short enough for the "no Hello" test, long enough that a loaded machine never trips a client
  // that sends its Hello at once.
  config.ingest.helloDeadlineMs = 3_000;
  options.config?.(config);
  const clock: { now: number | undefined } = { now: undefined };
  const now = () => clock.now ?? Date.now();
  const key = randomBytes(32);
  let store: Store = await openTestStore(config.dataDir, key, now);
  if (options.wrapEngine) {
    const wrapped = options.wrapEngine(store.engine);
    store = new Proxy(store, { get: (t, p) => (p === 'engine' ? wrapped : Reflect.get(t, p)) });
  }
  const adminToken = randomBytes(32).toString('base64url');
  const enrolSecret = randomBytes(32).toString('base64url');
  const app = await createApp({
    config,
    store,
    log: createLogger('silent'),
    modules: options.modules ?? [],
    now,
    env: { CUSTODIAN_ADMIN_TOKEN: adminToken, CUSTODIAN_ENROL_SECRET: enrolSecret },
  });
  const { url, wsUrl } = await app.start();
  const api: Harness['api'] = async (method, path, body, token) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers['authorization'] = `Bearer ${token ?? adminToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  let n = 0;
  const harness: Harness = {
    app,
    url,
    wsUrl,
    adminToken,
    enrolSecret,
    dir,
    clock,
    api,
    async enrol(facts = {}) {
      n++;
      const res = await api(
        'POST',
        '/api/v1/enrol',
        {
          secret: harness.enrolSecret,
          machineId: `machine-${n}-${randomBytes(4).toString('hex')}`,
          hostname: `host-${n}`,
          os: 'linux',
          serial: `SN${n}`,
          ...facts,
        },
        null,
      );
      if (res.status !== 200) throw new Error(`enrol failed: ${JSON.stringify(res.json)}`);
      return res.json as { deviceId: string; deviceKey: string };
    },
    async close() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A freshly enrolled device with an open session: hello sent, welcome and policy received. */
export async function connectedDevice(h: Harness) {
  const dev = await h.enrol();
  const client = new AgentClient(h.wsUrl);
  const stream = newStreamId();
  const hello = await client.hello(dev.deviceId, dev.deviceKey, stream);
  return { dev, client, stream, ...hello };
}
