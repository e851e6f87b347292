// Issue 11 item 1, replayed end to end as a pupil would: a real collector, a real agent process
// (enforcing) on a real X server, and a second account that opens `xterm -class i3lock`, unmaps it
// and sizes it to the screen before the agent starts. Before the fix the agent reported LOCKED,
// never idle-locked and recorded "(screen locked)" instead of windows, so nothing was captured.
// Now: a should-flag title still raises an alert, and the idle lock still locks with i3lock.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureUser } from '../support/test-user.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import type { XSession } from '../support/xvfb.ts';
import { timeline } from './agent-harness.ts';
import { type CaptureRig, startCaptureRig } from './capture-helpers.ts';

const tools = allInstalled([
  'Xvfb',
  'openbox',
  'xterm',
  'xdotool',
  'xprop',
  'i3lock',
  'xprintidle',
  'import',
]);

const pupil = ensureUser('custodian-pupil');
let rig: CaptureRig | undefined;
let fake: ChildProcess | undefined;
let input: NodeJS.Timeout | undefined;
afterAll(async () => {
  clearInterval(input);
  fake?.kill('SIGKILL');
  await rig?.stop();
});

function pupilArgs(display: string, cmd: string[]): string[] {
  return [
    `--reuid=${pupil.uid}`,
    `--regid=${pupil.gid}`,
    '--clear-groups',
    '--',
    'env',
    '-i',
    'PATH=/usr/bin:/bin',
    `DISPLAY=${display}`,
    ...cmd,
  ];
}

async function plantFakeLocker(x: XSession): Promise<void> {
  fake = spawn('setpriv', pupilArgs(x.display, ['xterm', '-class', 'i3lock', '-e', 'sleep', '3600']), {
    stdio: 'ignore',
  });
  const ids = await waitFor(
    async () =>
      spawnSync('xdotool', ['search', '--class', 'i3lock'], { env: x.env, encoding: 'utf8' }).stdout.trim() ||
      undefined,
    'the fake locker window',
  );
  for (const id of ids.split('\n')) {
    for (const cmd of [
      ['xdotool', 'windowunmap', '--sync', id],
      ['xdotool', 'windowsize', id, '1024', '768'],
    ]) {
      expect(spawnSync('setpriv', pupilArgs(x.display, cmd), { timeout: 10_000 }).status).toBe(0);
    }
  }
}

describe.skipIf(!tools)('a pupil’s fake locker window (real agent, real collector)', () => {
  it('capture still raises alerts and the idle lock still locks', async () => {
    rig = await startCaptureRig({
      // A 6 s idle lock keeps the test short; the collector's floor for policy edits is lowered to allow it.
      collectorEnv: { CUSTODIAN_POLICY_MIN_IDLE_LOCK_SECONDS: '3' },
      policy: {
        idleLock: {
          enabled: true,
          idleLockSeconds: 6,
          warningSeconds: 0,
          reportOnly: false,
          exemptionReason: '',
        },
      },
      agentArgs: ['--demo', '--enforce'],
      agentEnv: { CUSTODIAN_LOCK_COMMAND: 'i3lock -n' },
      beforeAgent: plantFakeLocker,
    });
    const r = rig;
    // The person is at the keyboard while the flagged window is open: no idle lock yet.
    input = setInterval(() => {
      spawnSync('xdotool', ['mousemove_relative', '--', '1', '0'], { env: r.x.env });
    }, 500);
    const flaggedTitle = 'how to tie a noose - Google Search';
    await r.x.openWindow(flaggedTitle);
    const alert = await waitFor(
      async () => (await r.alerts()).find((a) => a.windowTitle === flaggedTitle),
      'an alert for the should-flag window while the fake locker is up',
      60_000,
      200,
    );
    expect(alert).toMatchObject({ severity: 5, category: 'suicide' });

    // Then the person walks away: the agent locks with the real i3lock.
    clearInterval(input);
    const deviceId = r.enrolled.deviceId;
    const items = await waitFor(
      async () => {
        const t = await timeline(r.collector, deviceId, ['screenLocked', 'idleState', 'lockFailed']);
        return t.some((i) => i.kind === 'screenLocked') ? t : undefined;
      },
      'screenLocked in the timeline',
      60_000,
    );
    const locked = items.find((i) => i.kind === 'screenLocked')?.event['screenLocked'] as Record<
      string,
      unknown
    >;
    expect(locked).toMatchObject({ method: 'i3lock', byPolicy: true });
    // The fake window was never taken for a lock.
    const states = items
      .filter((i) => i.kind === 'idleState')
      .map((i) => (i.event['idleState'] as { state: string }).state);
    expect(states).not.toContain('LOCKED');
  });
});
