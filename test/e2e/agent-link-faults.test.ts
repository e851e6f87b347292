// The agent process's link when the collector misbehaves, with nothing simulated: a real
// collector process, real agent processes (no display: only the link matters here).
// - A key the collector does not know: the agent waits its long auth retry (15 min), it does not
//   hammer the collector.
// - The collector process freezes (SIGSTOP: the socket stays open, no pong comes back): the agent
//   drops the dead connection after its ping deadline (25 s interval, so up to ~50 s) and
//   reconnects once the collector runs again (SIGCONT).

import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';

let collector: CollectorProcess;
const agents: AgentProcess[] = [];
const enrolled: EnrolledAgent[] = [];

beforeAll(async () => {
  collector = await startCollector();
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const e of enrolled.splice(0)) await e.cleanup();
});
afterAll(async () => {
  await collector?.cleanup();
});

/** The collector's JSON log lines with this message (and this device, if given). */
function logLines(msg: string, deviceId?: string): Record<string, unknown>[] {
  return collector
    .logs()
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => String(l['msg']).includes(msg) && (deviceId === undefined || l['deviceId'] === deviceId));
}

async function run(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const agent = await startAgent({
    dataDir,
    env: { DISPLAY: undefined, WAYLAND_DISPLAY: undefined, ...env },
  });
  agents.push(agent);
  return agent;
}

describe('agent link faults against a real collector', () => {
  it('a key the collector refuses: auth-failed with the 15-minute retry, one attempt, no fast loop', async () => {
    const dev = await enrolAgent({ collector });
    enrolled.push(dev);
    const path = join(dev.dataDir, 'credentials.json');
    const creds = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...creds, deviceKey: randomBytes(32).toString('base64url') }), {
      mode: 0o600,
    });
    const refusals = () =>
      logLines('closing agent session').filter((l) => l['code'] === 'CUST_ERR_AUTH_FAILED');
    expect(refusals()).toHaveLength(0);
    const agent = await run(dev.dataDir);
    const status = await waitFor(
      async () => {
        const s = await agent.status().catch(() => undefined);
        return s?.link?.status === 'auth-failed' ? s : undefined;
      },
      'auth-failed in status.json',
      30_000,
    );
    const link = status.link as { lastError?: string; nextAttemptAt?: number };
    expect(link.lastError).toMatch(/AUTH_FAILED/);
    expect(link.nextAttemptAt! - Date.now()).toBeGreaterThan(14 * 60_000);
    await waitFor(async () => refusals().length === 1, 'the refusal in the collector log', 10_000);
    // Several times the agent's first reconnect backoff (1 s): a fast loop would have tried again.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(refusals()).toHaveLength(1);
    expect((await agent.status()).link?.status).toBe('auth-failed');
  });

  it('the collector freezes (SIGSTOP): the agent drops the dead connection and reconnects after SIGCONT', async () => {
    const dev = await enrolAgent({ collector });
    enrolled.push(dev);
    // Pings every 5 s instead of 25 s: the same dead-connection rule, found five times sooner.
    const agent = await run(dev.dataDir, { CUSTODIAN_AGENT_PING_INTERVAL_MS: '5000' });
    await agent.waitForLog(/connected to collector/, 30_000);
    await waitFor(
      async () => logLines('agent connected', dev.deviceId).length === 1,
      'first session',
      10_000,
    );
    process.kill(collector.pid, 'SIGSTOP');
    try {
      await agent.waitForLog(/no pong from collector; dropping the connection/, 90_000);
    } finally {
      process.kill(collector.pid, 'SIGCONT');
    }
    await waitFor(
      async () => logLines('agent connected', dev.deviceId).length >= 2,
      'a second session in the collector log',
      60_000,
    );
    await waitFor(
      async () => (await agent.status()).link?.status === 'connected',
      'connected in status.json',
      30_000,
    );
  }, 240_000); // up to two 5 s ping periods, then the reconnect, on a loaded machine
});
