// The composition root in-process against the fake collector (support/fake-collector.ts, real ws on
// 127.0.0.1, held to the real collector by link/collector-conformance.test.ts): components start in
// order, a broken one does not stop the rest, commands reach the component that handles them,
// demo mode is logged and applied, and status.json is kept fresh (without the key).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1 } from '@custodian/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../src/agent.ts';
import type { ComponentFactory } from '../src/components.ts';
import { createLogger } from '../src/config/logger.ts';
import type { AgentComponent, AgentContext } from '../src/core/contracts.ts';
import { saveCredentials } from '../src/identity/credentials.ts';
import { FakeCollector } from './support/fake-collector.ts';
import { waitUntil } from './support/wait.ts';

let dir: string;
let collector: FakeCollector;
let agent: RunningAgent | undefined;
let logLines: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-'));
  collector = new FakeCollector();
  await collector.start();
  collector.devices.set('dev-a', {
    deviceId: 'dev-a',
    deviceKey: 'secret-key-value',
    machineId: 'm',
    hostname: 'h',
    revoked: false,
  });
  await saveCredentials(dir, {
    deviceId: 'dev-a',
    deviceKey: 'secret-key-value',
    serverUrl: collector.url,
    enrolledAt: new Date().toISOString(),
    kind: 'secret',
  });
  logLines = [];
});

afterEach(async () => {
  await agent?.stop('test over');
  agent = undefined;
  await collector.stop();
  await rm(dir, { recursive: true, force: true });
});

function component(name: string, extra: Partial<AgentComponent> = {}): AgentComponent {
  return { name, start: async () => {}, stop: async () => {}, capabilities: () => [], ...extra };
}

async function start(factories: ComponentFactory[], demo = false): Promise<RunningAgent> {
  agent = await startAgent({
    dataDir: dir,
    version: '9.9.9',
    log: createLogger({ level: 'debug', write: (l) => void logLines.push(l) }),
    demo,
    enforce: false,
    factories,
    lockState: { isLocked: async () => false },
    statusIntervalMs: 50,
  });
  return agent;
}

describe('agent composition root', () => {
  it('starts components, skips broken ones, dispatches commands and reports results', async () => {
    let seenCtx: AgentContext | undefined;
    const handled: string[] = [];
    await start([
      () => {
        throw new Error('factory exploded');
      },
      () => component('bad-start', { start: async () => Promise.reject(new Error('no display')) }),
      (ctx) => {
        seenCtx = ctx;
        return component('locker', {
          capabilities: () => [{ name: 'lock', available: true, reason: '' }],
          onCommand: async (c) => {
            if (c.kind !== v1.Command.Kind.LOCK_NOW) return false;
            handled.push(c.commandId ?? '');
            return true;
          },
        });
      },
    ]);
    expect(seenCtx?.windows.current()).toBeUndefined();
    await waitUntil(() => collector.connected('dev-a'), 'agent connected');
    collector.send('dev-a', { command: { commandId: 'lock-1', kind: v1.Command.Kind.LOCK_NOW } });
    collector.send('dev-a', { command: { commandId: 'scan-1', kind: v1.Command.Kind.RESCAN_USB } });
    await waitUntil(() => collector.received.filter((m) => m.commandResult).length === 2, 'command results');
    const results = collector.received.filter((m) => m.commandResult).map((m) => m.commandResult!);
    expect(results[0]).toMatchObject({ commandId: 'lock-1', ok: true });
    expect(results[1]).toMatchObject({
      commandId: 'scan-1',
      ok: false,
      error: 'RESCAN_USB is not supported on this device',
    });
    expect(handled).toEqual(['lock-1']);
    const events = await waitUntil(() => {
      const e = collector.events('dev-a');
      return e.some((x) => x.capabilities) ? e : undefined;
    }, 'capability report');
    expect(events[0]!.agentStarted).toMatchObject({ agentVersion: '9.9.9', demoMode: false });
    const caps = events.find((e) => e.capabilities)!.capabilities!.capabilities!;
    expect(caps.find((c) => c.name === 'lock')).toMatchObject({ available: true });
    const logs = logLines.join('');
    expect(logs).toContain('component could not be created');
    expect(logs).toContain('"component":"bad-start"');
  });

  it('keeps status.json fresh with the link state and never writes the key', async () => {
    await start([]);
    const status = await waitUntil(async () => {
      const s = JSON.parse(await readFile(join(dir, 'status.json'), 'utf8'));
      return s.link.status === 'connected' ? s : undefined;
    }, 'connected status');
    expect(status).toMatchObject({ running: true, deviceId: 'dev-a', pid: process.pid, policyVersion: 0 });
    expect(JSON.stringify(status)).not.toContain('secret-key-value');
    expect(logLines.join('')).not.toContain('secret-key-value');
    await agent!.stop('done');
    const after = JSON.parse(await readFile(join(dir, 'status.json'), 'utf8'));
    expect(after.running).toBe(false);
    const last = collector.events('dev-a').at(-1);
    expect(last?.agentStopping?.reason).toBe('done');
  });

  it('demo mode says so at start and relaxes enforcement in the policy components see', async () => {
    let usbMode = '';
    let reportOnly = false;
    await start(
      [
        (ctx) => {
          usbMode = ctx.policy.current().usb.mode;
          reportOnly = ctx.policy.current().idleLock.reportOnly;
          return component('probe');
        },
      ],
      true,
    );
    expect(usbMode).toBe('audit');
    expect(reportOnly).toBe(true);
    expect(logLines.join('')).toMatch(/DEMO MODE: USB control runs in audit mode/);
    await waitUntil(() => collector.events('dev-a').length > 0, 'events');
    expect(collector.events('dev-a')[0]!.agentStarted?.demoMode).toBe(true);
  });

  it('refuses to run when not enrolled', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'agent-empty-'));
    try {
      await expect(
        startAgent({
          dataDir: empty,
          version: '1',
          log: createLogger({ write: () => {} }),
          demo: false,
          enforce: false,
        }),
      ).rejects.toThrow(/not enrolled/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
