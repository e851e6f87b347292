// /metrics scraped over real HTTP from a real collector while a foreign `ws` client speaks
// custodian.v1 to it; the text is read with an independent exposition-format parser, never a
// regex. Who may scrape: the admin token, or anyone from a configured address.
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthModule } from '../../src/auth/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { AgentClient, flagged, heartbeat, newStreamId, windowEvent } from '../helpers/agent-client.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';
import { metricFamily, metricValue, type ParsedFamily, scrapeMetrics } from '../helpers/metrics-scrape.ts';

async function scrape(h: Harness, headers: Record<string, string> = {}): Promise<ParsedFamily[]> {
  return scrapeMetrics(h.url, { authorization: `Bearer ${h.adminToken}`, ...headers });
}

const family = metricFamily;
const value = metricValue;

/** Scrapes until `read` gives `want` (the collector updates some figures just after an ack or close). */
async function until(h: Harness, read: (f: ParsedFamily[]) => number, want: number): Promise<ParsedFamily[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const f = await scrape(h);
    if (read(f) === want || Date.now() > deadline) {
      expect(read(f)).toBe(want);
      return f;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('/metrics content', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      modules: [
        createAuthModule({
          scrypt: TEST_SCRYPT,
          onFirstAdmin: () => undefined,
          throttle: { freeAttempts: 2, baseDelayMs: 60_000, maxDelayMs: 60_000 },
        }),
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('counts agents, committed events, batches, duplicates, commit latency, outbox depth and alerts', async () => {
    const m0 = await scrape(h);
    expect(family(m0, 'custodian_ingest_events_committed_total').type).toBe('COUNTER');
    expect(family(m0, 'custodian_ingest_commit_seconds').type).toBe('HISTOGRAM');
    expect(value(m0, 'custodian_agents_connected')).toBe(0);
    const events0 = value(m0, 'custodian_ingest_events_committed_total');
    const batches0 = value(m0, 'custodian_ingest_batches_total');
    const dups0 = value(m0, 'custodian_ingest_duplicates_total');
    const commits0 = Number(family(m0, 'custodian_ingest_commit_seconds').metrics[0]?.count);
    for (const severity of ['1', '2', '3', '4', '5'])
      expect(value(m0, 'custodian_alerts_new', { severity })).toBe(0);
    expect(value(m0, 'custodian_alerts_oldest_new_age_seconds')).toBe(0);

    const dev = await h.enrol();
    const client = new AgentClient(h.wsUrl);
    const stream = newStreamId();
    await client.hello(dev.deviceId, dev.deviceKey, stream);
    await until(h, (f) => value(f, 'custodian_agents_connected'), 1);

    const events = [
      windowEvent(1, 'Maths homework'),
      windowEvent(2, 'Timetable'),
      windowEvent(3, 'Spelling'),
      windowEvent(4, 'Reading'),
      { ...heartbeat(5), heartbeat: { uptimeSeconds: 5, loggedInUser: 'pupil1', outboxDepth: 37 } },
    ];
    const ack = await client.batch(stream, events);
    expect(ack.duplicates).toBe(0);
    const m1 = await scrape(h);
    expect(value(m1, 'custodian_ingest_events_committed_total')).toBe(events0 + 5);
    expect(value(m1, 'custodian_ingest_batches_total')).toBe(batches0 + 1);
    expect(value(m1, 'custodian_ingest_duplicates_total')).toBe(dups0);
    expect(value(m1, 'custodian_agents_outbox_events', { stat: 'sum' })).toBe(37);
    expect(value(m1, 'custodian_agents_outbox_events', { stat: 'max' })).toBe(37);
    expect(value(m1, 'custodian_agents_reporting_outbox')).toBe(1);

    // A replay of the same batch (the agent never saw the ack): nothing stored, all duplicates.
    const replay = await client.batch(stream, events);
    expect(replay.duplicates).toBe(5);
    const m2 = await scrape(h);
    expect(value(m2, 'custodian_ingest_events_committed_total')).toBe(events0 + 5);
    expect(value(m2, 'custodian_ingest_duplicates_total')).toBe(dups0 + 5);
    expect(value(m2, 'custodian_ingest_batches_total')).toBe(batches0 + 2);

    // A flagged event opens a severity-4 alert; its age follows the collector's clock.
    const t = Date.now();
    h.clock.now = t;
    await client.batch(stream, [flagged(6, 'a term', [], t)]);
    h.clock.now = t + 90_000;
    const m3 = await scrape(h);
    expect(value(m3, 'custodian_ingest_events_committed_total')).toBe(events0 + 6);
    expect(value(m3, 'custodian_alerts_new', { severity: '4' })).toBe(1);
    expect(value(m3, 'custodian_alerts_new', { severity: '3' })).toBe(0);
    expect(value(m3, 'custodian_alerts_oldest_new_age_seconds')).toBe(90);
    h.clock.now = undefined;

    const hist = family(m3, 'custodian_ingest_commit_seconds').metrics[0];
    expect(Number(hist?.count)).toBeGreaterThanOrEqual(commits0 + 3);
    expect(Number(hist?.buckets?.['+Inf'])).toBe(Number(hist?.count));
    expect(Number(hist?.sum)).toBeGreaterThan(0);

    client.close();
    await client.closed;
    const m4 = await until(h, (f) => value(f, 'custodian_agents_connected'), 0);
    expect(value(m4, 'custodian_agents_outbox_events', { stat: 'sum' })).toBe(0);
  });

  it('the example Grafana dashboard queries only metrics the collector exports', async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../../docs/grafana/custodian.json', import.meta.url), 'utf8'),
    ) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const exported = new Set<string>();
    for (const f of await scrape(h)) {
      exported.add(f.name);
      if (f.type === 'HISTOGRAM') for (const s of ['_bucket', '_sum', '_count']) exported.add(f.name + s);
    }
    // PromQL text, not the exposition format: a name pattern is all that is needed here.
    const used = new Set(exprs.flatMap((e) => e.match(/custodian_[a-z_]+/g) ?? []));
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(12);
  });

  it('counts sign-in failures and throttled sign-ins', async () => {
    const login = (password: string) =>
      h.api('POST', '/api/v1/auth/login', { username: 'admin', password }, null);
    const before = await scrape(h);
    const fail0 = value(before, 'custodian_login_failures_total');
    const thr0 = value(before, 'custodian_login_throttled_total', { reason: 'failures' });
    expect((await login('wrong password one')).status).toBe(401);
    expect((await login('wrong password two')).status).toBe(401);
    expect((await login('wrong password three')).status).toBe(429);
    const after = await scrape(h);
    expect(value(after, 'custodian_login_failures_total')).toBe(fail0 + 2);
    expect(value(after, 'custodian_login_throttled_total', { reason: 'failures' })).toBe(thr0 + 1);
    expect(value(after, 'custodian_login_throttled_total', { reason: 'busy' })).toBe(0);
  });

  it('counts open live feeds and retention runs', async () => {
    expect(value(await scrape(h), 'custodian_sse_clients')).toBe(0);
    const ac = new AbortController();
    const feed = await fetch(`${h.url}/api/v1/live`, {
      headers: { authorization: `Bearer ${h.adminToken}` },
      signal: ac.signal,
    });
    expect(feed.status).toBe(200);
    await until(h, (f) => value(f, 'custodian_sse_clients'), 1);
    ac.abort();
    await until(h, (f) => value(f, 'custodian_sse_clients'), 0);

    const runs0 = value(await scrape(h), 'custodian_retention_runs_total', { result: 'ok' });
    expect((await h.api('POST', '/api/v1/retention/purge')).status).toBe(200);
    const m = await scrape(h);
    expect(value(m, 'custodian_retention_runs_total', { result: 'ok' })).toBe(runs0 + 1);
    expect(value(m, 'custodian_retention_runs_total', { result: 'failed' })).toBe(0);
    expect(value(m, 'custodian_retention_last_run_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
  });
});

describe('/metrics access', () => {
  const anonymous = (h: Harness, headers: Record<string, string> = {}) =>
    fetch(`${h.url}/metrics`, { headers }).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));

  it('needs the admin token by default', async () => {
    const h = await startHarness();
    try {
      const res = await anonymous(h);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('CUST_ERR_UNAUTHENTICATED');
      expect((await anonymous(h, { authorization: 'Bearer not-the-token-0123456789' })).status).toBe(401);
      expect(value(await scrape(h), 'custodian_agents_connected')).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('refuses a staff session of every role, admin included: the admin token or an allowed address only', async () => {
    const h = await startHarness({
      modules: [createAuthModule({ scrypt: TEST_SCRYPT, onFirstAdmin: () => undefined })],
      config: (c) => {
        c.metrics.allowFrom = ['10.0.0.0/8'];
      },
    });
    try {
      for (const role of ['admin', 'it', 'dsl', 'governor']) {
        const staff = await createStaffClient(h.url, h.adminToken, `metrics-${role}`, role);
        // The session works elsewhere (the same cookie reads the caller's own account)...
        expect((await staff.req('GET', '/api/v1/auth/me')).status, role).toBe(200);
        // ...but not here, over plain HTTP as a browser would send it.
        const res = await fetch(`${h.url}/metrics`, { headers: { cookie: staff.cookie as string } });
        expect(res.status, role).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('CUST_ERR_FORBIDDEN');
      }
      expect((await anonymous(h)).status).toBe(401);
      expect(value(await scrape(h), 'custodian_agents_connected')).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('answers without the token from an allowed address only, and a forged X-Forwarded-For does not help', async () => {
    const open = await startHarness({
      config: (c) => {
        c.metrics.allowFrom = ['192.0.2.0/24', '127.0.0.0/8'];
      },
    });
    const other = await startHarness({
      config: (c) => {
        c.metrics.allowFrom = ['10.0.0.0/8'];
      },
    });
    try {
      const res = await anonymous(open);
      expect(res.status).toBe(200);
      expect(value(parsePrometheusTextFormat(res.body), 'custodian_agents_connected')).toBe(0);
      // The collector's own address is not in 10/8; a header naming one is not believed
      // (no trusted proxy configured), so the caller stays anonymous and refused.
      expect((await anonymous(other)).status).toBe(401);
      expect((await anonymous(other, { 'x-forwarded-for': '10.1.2.3' })).status).toBe(401);
      expect(value(await scrape(other), 'custodian_agents_connected')).toBe(0);
      // Allowing addresses does not open the rest of the API to them.
      expect((await fetch(`${open.url}/api/v1/devices`)).status).toBe(401);
    } finally {
      await open.close();
      await other.close();
    }
  });

  it('reads metrics.allowFrom from the environment and refuses a bad range', () => {
    const env = { CUSTODIAN_DATA_DIR: '/tmp/custodian-metrics-config' };
    const cfg = loadConfig({
      flags: {},
      env: { ...env, CUSTODIAN_METRICS_ALLOW_FROM: '10.0.0.0/8, ::1,192.0.2.7' },
    });
    expect(cfg.metrics.allowFrom).toEqual(['10.0.0.0/8', '::1', '192.0.2.7']);
    expect(loadConfig({ flags: {}, env }).metrics.allowFrom).toEqual([]);
    for (const bad of ['10.0.0.0/33', 'example.org', '10.0.0.0/8/8', '::1/129'])
      expect(() => loadConfig({ flags: {}, env: { ...env, CUSTODIAN_METRICS_ALLOW_FROM: bad } })).toThrow(
        /metrics\.allowFrom/,
      );
  });
});
