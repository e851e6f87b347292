// /metrics of a real collector process, configured from the environment as an operator would
// (CUSTODIAN_METRICS_ALLOW_FROM), scraped without credentials from the allowed address while a
// foreign `ws` client speaking the .proto sends batches; read with an exposition-format parser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentClient,
  heartbeat,
  newStreamId,
  windowEvent,
} from '../../collector/test/helpers/agent-client.ts';
import {
  metricValue,
  type ParsedFamily,
  scrapeMetrics,
} from '../../collector/test/helpers/metrics-scrape.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';

let collector: CollectorProcess;

beforeAll(async () => {
  collector = await startCollector({ env: { CUSTODIAN_METRICS_ALLOW_FROM: '127.0.0.0/8' } });
}, 60_000);

afterAll(async () => {
  await collector?.cleanup();
});

/** Anonymous: only the configured address lets this through. */
const scrape = () => scrapeMetrics(collector.url);

async function until(read: (f: ParsedFamily[]) => number, want: number): Promise<ParsedFamily[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const f = await scrape();
    if (read(f) === want || Date.now() > deadline) {
      expect(read(f)).toBe(want);
      return f;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('collector process /metrics', () => {
  it('counts what a foreign agent sends: committed events, duplicates, connected agents', async () => {
    const before = await scrape();
    expect(metricValue(before, 'custodian_agents_connected')).toBe(0);
    const events0 = metricValue(before, 'custodian_ingest_events_committed_total');
    const dups0 = metricValue(before, 'custodian_ingest_duplicates_total');

    const res = await fetch(`${collector.url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: collector.enrolSecret,
        machineId: 'metrics-e2e-machine-0001',
        hostname: 'metrics-e2e',
        os: 'linux',
        serial: 'SN-METRICS',
      }),
    });
    expect(res.status).toBe(200);
    const { deviceId, deviceKey } = (await res.json()) as { deviceId: string; deviceKey: string };
    const agent = new AgentClient(collector.wsUrl);
    const stream = newStreamId();
    await agent.hello(deviceId, deviceKey, stream);
    await until((f) => metricValue(f, 'custodian_agents_connected'), 1);

    const batch = [windowEvent(1, 'Reading'), windowEvent(2, 'Maths'), heartbeat(3)];
    expect((await agent.batch(stream, batch)).duplicates).toBe(0);
    expect((await agent.batch(stream, [...batch, windowEvent(4, 'Art')])).duplicates).toBe(3);
    const after = await scrape();
    expect(metricValue(after, 'custodian_ingest_events_committed_total')).toBe(events0 + 4);
    expect(metricValue(after, 'custodian_ingest_duplicates_total')).toBe(dups0 + 3);

    agent.close();
    await agent.closed;
    await until((f) => metricValue(f, 'custodian_agents_connected'), 0);
  });

  it('still needs the token for the rest of the API from the allowed address', async () => {
    expect((await fetch(`${collector.url}/api/v1/devices`)).status).toBe(401);
    expect((await fetch(`${collector.url}/api/v1/retention/runs`)).status).toBe(401);
  });
});
