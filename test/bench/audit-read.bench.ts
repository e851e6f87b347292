// Cost of auditing reads (issue 19 item 7): the DSL opening an alert's detail
// (GET /api/v1/alerts/:id, signed in with a cookie session) with its `view.alert` audit record
// written durably before the answer, against the same request with the audit write replaced by
// a no-op — same collector, same store on disk, same alert, alternating rounds so load hits both
// sides alike. Triage pace: a DSL opens a few alerts a minute, so what matters is whether the
// per-view latency stays far below what a person notices (~100 ms).
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../collector/src/app.ts';
import { createAuthModule } from '../../collector/src/auth/index.ts';
import { defaultConfig } from '../../collector/src/config.ts';
import { createLogger } from '../../collector/src/log.ts';
import { safeguardingModule } from '../../collector/src/safeguarding/index.ts';
import type { AuditStore } from '../../collector/src/store/types.ts';
import { createStaffClient, TEST_SCRYPT } from '../../collector/test/auth/harness.ts';
import { passwordOnly } from '../../collector/test/helpers/password-only.ts';
import { makePng, seedAlert, seedDevice } from '../../collector/test/safeguarding/seed.ts';
import { median } from './stats.ts';
import type { BenchResult } from './types.ts';

const ROUNDS = 5;
const PER_ROUND = 200;
const WARM = 100;
const ADMIN_TOKEN = 'bench-audit-read-admin-token-0123456789';

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] as number;

export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-audit-read-'));
  const config = {
    ...passwordOnly(defaultConfig(join(dir, 'data'))),
    port: 0,
    logLevel: 'silent' as const,
    screenshotKeyFile: join(dir, 'k'),
  };
  const app = await createApp({
    config,
    log: createLogger('silent'),
    env: { CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN },
    modules: [createAuthModule({ scrypt: TEST_SCRYPT }), safeguardingModule],
  });
  const { url, port } = await app.start();
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  const dsl = await createStaffClient(url, ADMIN_TOKEN, 'bench.dsl', 'dsl');
  const device = await seedDevice(app.store);
  const alert = await seedAlert(app.store, { device, screenshot: makePng(64, 64, [10, 120, 200]) });
  const path = `/api/v1/alerts/${alert.id}`;
  const get = () =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        { host: '127.0.0.1', port, path, agent: keepAlive, headers: { cookie: dsl.cookie ?? '' } },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  // The baseline: the same store with the audit append made a no-op (nothing else changes).
  const audit = app.store.audit as AuditStore;
  const realAppend = audit.append.bind(audit);
  const setAudited = (on: boolean) => {
    audit.append = on ? realAppend : async (r) => ({ ...r, id: 'none', at: Date.now() });
  };
  const audited: number[] = [];
  const plain: number[] = [];
  const countViews = async () => {
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await app.store.audit.list({
        action: 'view.alert',
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      n += page.records.length;
      cursor = page.nextCursor;
    } while (cursor);
    return n;
  };
  const before = await countViews();
  try {
    for (let i = 0; i < WARM; i++) {
      setAudited(true);
      await get();
      setAudited(false);
      await get();
    }
    for (let r = 0; r < ROUNDS; r++) {
      setAudited(true);
      for (let i = 0; i < PER_ROUND; i++) audited.push(await get());
      setAudited(false);
      for (let i = 0; i < PER_ROUND; i++) plain.push(await get());
    }
  } finally {
    setAudited(true);
  }
  // Each audited view really stored its record (and the baseline none).
  const stored = (await countViews()) - before;
  keepAlive.destroy();
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
  const p50a = median(audited);
  const p50p = median(plain);
  return {
    title: 'Audited reads: alert detail with and without its audit record (issue 19 item 7)',
    rows: [
      {
        metric: 'DSL opens an alert (GET /api/v1/alerts/:id), audit record written (synced) first, p50',
        value: p50a,
        unit: 'ms',
        baseline: p50p,
        baselineLabel: 'same request, audit write a no-op',
        ratio: p50a / p50p,
        target: 'far below 100 ms a view',
      },
      {
        metric: 'same, p95',
        value: p95(audited),
        unit: 'ms',
        baseline: p95(plain),
        baselineLabel: 'same request, audit write a no-op, p95',
        ratio: p95(audited) / p95(plain),
      },
      { metric: 'extra time per view (p50 difference)', value: p50a - p50p, unit: 'ms' },
    ],
    notes: [
      `Median and p95 of N = ${ROUNDS * PER_ROUND} sequential requests per side over one keep-alive connection, in ${ROUNDS} alternating rounds of ${PER_ROUND}, after ${WARM} warm-up requests per side; in-process collector with a level store in a temp directory (each audit record is one synced write).`,
      `view.alert records stored during the run: ${stored} (expected ${WARM + ROUNDS * PER_ROUND}, one per audited request, none for the baseline).`,
      'The alert detail reads the alert, its device, a timeline excerpt and screenshot metadata; the response is the same on both sides. Client and collector share the machine (2 cores).',
    ],
  };
}
