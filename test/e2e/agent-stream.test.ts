// Real collector process + real agent process under Xvfb: enrolment, heartbeats, and window
// changes in the collector timeline in the order they happened.
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, agentCli, startAgent } from '../support/agent-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { type EnrolledOnX, startEnrolledOnX, timeline } from './agent-harness.ts';

let rig: EnrolledOnX;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  rig = await startEnrolledOnX();
});

afterAll(async () => {
  await agent?.stop();
  await rig?.stop();
});

describe('agent ⇄ collector (Xvfb)', () => {
  it('streams heartbeats, inventory, capabilities and window changes in order', async () => {
    agent = await startAgent({ dataDir: rig.enrolled.dataDir, env: rig.x.env });
    await rig.x.openWindow('Custodian E2E alpha');
    await waitFor(
      async () =>
        (await timeline(rig.collector, rig.enrolled.deviceId)).some(
          (i) => i.event.activeWindow?.title === 'Custodian E2E alpha',
        ),
      'alpha window in the timeline',
    );
    const beta = await rig.x.openWindow('Custodian E2E beta');
    await waitFor(
      async () =>
        (await timeline(rig.collector, rig.enrolled.deviceId)).some(
          (i) => i.event.activeWindow?.title === 'Custodian E2E beta',
        ),
      'beta window in the timeline',
    );
    // Switch back by closing beta: focus returns to alpha.
    beta.kill('SIGKILL');
    const items = await waitFor(async () => {
      const t = await timeline(rig.collector, rig.enrolled.deviceId);
      const titles = t.filter((i) => i.kind === 'activeWindow').map((i) => i.event.activeWindow?.title);
      return titles.lastIndexOf('Custodian E2E alpha') > titles.indexOf('Custodian E2E beta') ? t : undefined;
    }, 'focus back on alpha after beta closed');

    const titles = items.filter((i) => i.kind === 'activeWindow').map((i) => i.event.activeWindow?.title);
    const a = titles.indexOf('Custodian E2E alpha');
    const b = titles.indexOf('Custodian E2E beta');
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThan(a);
    const beforeBeta = items.find((i) => i.event.activeWindow?.title === 'Custodian E2E beta')!;
    expect(items.find((i) => i.event.activeWindow?.title === 'Custodian E2E alpha')!.seq).toBeLessThan(
      beforeBeta.seq,
    );
    // Only changes are recorded: no two consecutive identical windows.
    for (let i = 1; i < titles.length; i++) expect(titles[i]).not.toBe(titles[i - 1]);
    const kinds = new Set(items.map((i) => i.kind));
    for (const k of ['agentStarted', 'heartbeat', 'inventory', 'capabilities']) expect(kinds).toContain(k);
    const caps = items.find((i) => i.kind === 'capabilities')!.event['capabilities'] as {
      capabilities: { name: string; available?: boolean }[];
    };
    expect(caps.capabilities.find((c) => c.name === 'active_window')?.available).toBe(true);
  });

  it('records a window without _NET_WM_PID instead of losing it', async () => {
    const w = await rig.x.openWindow('Custodian E2E no-pid');
    const id = execFileSync('xdotool', ['search', '--name', '^Custodian E2E no-pid$'], {
      env: rig.x.env,
      encoding: 'utf8',
    }).trim();
    execFileSync('xprop', ['-id', id, '-remove', '_NET_WM_PID'], { env: rig.x.env });
    execFileSync('xdotool', ['set_window', '--name', 'Custodian E2E no-pid renamed', id], { env: rig.x.env });
    await waitFor(
      async () =>
        (await timeline(rig.collector, rig.enrolled.deviceId)).some(
          (i) => i.event.activeWindow?.title === 'Custodian E2E no-pid renamed',
        ),
      'renamed pid-less window in the timeline',
    );
    w.kill('SIGKILL');
  });

  it('`status` reports connected, outbox depth and capabilities; the key is never printed', async () => {
    const { stdout } = await agentCli(['status', '--json', '--data-dir', rig.enrolled.dataDir]);
    const st = JSON.parse(stdout);
    expect(st).toMatchObject({
      enrolled: true,
      running: true,
      connection: 'connected',
      deviceId: rig.enrolled.deviceId,
    });
    expect(typeof st.outboxDepth).toBe('number');
    expect(st.capabilities.map((c: { name: string }) => c.name)).toEqual([
      'active_window',
      'idle',
      'lock',
      'screenshot',
      'usb_control',
      'secure_transport',
      'browser_extension',
      'typed_text',
      'screen_text',
    ]);
    const creds = JSON.parse(
      execFileSync('cat', [`${rig.enrolled.dataDir}/credentials.json`], { encoding: 'utf8' }),
    );
    expect(stdout).not.toContain(creds.deviceKey);
    expect(agent!.logs()).not.toContain(creds.deviceKey);
  });

  it('records "(screen locked)" while a locker is up, then the window again', async () => {
    const before = (await timeline(rig.collector, rig.enrolled.deviceId)).length;
    const locker = spawn('i3lock', ['-n'], { env: rig.x.env, stdio: 'ignore' });
    try {
      await waitFor(async () => {
        const t = (await timeline(rig.collector, rig.enrolled.deviceId)).slice(before);
        return t.some((i) => i.event.activeWindow?.app === '(screen locked)');
      }, 'locked state in the timeline');
    } finally {
      locker.kill('SIGKILL');
    }
    await waitFor(async () => {
      const t = (await timeline(rig.collector, rig.enrolled.deviceId)).slice(before);
      const locked = t.findIndex((i) => i.event.activeWindow?.app === '(screen locked)');
      return t
        .slice(locked + 1)
        .some((i) => i.kind === 'activeWindow' && i.event.activeWindow?.app !== '(screen locked)');
    }, 'a window recorded after unlocking');
  });

  // The console's revoke control is driven in Chromium in console-revoke.test.ts; this one is the API.
  it('revoked through the API: the agent stops reconnecting and says so in status and logs', async () => {
    const res = await fetch(`${rig.collector.url}/api/v1/devices/${rig.enrolled.deviceId}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.collector.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'laptop lost (e2e test)' }),
    });
    expect(res.status).toBe(200);
    await agent!.waitForLog(/revoked by the collector; not reconnecting/);
    const st = await waitFor(async () => {
      const s = JSON.parse((await agentCli(['status', '--json', '--data-dir', rig.enrolled.dataDir])).stdout);
      return s.connection === 'revoked' ? s : undefined;
    }, 'status revoked');
    expect(st.lastError).toMatch(/DEVICE_REVOKED|revoked/i);
  });
});
