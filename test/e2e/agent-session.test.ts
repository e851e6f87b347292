// The agent as a root service sees it: no DISPLAY, XAUTHORITY or session bus of its own. A real
// collector, a real agent process started with the display variables removed, an Xvfb that
// demands a cookie, and processes of another user holding the desktop session's environment.
// The agent must discover the session, and the window title must reach the collector timeline;
// a logout and a new login must be followed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthXSession, startAuthX } from '../../agent/test/platform/session-xauth.ts';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { type TimelineItem, timeline } from './agent-harness.ts';

/** The keyboard helper (setpriv execs node keyboard-child.ts) started by this agent, if running. */
function keyboardHelperOf(agentPid: number): number | undefined {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m && Number(m[2]) === agentPid && m[3]!.includes('keyboard-child')) return Number(m[1]);
  }
  return undefined;
}

let collector: CollectorProcess | undefined;
let x: AuthXSession | undefined;
let enrolled: EnrolledAgent | undefined;
let agent: AgentProcess | undefined;
/** Issue 11: a listener where a planted DISPLAY=127.0.0.1:M points; root must never connect. */
let trap: Server | undefined;
const trapped: Socket[] = [];
let trapDisplay = 0;

async function listenTrap(): Promise<void> {
  for (let tries = 0; tries < 50 && !trap; tries++) {
    const m = 500 + Math.floor(Math.random() * 400);
    const s = createServer((sock) => trapped.push(sock));
    if (
      await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(6000 + m, '127.0.0.1', () => resolve(true));
      })
    ) {
      trap = s;
      trapDisplay = m;
    }
  }
  if (!trap) throw new Error('no free port for the loopback trap');
}

interface Cap {
  name: string;
  available?: boolean;
  reason: string;
}
const activeWindowCap = (i: TimelineItem): Cap | undefined =>
  (i.event['capabilities'] as { capabilities: Cap[] } | undefined)?.capabilities.find(
    (c) => c.name === 'active_window',
  );

beforeAll(async () => {
  expect(process.env['DISPLAY'] ?? '').toBe('');
  // Reads window titles through the admin token: full titles (the default shows IT app and domain).
  collector = await startCollector({ env: FULL_TITLES });
  x = await startAuthX();
  // Twenty processes: a desktop session has many, and the display most of them name is preferred
  // (other test files hold sessions of other users on their own X servers in parallel).
  await x.holdSession(65534, 20);
  // The user also plants processes pointing root at a loopback listener, with another cookie.
  await listenTrap();
  await x.holdSession(65534, 30, { DISPLAY: `127.0.0.1:${trapDisplay}`, XAUTHORITY: x.authFile });
  enrolled = await enrolAgent({ collector });
  const put = await fetch(`${collector.url}/api/v1/devices/${enrolled.deviceId}/policy`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ policy: { windowSampleMs: 200 }, reason: 'session e2e test' }),
  });
  if (!put.ok) throw new Error(`policy PUT: HTTP ${put.status}: ${await put.text()}`);
  await x.openWindow('Session e2e window one');
  agent = await startAgent({
    dataDir: enrolled.dataDir,
    env: {
      DISPLAY: undefined,
      XAUTHORITY: undefined,
      WAYLAND_DISPLAY: undefined,
      DBUS_SESSION_BUS_ADDRESS: undefined,
      CUSTODIAN_SESSION_INTERVAL_MS: '300',
    },
    args: ['--demo'],
  });
  await agent.waitForLog(/connected to collector/, 30_000);
});

afterAll(async () => {
  for (const sock of trapped) sock.destroy();
  trap?.close();
  await agent?.stop();
  await x?.stop();
  await enrolled?.cleanup();
  await collector?.cleanup();
});

describe('agent without a display of its own (root service)', () => {
  it('discovers the desktop session and the window title reaches the timeline', async () => {
    await agent!.waitForLog(/"msg":"graphical session found"/);
    await waitFor(
      async () =>
        (await timeline(collector!, enrolled!.deviceId)).find(
          (i) => i.event.activeWindow?.title === 'Session e2e window one',
        ),
      'the window title on the collector timeline',
    );
    const t = await timeline(collector!, enrolled!.deviceId);
    const caps = t.map(activeWindowCap).filter((c) => c !== undefined);
    expect(caps.at(-1)).toMatchObject({ available: true });
    // The keyboard source (issue 14) runs as the session's user, not root, on the session's display
    // with the agent's own copy of the cookie (not the file the user controls), tied to the agent.
    const helper = await waitFor(async () => keyboardHelperOf(agent!.pid), 'the keyboard helper', 30_000);
    expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${helper}/status`, 'utf8'))?.slice(1)).toEqual([
      '65534',
      '65534',
    ]);
    const environ = readFileSync(`/proc/${helper}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`DISPLAY=${x!.display}`);
    const xauthority = environ.find((e) => e.startsWith('XAUTHORITY='));
    expect(xauthority).toMatch(/^XAUTHORITY=\//);
    expect(xauthority).not.toBe(`XAUTHORITY=${x!.authFile}`);
    // Nothing ever connected to the planted loopback display.
    expect(trapped).toHaveLength(0);
  });

  it('follows a logout and the next login', async () => {
    await x!.dropHolders();
    await agent!.waitForLog(/"msg":"no graphical session"/);
    const loggedOut = await waitFor(async () => {
      const caps = (await timeline(collector!, enrolled!.deviceId)).map(activeWindowCap);
      const last = caps.filter((c) => c !== undefined).at(-1);
      return last && !last.available ? last : undefined;
    }, 'the capabilities re-reported without the display');
    expect(loggedOut.reason).toBe('no X display');

    await x!.holdSession(65534, 20);
    await x!.openWindow('Session e2e window two');
    await waitFor(
      async () =>
        (await timeline(collector!, enrolled!.deviceId)).find(
          (i) => i.event.activeWindow?.title === 'Session e2e window two',
        ),
      'the new session window title on the collector timeline',
    );
    // The capability report follows the restart (debounced), possibly after the window event.
    await waitFor(async () => {
      const caps = (await timeline(collector!, enrolled!.deviceId)).map(activeWindowCap);
      return caps.filter((c) => c !== undefined).at(-1)?.available === true;
    }, 'the capabilities re-reported with the display');
  });
});
