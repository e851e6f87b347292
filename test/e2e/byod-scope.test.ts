// BYOD in school scope only (issue 19, item 5), end to end with real parts: a real collector
// process, a real agent process as root inside a network namespace standing in for the pupil's
// laptop (test/support/netns.ts: one veth link to a "school" network, one to a "home" network,
// each with its own gateway address, gateway MAC and DHCP search domain), and a real X server
// (Xvfb + openbox, reached through its filesystem socket from inside the namespace) showing
// flagged window titles. The policy's rule "Main site" matches the school gateway's MAC and the
// school's search domain, read by the agent from /proc/net/{route,arp} and resolv.conf.
//
// At school the agent collects and the DSL gets an alert. Moved home, it stops its collecting
// components (the window reader's xprop processes are gone), sends heartbeats "out of scope" and
// nothing else, though a flagged window is on screen. Started again at home it collects nothing
// from the start; back at school it collects again.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentProcess, agentCli, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { createLaptopNetns, type LaptopNetns, netnsUsable } from '../support/netns.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { startX, type XSession } from '../support/xvfb.ts';
import { dslHeaders, type TimelineItem, timeline } from './agent-harness.ts';

const usable =
  netnsUsable() && allInstalled(['Xvfb', 'openbox', 'xterm', 'xdotool', 'xprop', 'xrandr', 'import']);

let laptop: LaptopNetns | undefined;
let collector: CollectorProcess | undefined;
let x: XSession | undefined;
let agent: AgentProcess | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await agent?.stop();
  await x?.stop();
  await collector?.cleanup();
  laptop?.cleanup();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Alert {
  windowTitle: string;
}
interface ScopeView {
  applies: boolean;
  inScope: boolean;
  reason: string;
  rule: string;
}

/** Child processes of `pid` named `comm` (the window reader's `xprop -spy`). */
async function children(pid: number, comm: string): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const out: number[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (m && m[1] === comm && Number(m[2]) === pid) out.push(Number(d));
  }
  return out;
}

describe.skipIf(!usable)('BYOD scope: school and home networks as network namespaces', () => {
  it('collects at school; at home sends only "out of scope" heartbeats, even with a flagged window shown', async () => {
    laptop = createLaptopNetns();
    const net = laptop;
    net.atSchool();
    // The collector listens on the school gateway's address; from home it is reached through the
    // home gateway (the test's namespace routes between the two).
    collector = await startCollector({ env: FULL_TITLES, args: ['--host', net.school.gateway] });
    const c = collector;
    x = await startX({ width: 1024, height: 768 });
    const X = x;
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${c.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok)
        throw Object.assign(new Error(`${method} ${path}: ${res.status} ${await res.text()}`), {
          fatal: true,
        });
      return res.json() as Promise<Record<string, unknown>>;
    };

    // A pupil's laptop enrolled with a BYOD code.
    dataDir = await mkdtemp(join(tmpdir(), 'custodian-byod-'));
    const { code } = (await admin('POST', '/enrol/codes', { ttlHours: 1 })) as { code: string };
    const env = { ...process.env, CUSTODIAN_AGENT_MACHINE_ID: randomBytes(16).toString('hex') };
    await agentCli(
      [
        'enrol',
        '--server',
        c.url,
        '--code',
        code,
        '--name',
        'Sam',
        '--accept-agreement',
        '--insecure',
        '--data-dir',
        dataDir,
      ],
      { env },
    );
    const deviceId = (
      JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as { deviceId: string }
    ).deviceId;
    await admin('PUT', '/policy', {
      policy: {
        windowSampleMs: 200,
        heartbeatSeconds: 5,
        byodScope: {
          mode: 'on-premises',
          networks: [
            {
              name: 'Main site',
              gatewayIps: [],
              gatewayMacs: [net.school.gatewayMac],
              dnsSuffixes: [net.school.searchDomain],
              ssids: [],
              collectorLan: '',
            },
          ],
        },
      },
      reason: 'BYOD monitored on the premises only (e2e)',
    });
    const dsl = await dslHeaders(c);
    const alerts = async () => {
      const res = await fetch(`${c.url}/api/v1/alerts?limit=200`, { headers: dsl });
      if (!res.ok) throw Object.assign(new Error(`alerts: ${res.status}`), { fatal: res.status < 500 });
      return ((await res.json()) as { alerts: Alert[] }).alerts;
    };
    const status = async () =>
      JSON.parse(await readFile(join(dataDir!, 'status.json'), 'utf8')) as { scope?: ScopeView };
    const deviceScope = async () =>
      ((await admin('GET', `/devices/${deviceId}`)) as { device: { status: { scope?: ScopeView } } }).device
        .status.scope;
    const run = () =>
      startAgent({
        dataDir: dataDir!,
        prefix: net.prefix,
        env: { ...X.env, ...env, CUSTODIAN_SCOPE_POLL_MS: '500' },
        args: ['--demo'],
      });

    // ---- at school: in scope, a flagged title raises an alert.
    agent = await run();
    await agent.waitForLog(/connected to collector/, 60_000);
    expect(
      await waitFor(
        async () => ((await status()).scope?.inScope ? (await status()).scope : undefined),
        'in scope at school',
      ),
    ).toMatchObject({
      applies: true,
      inScope: true,
      rule: 'Main site',
      reason: 'on the school network "Main site"',
    });
    const atSchool = 'how to tie a noose - Google Search';
    await X.openWindow(atSchool);
    await waitFor(
      async () => (await alerts()).find((a) => a.windowTitle === atSchool),
      'alert at school',
      60_000,
    );
    expect((await children(agent.pid, 'xprop')).length).toBeGreaterThan(0);

    // ---- moved home while running: out of scope.
    net.atHome();
    await waitFor(async () => (await status()).scope?.inScope === false, 'out of scope at home', 30_000);
    expect((await status()).scope).toMatchObject({
      applies: true,
      inScope: false,
      rule: '',
      reason: 'not on a school network',
    });
    // The collector shows it (device status), and the user sees it with `custodian-agent status`.
    expect(
      await waitFor(
        async () => ((await deviceScope())?.inScope === false ? deviceScope() : undefined),
        'collector sees out of scope',
      ),
    ).toMatchObject({
      applies: true,
      reason: 'not on a school network',
    });
    const cli = await agentCli(['status', '--data-dir', dataDir]);
    expect(cli.stdout).toMatch(
      /monitoring: {3}OFF \(outside school scope since .*; nothing is recorded, only heartbeats are sent\): not on a school network/,
    );
    // Stopped, not muted: the window reader's processes are gone.
    await waitFor(
      async () => (await children(agent!.pid, 'xprop')).length === 0,
      'xprop spies stopped',
      20_000,
    );

    const atHome = 'send nudes - Snapchat';
    await X.openWindow(atHome);
    const shownAt = Date.now();
    // The agent is alive and reporting: a heartbeat stamped after the window appeared, out of scope.
    await waitFor(
      async () =>
        (await timeline(c, deviceId, ['heartbeat'])).find(
          (e) => Number((e.event as { timeMs?: number }).timeMs) > shownAt + 500 && outOfScopeBeat(e),
        ),
      'an out-of-scope heartbeat after the window appeared',
      60_000,
    );
    const all = await timeline(c, deviceId);
    const outAt = lastIndex(
      all,
      (e) => e.kind === 'scopeChanged' && (e.event['scopeChanged'] as ScopeView).inScope !== true,
    );
    expect(outAt).toBeGreaterThan(0);
    expect(kindsAfter(all, outAt)).toEqual(['heartbeat']);
    for (const hb of all.slice(outAt + 1)) expect(hb.event.heartbeat?.['loggedInUser'] ?? '').toBe('');
    expect((await alerts()).filter((a) => a.windowTitle === atHome)).toEqual([]);
    expect(all.map((e) => e.event.activeWindow?.title)).not.toContain(atHome);

    // ---- started again at home: out of scope from the start, nothing collected.
    await agent.stop();
    agent = await run();
    await agent.waitForLog(/connected to collector/, 60_000);
    const restartedAt = Date.now();
    await waitFor(
      async () =>
        (await timeline(c, deviceId, ['heartbeat'])).find(
          (e) => Number((e.event as { timeMs?: number }).timeMs) > restartedAt + 500 && outOfScopeBeat(e),
        ),
      'an out-of-scope heartbeat from the restarted agent',
      30_000,
    );
    const again = await timeline(c, deviceId);
    const started = lastIndex(again, (e) => e.kind === 'agentStarted');
    expect(new Set(kindsAfter(again, started - 1))).toEqual(
      new Set(['agentStarted', 'scopeChanged', 'capabilities', 'heartbeat']),
    );
    // proto3 JSON leaves false out: inScope absent is "out".
    expect(again[started + 1]?.event['scopeChanged']).toMatchObject({
      applies: true,
      reason: 'not on a school network',
    });
    expect(again[started + 1]?.event['scopeChanged']).not.toHaveProperty('inScope');
    expect((await children(agent.pid, 'xprop')).length).toBe(0);
    expect((await alerts()).filter((a) => a.windowTitle === atHome)).toEqual([]);

    // ---- back at school: monitoring resumes, and the flagged window still on screen is seen.
    net.atSchool();
    await waitFor(async () => (await status()).scope?.inScope === true, 'in scope again', 30_000);
    await waitFor(
      async () => (await alerts()).find((a) => a.windowTitle === atHome),
      'alert once back at school',
      60_000,
    );
    const back = await timeline(c, deviceId, ['scopeChanged']);
    expect(back.map((e) => (e.event['scopeChanged'] as ScopeView).inScope === true)).toEqual([
      false,
      true,
      false,
      false,
      true,
    ]);
  });
});

/** A heartbeat that says "out of scope" (proto3 JSON leaves `inScope: false` out). */
function outOfScopeBeat(e: TimelineItem): boolean {
  const scope = e.event.heartbeat?.['scope'] as ScopeView | undefined;
  return scope !== undefined && scope.applies === true && scope.inScope !== true;
}

function lastIndex(items: TimelineItem[], pred: (e: TimelineItem) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) return i;
  return -1;
}

/** The distinct kinds after index `i`, in first-seen order. */
function kindsAfter(items: TimelineItem[], i: number): string[] {
  return [...new Set(items.slice(i + 1).map((e) => e.kind))];
}
