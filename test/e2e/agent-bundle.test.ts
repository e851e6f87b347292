// The agent as installed on devices: the bundle (agent/dist, built here) under `node --lite-mode`,
// with a real collector process, under Xvfb: it connects, reports inventory (collected in a child
// process), heartbeats and window changes.
import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPng } from '../../agent/src/platform/screenshot-process.ts';
import { BUNDLE_NODE_FLAGS } from '../../agent/src/service/service-spec.ts';
import { type AgentProcess, agentCli, startAgent } from '../support/agent-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { type EnrolledOnX, startEnrolledOnX, timeline } from './agent-harness.ts';

const BUNDLE = fileURLToPath(new URL('../../agent/dist/lib/custodian-agent.mjs', import.meta.url));

let rig: EnrolledOnX;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../agent/bin/bundle.ts', import.meta.url))], {
    stdio: 'ignore',
  });
  rig = await startEnrolledOnX();
});

afterAll(async () => {
  await agent?.stop();
  await rig?.stop();
});

describe('bundled agent (as installed)', () => {
  it('streams inventory, heartbeat and windows under node --lite-mode', async () => {
    agent = await startAgent({
      dataDir: rig.enrolled.dataDir,
      env: rig.x.env,
      entry: BUNDLE,
      nodeArgs: [...BUNDLE_NODE_FLAGS],
    });
    await rig.x.openWindow('Custodian bundle window');
    const items = await waitFor(async () => {
      const t = await timeline(rig.collector, rig.enrolled.deviceId);
      const kinds = new Set(t.map((i) => i.kind));
      const win = t.some((i) => i.event.activeWindow?.title === 'Custodian bundle window');
      return win && kinds.has('inventory') && kinds.has('heartbeat') ? t : undefined;
    }, 'window, inventory and heartbeat from the bundle');
    const inventory = items.find((i) => i.kind === 'inventory')!.event['inventory'] as {
      hostname: string;
      agentVersion: string;
    };
    expect(inventory.hostname).toBe(hostname());
    expect(inventory.agentVersion).toBe('0.1.0');
    // status.json follows the link within a second of a change (agent.ts): poll, do not race it.
    const status = await waitFor(
      async () => {
        const { stdout } = await agentCli(['status', '--json', '--data-dir', rig.enrolled.dataDir]);
        const s = JSON.parse(stdout) as { connection?: string };
        return s.connection === 'connected' ? s : undefined;
      },
      'status --json to say connected',
      10_000,
    );
    expect(status).toMatchObject({ running: true, connection: 'connected' });
    expect(agent.logs()).not.toMatch(/"level":"error"/);
  });

  it('carries its screenshot child (lib/screenshot-child.mjs), which returns a PNG of the screen', () => {
    const child = fileURLToPath(new URL('../../agent/dist/lib/screenshot-child.mjs', import.meta.url));
    const out = execFileSync(process.execPath, [child], {
      env: rig.x.env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    const png = Buffer.from(out, 'base64');
    expect(isPng(png)).toBe(true);
    expect(png.length).toBeGreaterThan(1000);
  });
});
