// The composition root with a BYOD enrolment and an on-premises policy, against the fake
// collector (test/support/fake-collector.ts): outside scope the collecting components are not
// running (stopped, not muted), heartbeats carry "out of scope" without the signed-in user, and the
// transitions are events; a school-owned device with the same policy is always in scope.
// Network facts are scripted here; the real ones are read in test/e2e/byod-scope.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPolicy, mergePolicy, policyToWire } from '@custodian/policy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../src/agent.ts';
import type { ComponentFactory } from '../../src/components.ts';
import { createLogger } from '../../src/config/logger.ts';
import type { AgentComponent } from '../../src/core/contracts.ts';
import { saveCredentials } from '../../src/identity/credentials.ts';
import { HeartbeatMonitor } from '../../src/monitors/heartbeat-monitor.ts';
import type { NetworkFacts, NetworkFactsSource } from '../../src/platform/network-facts.ts';
import { readStatus } from '../../src/service/status-file.ts';
import { FakeCollector } from '../support/fake-collector.ts';
import { waitUntil } from '../support/wait.ts';

const SCHOOL: NetworkFacts = {
  gateways: [{ ip: '10.20.0.1', mac: '52:54:00:aa:bb:01', iface: 'eth0' }],
  dnsSuffixes: ['duston.internal'],
  ssids: [],
  notes: [],
};
const HOME: NetworkFacts = {
  gateways: [{ ip: '192.168.1.1', mac: 'a4:91:b1:00:00:01', iface: 'wlan0' }],
  dnsSuffixes: [],
  ssids: [],
  notes: [],
};

const policy = mergePolicy(defaultPolicy(), {
  version: 5,
  heartbeatSeconds: 5,
  byodScope: {
    mode: 'on-premises',
    networks: [
      {
        name: 'Main site',
        gatewayIps: ['10.20.0.1'],
        gatewayMacs: ['52:54:00:aa:bb:01'],
        dnsSuffixes: [],
        ssids: [],
        collectorLan: '',
      },
    ],
  },
});

let dir: string;
let collector: FakeCollector;
let agent: RunningAgent | undefined;
let facts: NetworkFacts;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-scope-'));
  collector = new FakeCollector({ policy: policyToWire(policy) });
  await collector.start();
  collector.devices.set('dev-b', {
    deviceId: 'dev-b',
    deviceKey: 'k'.repeat(32),
    machineId: 'm',
    hostname: 'h',
    revoked: false,
  });
  facts = HOME;
});

afterEach(async () => {
  await agent?.stop('test over');
  agent = undefined;
  await collector.stop();
  await rm(dir, { recursive: true, force: true });
});

const source: NetworkFactsSource = {
  availability: () => ({ available: true, reason: 'scripted' }),
  read: async () => facts,
};

/** A collecting component that records whether it runs, and emits an event a second while it does. */
function collecting(name: string, log: string[]): ComponentFactory {
  return (ctx): AgentComponent => {
    let timer: NodeJS.Timeout | undefined;
    return {
      name,
      capabilities: () => [],
      async start() {
        log.push(`${name} start`);
        timer = setInterval(
          () => void ctx.events.emit({ activeWindow: { app: name, title: 'collected', url: '', pid: 1 } }),
          50,
        );
      },
      async stop() {
        log.push(`${name} stop`);
        clearInterval(timer);
      },
    };
  };
}

async function start(kind: 'byod' | 'secret', log: string[]): Promise<RunningAgent> {
  await saveCredentials(dir, {
    deviceId: 'dev-b',
    deviceKey: 'k'.repeat(32),
    serverUrl: collector.url,
    enrolledAt: new Date().toISOString(),
    kind,
  });
  agent = await startAgent({
    dataDir: dir,
    version: '9.9.9',
    log: createLogger({ level: 'error', write: () => {} }),
    demo: false,
    enforce: false,
    factories: [
      (ctx, core) =>
        new HeartbeatMonitor(ctx, {
          outboxDepth: () => 0,
          inventory: () => ({ loggedInUser: 'pupil' }) as never,
          scope: core.scope,
        }),
      collecting('capture', log),
      collecting('window-monitor', log),
    ],
    lockState: { isLocked: async () => false },
    statusIntervalMs: 50,
    networkFacts: source,
    scopePollMs: 100,
  });
  return agent;
}
describe('BYOD scope in the composition root', () => {
  it('collects nothing at home, starts on the school network, stops again at home', async () => {
    const log: string[] = [];
    await start('byod', log);
    // The pushed policy (version 5) arrives after start; until then the built-in "always" applies.
    await waitUntil(
      async () => (await readStatus(join(dir, 'status.json')))?.policyVersion === 5,
      'policy 5 applied',
    );
    await waitUntil(
      async () => (await readStatus(join(dir, 'status.json')))?.scope?.inScope === false,
      'out of scope',
    );
    // Waiting for the policy, then at home: the collecting components never started.
    expect(log).toEqual([]);
    const outAt = collector.events('dev-b').length;
    await new Promise((r) => setTimeout(r, 400));
    const sinceOut = collector.events('dev-b').slice(outAt);
    expect(sinceOut.filter((e) => e.activeWindow)).toEqual([]);

    log.length = 0;
    facts = SCHOOL;
    const inStatus = await waitUntil(async () => {
      const st = await readStatus(join(dir, 'status.json'));
      return st?.scope?.inScope === true ? st : undefined;
    }, 'in scope');
    expect(inStatus.scope).toMatchObject({
      applies: true,
      reason: 'on the school network "Main site"',
      rule: 'Main site',
    });
    expect(log).toEqual(['capture start', 'window-monitor start']);
    await waitUntil(
      () => collector.events('dev-b').some((e) => e.activeWindow?.app === 'capture'),
      'collected in scope',
    );

    log.length = 0;
    facts = HOME;
    await waitUntil(
      async () => (await readStatus(join(dir, 'status.json')))?.scope?.inScope === false,
      'out again',
    );
    expect(log).toEqual(['window-monitor stop', 'capture stop']);
    const transitions = await waitUntil(() => {
      const t = collector.events('dev-b').filter((e) => e.scopeChanged);
      return t.length >= 3 ? t : undefined;
    }, 'three transitions');
    expect(transitions.map((e) => [e.scopeChanged!.inScope, e.scopeChanged!.reason])).toEqual([
      [false, "waiting for the school's policy"],
      [true, 'on the school network "Main site"'],
      [false, 'not on a school network'],
    ]);
    // Out of scope, the stop came before the event: nothing collected after the "out" event.
    const events = collector.events('dev-b');
    const lastOut = events.lastIndexOf(transitions[2]!);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      collector
        .events('dev-b')
        .slice(lastOut)
        .filter((e) => e.activeWindow),
    ).toEqual([]);
  });

  it('heartbeats outside scope say so and leave the signed-in user out', async () => {
    const log: string[] = [];
    await start('byod', log);
    // Before the school's policy arrives the device waits outside scope; then, at home, stays out.
    const first = await waitUntil(
      () => collector.events('dev-b').find((e) => e.heartbeat)?.heartbeat,
      'a heartbeat',
    );
    expect(first).toMatchObject({
      loggedInUser: '',
      scope: { applies: true, inScope: false, reason: "waiting for the school's policy" },
    });
    const beat = await waitUntil(
      () =>
        collector.events('dev-b').find((e) => e.heartbeat?.scope?.reason === 'not on a school network')
          ?.heartbeat,
      'an out-of-scope heartbeat',
      20_000,
    );
    expect(beat.scope).toMatchObject({ applies: true, inScope: false, reason: 'not on a school network' });
    expect(beat.loggedInUser).toBe('');
  });

  it('a school-owned device with the same policy is always in scope', async () => {
    const log: string[] = [];
    await start('secret', log);
    await waitUntil(
      async () => (await readStatus(join(dir, 'status.json')))?.policyVersion === 5,
      'policy 5 applied',
    );
    await new Promise((r) => setTimeout(r, 400));
    const st = await readStatus(join(dir, 'status.json'));
    expect(st?.scope).toMatchObject({
      applies: false,
      inScope: true,
      reason: 'school-owned device: monitored at all times',
    });
    expect(log).toEqual(['capture start', 'window-monitor start']);
    expect(collector.events('dev-b').filter((e) => e.scopeChanged)).toEqual([]);
  });
});
