// Issue 18 item 2 with real parts: a real collector process (health checks every 500 ms) and real
// agent processes. An agent killed with kill -9 inside school hours sends no shutdown notice: an
// "agent stopped without shutdown" health alert opens after N minutes offline (N small here) and
// IT is notified. An agent stopped cleanly (SIGTERM: it sends agentStopping) outside school hours
// opens nothing; once the hours are moved to include now, the same silence is plain "offline",
// which shows the check did look at that device and saw the clean stop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { adminApi, type Json } from './console-helpers.ts';

let collector: CollectorProcess;
const N_MINUTES = 0.05; // 3 s

beforeAll(async () => {
  collector = await startCollector({ env: { CUSTODIAN_HEALTH_CHECK_INTERVAL_MS: '500' } });
});
afterAll(async () => {
  await collector?.cleanup();
});

const device = async (id: string): Promise<Json> =>
  (await adminApi(collector, 'GET', `/devices/${id}`)).device;
const healthOf = async (id: string): Promise<Json[]> =>
  (await adminApi(collector, 'GET', `/device-health/alerts?deviceId=${id}&state=open,acknowledged,resolved`))
    .alerts;
const hhmm = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

describe('device health with a real agent', () => {
  it('kill -9 in school hours → an "agent stopped without shutdown" alert after N minutes', async () => {
    await adminApi(collector, 'PUT', '/device-health/settings', {
      schoolHours: { timeZone: 'UTC', days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '24:00' },
      offlineMinutes: N_MINUTES,
    });
    const enrolled = await enrolAgent({ collector });
    const agent = await startAgent({ dataDir: enrolled.dataDir, args: ['--demo'] });
    try {
      await waitFor(async () => (await device(enrolled.deviceId)).status.connected, 'agent connected');
      await agent.kill9();
      const offlineSince = (
        await waitFor(async () => {
          const d = await device(enrolled.deviceId);
          return d.status.connected ? undefined : d;
        }, 'disconnect seen')
      ).status.lastSeenAt as number;
      const [alert] = await waitFor(
        async () => {
          const a = await healthOf(enrolled.deviceId);
          return a.length > 0 ? a : undefined;
        },
        'health alert',
        30_000,
      );
      // The socket went without a close frame (1006): the process died, the machine did not sleep.
      expect(alert).toMatchObject({
        kind: 'agent-stopped',
        state: 'open',
        details: { cleanStop: false, disconnectCode: 1006 },
      });
      // Not before N minutes of silence.
      expect(alert.openedAt - offlineSince).toBeGreaterThan(N_MINUTES * 60_000);
      // Deduplicated: later checks add nothing.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(await healthOf(enrolled.deviceId)).toHaveLength(1);
      const audit = (await adminApi(collector, 'GET', `/audit?action=notification.created&target=role:it`))
        .records;
      expect(audit.some((r: Json) => r.details.kind === 'health.agent-stopped')).toBe(true);
    } finally {
      await agent.stop();
      await enrolled.cleanup();
    }
  });

  it('a clean stop (SIGTERM) outside school hours → no alert', async () => {
    // School hours that exclude now: a one-hour window starting two hours from now (UTC).
    const nowMin = new Date().getUTCHours() * 60 + new Date().getUTCMinutes();
    const start = nowMin + 120 <= 23 * 60 ? nowMin + 120 : nowMin - 180;
    await adminApi(collector, 'PUT', '/device-health/settings', {
      schoolHours: {
        timeZone: 'UTC',
        days: [0, 1, 2, 3, 4, 5, 6],
        start: hhmm(start),
        end: hhmm(start + 60),
      },
      offlineMinutes: N_MINUTES,
    });
    const enrolled = await enrolAgent({ collector });
    const agent = await startAgent({ dataDir: enrolled.dataDir, args: ['--demo'] });
    try {
      await waitFor(async () => (await device(enrolled.deviceId)).status.connected, 'agent connected');
      await agent.stop();
      const d = await waitFor(async () => {
        const x = await device(enrolled.deviceId);
        return !x.status.connected && x.status.lastStop ? x : undefined;
      }, 'clean stop seen');
      expect(d.status.lastStop.reason).toBe('SIGTERM');
      // Well past N minutes, with many checks run (every 500 ms): nothing.
      await new Promise((r) => setTimeout(r, N_MINUTES * 60_000 + 4_000));
      await adminApi(collector, 'POST', '/device-health/check');
      expect(await healthOf(enrolled.deviceId)).toEqual([]);

      // The same silence inside school hours is an alert, and a clean one: "offline".
      await adminApi(collector, 'PUT', '/device-health/settings', {
        schoolHours: { start: '00:00', end: '24:00' },
      });
      const [alert] = await waitFor(async () => {
        const a = await healthOf(enrolled.deviceId);
        return a.length > 0 ? a : undefined;
      }, 'offline alert once in hours');
      expect(alert).toMatchObject({ kind: 'offline', details: { cleanStop: true } });
    } finally {
      await agent.stop();
      await enrolled.cleanup();
    }
  });
});
