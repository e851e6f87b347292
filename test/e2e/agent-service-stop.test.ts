// The Windows service host cannot send signals: it closes the agent's stdin to ask for a clean
// stop (`run --stop-on-stdin-eof`, packaging/windows/service-host.c). A real collector and a real
// agent process: closing stdin stops it cleanly (agentStopping reaches the timeline, exit 0), and
// without the flag a closed stdin changes nothing (systemd gives a service /dev/null, at EOF at once).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { timeline } from './agent-harness.ts';

const HEADLESS = { DISPLAY: '', WAYLAND_DISPLAY: '' };
let collector: CollectorProcess | undefined;
let enrolled: EnrolledAgent | undefined;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  collector = await startCollector();
  enrolled = await enrolAgent({ collector });
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.stop();
  await enrolled?.cleanup();
  await collector?.cleanup();
});

async function connected(a: AgentProcess): Promise<void> {
  await waitFor(
    async () =>
      ((await a.status().catch(() => ({}))) as { link?: { status: string } }).link?.status === 'connected' ||
      undefined,
    'agent connected',
  );
}

describe('agent stop on stdin EOF (the Windows service stop)', () => {
  it('without --stop-on-stdin-eof, a closed stdin does not stop the agent', async () => {
    const a = await startAgent({ dataDir: enrolled!.dataDir, env: HEADLESS, stdinPipe: true });
    agents.push(a);
    await connected(a);
    a.closeStdin();
    const exitedEarly = await Promise.race([
      a.exited.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 3000)),
    ]);
    expect(exitedEarly).toBe(false);
    await a.stop();
    expect(await a.exited).toBe(0);
  });

  it('with --stop-on-stdin-eof, closing stdin stops it cleanly: agentStopping "service stop" reaches the collector, exit 0', async () => {
    const a = await startAgent({
      dataDir: enrolled!.dataDir,
      env: HEADLESS,
      stdinPipe: true,
      args: ['--stop-on-stdin-eof'],
    });
    agents.push(a);
    await connected(a);
    a.closeStdin();
    expect(await a.exited).toBe(0);
    const items = await waitFor(async () => {
      const t = await timeline(collector!, enrolled!.deviceId);
      return t.some(
        (i) =>
          i.kind === 'agentStopping' &&
          (i.event['agentStopping'] as { reason?: string })?.reason === 'service stop',
      )
        ? t
        : undefined;
    }, 'agentStopping with reason "service stop"');
    expect(items.filter((i) => i.kind === 'agentStopping').length).toBe(2);
  });
});
