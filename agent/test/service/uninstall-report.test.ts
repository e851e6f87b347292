// `custodian-agent report-uninstall` (issue 17), the installers' uninstall step, against a real
// collector process (health checks every 500 ms): the event reaches the device's timeline, the
// device reads "uninstalled" (not offline), IT gets a health alert and a notification. A collector
// that cannot be reached, an outbox the running agent holds, a device never enrolled: each ends
// within the bounded wait and says what happened; the uninstall is never failed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeline } from '../../../test/e2e/agent-harness.ts';
import { adminApi, type Json } from '../../../test/e2e/console-helpers.ts';
import { enrolAgent } from '../../../test/support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../../../test/support/collector-process.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { silentLogger } from '../../src/config/logger.ts';
import { dataPaths } from '../../src/config/paths.ts';
import { saveCredentials } from '../../src/identity/credentials.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import { reportUninstall } from '../../src/service/uninstall-report.ts';

let collector: CollectorProcess;
const dirs: string[] = [];
beforeAll(async () => {
  collector = await startCollector({ env: { CUSTODIAN_HEALTH_CHECK_INTERVAL_MS: '500' } });
}, 120_000);
afterAll(async () => {
  await collector?.cleanup();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const base = { version: '0.1.0', log: silentLogger };

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'custodian-uninstall-'));
  dirs.push(d);
  return d;
}

describe('report-uninstall', () => {
  it('reaches the collector: timeline event, status "uninstalled", a health alert and a notification for IT', async () => {
    const enrolled = await enrolAgent({ collector });
    dirs.push(enrolled.dataDir);
    const r = await reportUninstall({
      ...base,
      dataDir: enrolled.dataDir,
      method: 'dpkg remove',
      user: 'itadmin',
      waitMs: 20_000,
    });
    expect(r).toMatchObject({ status: 'delivered', deviceId: enrolled.deviceId });
    const items = await timeline(collector, enrolled.deviceId, ['agentUninstalled']);
    const ev = items.find((i) => i.kind === 'agentUninstalled');
    expect(ev?.event.agentUninstalled).toEqual({ method: 'dpkg remove', user: 'itadmin' });
    const device = (await adminApi(collector, 'GET', `/devices/${enrolled.deviceId}`)).device;
    expect(device.status.uninstalled).toMatchObject({ method: 'dpkg remove', user: 'itadmin' });
    const [alert] = await waitFor(async () => {
      const a = (await adminApi(collector, 'GET', `/device-health/alerts?deviceId=${enrolled.deviceId}`))
        .alerts as Json[];
      return a.length > 0 ? a : undefined;
    }, 'uninstall health alert');
    // Out of school hours too (the default hours need not include now): no offline wait.
    expect(alert).toMatchObject({
      kind: 'agent-uninstalled',
      state: 'open',
      details: { method: 'dpkg remove' },
    });
    // The user name is device text: not in what a notification carries.
    expect(JSON.stringify(alert)).not.toContain('itadmin');
    const audit = (await adminApi(collector, 'GET', '/audit?action=notification.created&target=role:it'))
      .records as Json[];
    expect(audit.some((a) => a.details.kind === 'health.agent-uninstalled')).toBe(true);
  }, 120_000);

  it('a collector that cannot be reached: ends within the wait, the event stays in the outbox', async () => {
    const dataDir = await tempDir();
    await saveCredentials(dataDir, {
      deviceId: 'dev-unreachable',
      deviceKey: 'k',
      serverUrl: 'http://127.0.0.1:9',
      enrolledAt: new Date().toISOString(),
      kind: 'secret',
    });
    const started = Date.now();
    const r = await reportUninstall({ ...base, dataDir, method: 'msi uninstall', waitMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_000 + 5_000);
    expect(r).toMatchObject({ status: 'queued', deviceId: 'dev-unreachable', seq: 1 });
    if (r.status === 'queued') expect(r.reason).toMatch(/not acked within 2 s/);
    const outbox = await Outbox.open({ dir: dataPaths(dataDir).outbox, log: silentLogger });
    try {
      expect(outbox.stats()).toMatchObject({ depth: 1, lastSeq: 1, ackedSeq: 0 });
    } finally {
      await outbox.close();
    }
  }, 60_000);

  it('the outbox held by a running agent: not recorded, said so at once; not enrolled: nothing to do', async () => {
    const dataDir = await tempDir();
    await saveCredentials(dataDir, {
      deviceId: 'dev-busy',
      deviceKey: 'k',
      serverUrl: collector.url,
      enrolledAt: new Date().toISOString(),
      kind: 'secret',
    });
    const held = await Outbox.open({ dir: dataPaths(dataDir).outbox, log: silentLogger });
    try {
      const r = await reportUninstall({ ...base, dataDir, method: 'dpkg remove', waitMs: 10_000 });
      expect(r).toMatchObject({ status: 'not-recorded', deviceId: 'dev-busy' });
    } finally {
      await held.close();
    }
    expect(
      await reportUninstall({ ...base, dataDir: await tempDir(), method: 'dpkg remove', waitMs: 1_000 }),
    ).toEqual({ status: 'not-enrolled' });
  }, 60_000);
});
