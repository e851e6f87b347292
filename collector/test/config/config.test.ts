import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CustodianError } from '@custodian/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { cookiesSecure, loadConfig } from '../../src/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'custodian-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config', () => {
  it('layers defaults, file, environment and flags', () => {
    const file = join(dir, 'collector.json');
    writeFileSync(
      file,
      JSON.stringify({ port: 9000, retention: { timelineDays: 30 }, ingest: { idleTimeoutMs: 60000 } }),
    );
    const cfg = loadConfig({
      flags: { 'data-dir': join(dir, 'data'), config: file, host: '0.0.0.0' },
      env: { CUSTODIAN_PORT: '9100', CUSTODIAN_RETENTION_SCREENSHOT_DAYS: '14' },
    });
    expect(cfg.port).toBe(9100);
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.retention).toMatchObject({ timelineDays: 30, screenshotDays: 14 });
    expect(cfg.ingest.idleTimeoutMs).toBe(60000);
    expect(cfg.screenshotKeyFile).toBe(join(dir, 'custodian-screenshot.key'));
    expect(cfg.tls).toBeUndefined();
  });

  it.each([
    [{ CUSTODIAN_PORT: '70000' }, {}, 'port'],
    [{ CUSTODIAN_PORT: 'eighty' }, {}, 'port'],
    [{ CUSTODIAN_LOG_LEVEL: 'loud' }, {}, 'logLevel'],
    [{ CUSTODIAN_RETENTION_TIMELINE_DAYS: '0' }, {}, 'retention.timelineDays'],
    [{}, { 'tls-cert': '/x.pem' }, 'tls.keyFile'],
    [{ CUSTODIAN_PING_INTERVAL_MS: '999999' }, {}, 'ingest.pingIntervalMs'],
    [{ CUSTODIAN_SECURE_COOKIES: 'yes' }, {}, 'secureCookies'],
    [{ CUSTODIAN_IT_BROWSING_DETAIL: 'everything' }, {}, 'itBrowsingDetail'],
    [{ CUSTODIAN_RETENTION_INCOMPLETE_UPLOAD_HOURS: '0' }, {}, 'retention.incompleteUploadHours'],
    [{ CUSTODIAN_TRUSTED_PROXIES: '10.0.0.1, proxy.school' }, {}, 'http.trustedProxies'],
    [{ CUSTODIAN_HEADERS_TIMEOUT_MS: '60000' }, {}, 'http.headersTimeoutMs'],
    [{ CUSTODIAN_MAX_SSE_STREAMS_PER_USER: '0' }, {}, 'http.maxSseStreamsPerUser'],
    [{ CUSTODIAN_MAX_CONCURRENT_PASSWORD_CHECKS: '0' }, {}, 'auth.maxConcurrentPasswordChecks'],
    [{ CUSTODIAN_SESSION_IDLE_MS: '10' }, {}, 'auth.sessionIdleMs'],
  ])('names the bad field (%j %j → %s)', (env, flags, field) => {
    expect(() => loadConfig({ flags: { 'data-dir': join(dir, 'd'), ...flags }, env })).toThrow(
      expect.objectContaining({
        code: 'CUST_ERR_INVALID_CONFIG',
        message: expect.stringContaining(`config field ${field}`),
      }),
    );
  });

  it('secures cookies with TLS on this process by default, or as configured for a TLS proxy', () => {
    const load = (env: Record<string, string>) => loadConfig({ flags: { 'data-dir': join(dir, 'd') }, env });
    const auto = load({});
    expect(auto.secureCookies).toBe('auto');
    expect(cookiesSecure(auto)).toBe(false);
    expect(cookiesSecure({ ...auto, tls: { certFile: '/c.pem', keyFile: '/k.pem' } })).toBe(true);
    const always = load({ CUSTODIAN_SECURE_COOKIES: 'always' });
    expect(always.secureCookies).toBe('always');
    expect(cookiesSecure(always)).toBe(true);
    const never = load({ CUSTODIAN_SECURE_COOKIES: 'never' });
    expect(cookiesSecure({ ...never, tls: { certFile: '/c.pem', keyFile: '/k.pem' } })).toBe(false);
    expect(load({ CUSTODIAN_RETENTION_INCOMPLETE_UPLOAD_HOURS: '48' }).retention.incompleteUploadHours).toBe(
      48,
    );
  });

  it('shows IT the app and domain of browsing by default; full titles only when configured', () => {
    const load = (env: Record<string, string>) => loadConfig({ flags: { 'data-dir': join(dir, 'd') }, env });
    expect(load({}).itBrowsingDetail).toBe('app-and-domain');
    expect(load({ CUSTODIAN_IT_BROWSING_DETAIL: 'full-title' }).itBrowsingDetail).toBe('full-title');
  });

  it('reads the trusted proxies and slow-client limits from the file or the environment', () => {
    const file = join(dir, 'proxy.json');
    writeFileSync(
      file,
      JSON.stringify({ http: { trustedProxies: ['10.0.0.1', '::1'], maxConnections: 100 } }),
    );
    const fromFile = loadConfig({ flags: { 'data-dir': join(dir, 'd'), config: file }, env: {} });
    expect(fromFile.http).toMatchObject({ trustedProxies: ['10.0.0.1', '::1'], maxConnections: 100 });
    const fromEnv = loadConfig({
      flags: { 'data-dir': join(dir, 'd') },
      env: { CUSTODIAN_TRUSTED_PROXIES: '192.168.1.2, 192.168.1.3', CUSTODIAN_SESSION_IDLE_MS: '4000' },
    });
    expect(fromEnv.http.trustedProxies).toEqual(['192.168.1.2', '192.168.1.3']);
    expect(fromEnv.auth.sessionIdleMs).toBe(4000);
    const none = loadConfig({ flags: { 'data-dir': join(dir, 'd') }, env: {} });
    expect(none.http.trustedProxies).toEqual([]);
  });

  it('uses level by default; postgres with its URL from the file or the environment, the store from --store', () => {
    const data = join(dir, 'data');
    expect(loadConfig({ flags: { 'data-dir': data }, env: {} })).toMatchObject({
      store: 'level',
      postgres: { url: '', poolMax: 10 },
    });
    const url = 'postgresql://custodian:s3cret@db.school.internal:5432/custodian';
    const fromEnv = loadConfig({
      flags: { 'data-dir': data, store: 'postgres' },
      env: { CUSTODIAN_POSTGRES_URL: url, CUSTODIAN_POSTGRES_POOL_MAX: '20' },
    });
    expect(fromEnv.store).toBe('postgres');
    expect(fromEnv.postgres).toEqual({ url, poolMax: 20 });
    const file = join(dir, 'pg.json');
    writeFileSync(file, JSON.stringify({ store: 'postgres', postgres: { url } }));
    expect(loadConfig({ flags: { 'data-dir': data, config: file }, env: {} }).postgres.url).toBe(url);
    expect(
      loadConfig({ flags: { 'data-dir': data, config: file }, env: { CUSTODIAN_STORE: 'level' } }).store,
    ).toBe('level');
  });

  it('refuses a postgres store without a URL, a store it does not know, and a bad URL without echoing it', () => {
    const data = join(dir, 'data');
    const fails = (flags: Record<string, string>, env: Record<string, string>) => {
      try {
        loadConfig({ flags: { 'data-dir': data, ...flags }, env });
      } catch (err) {
        return err as CustodianError;
      }
      throw new Error('accepted');
    };
    expect(fails({ store: 'postgres' }, {}).details).toEqual({ field: 'postgres.url' });
    expect(fails({ store: 'mysql' }, {}).details).toEqual({ field: 'store' });
    const err = fails({ store: 'postgres' }, { CUSTODIAN_POSTGRES_URL: 'mysql://root:hunter2@db/x' });
    expect(err.details).toEqual({ field: 'postgres.url' });
    expect(err.message).not.toContain('hunter2');
  });

  it('refuses unknown settings in the file and a missing data dir', () => {
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify({ retention: { timelineDayz: 3 } }));
    expect(() => loadConfig({ flags: { 'data-dir': dir, config: file }, env: {} })).toThrow(
      /retention\.timelineDayz: unknown setting/,
    );
    expect(() => loadConfig({ flags: {}, env: {} })).toThrow(/config field dataDir/);
  });
});
