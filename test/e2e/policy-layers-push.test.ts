// Tenancy (issue 20 item 1), replayed against a real collector process with foreign `ws` clients
// speaking the .proto: a change to a device group's policy layer is pushed to that group's
// connected device only; the devices of another group and of no group receive nothing until a
// trust-wide change (the marker) reaches all three.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { TestAgent } from './console-helpers.ts';

let collector: CollectorProcess;
const agents: TestAgent[] = [];

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(`${collector.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields directly
  return { status: res.status, json: (await res.json()) as any };
}

const policies = (a: TestAgent) =>
  a.received.filter((m) => m.body === 'policy').map((m) => Number(m.policy?.version));

beforeAll(async () => {
  collector = await startCollector();
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.disconnect();
  await collector?.cleanup();
});

describe('policy layers over a real collector', () => {
  it("pushes a group layer change to that group's connected device only", async () => {
    for (const id of ['year-7', 'year-8'])
      expect((await api('POST', '/api/v1/groups', { id, schoolId: 'default', name: id })).status).toBe(200);
    const [inGroup, otherGroup, noGroup] = await Promise.all(
      ['LAPTOP-Y7', 'LAPTOP-Y8', 'LAPTOP-STAFF'].map((h) => TestAgent.enrol(collector, h)),
    );
    agents.push(inGroup!, otherGroup!, noGroup!);
    for (const [a, g] of [
      [inGroup!, 'year-7'],
      [otherGroup!, 'year-8'],
    ] as const)
      expect(
        (await api('PUT', `/api/v1/devices/${a.deviceId}/group`, { groupId: g, reason: 'setup' })).status,
      ).toBe(200);
    for (const a of agents) await a.connect();
    const atHello = agents.map((a) => policies(a));
    for (const p of atHello) expect(p).toHaveLength(1);

    const changed = await api('PUT', '/api/v1/policy/groups/year-7', {
      policy: { idleLock: { idleLockSeconds: 420 } },
      reason: 'year 7: shorter lock',
    });
    expect(changed.status).toBe(200);
    const layerVersion = changed.json.layer.version as number;
    await expect.poll(() => inGroup!.policyVersion, { timeout: 15_000 }).toBe(layerVersion);
    const pushed = inGroup!.received.filter((m) => m.body === 'policy').at(-1)?.policy;
    expect(pushed?.idleLock?.idleLockSeconds).toBe(420);

    const marker = await api('PUT', '/api/v1/policy', { policy: { heartbeatSeconds: 55 }, reason: 'marker' });
    expect(marker.status).toBe(200);
    const markerVersion = marker.json.policy.version as number;
    for (const a of agents) await expect.poll(() => a.policyVersion, { timeout: 15_000 }).toBe(markerVersion);
    // Hello, then the marker: the group change never reached the other two.
    expect(policies(otherGroup!)).toEqual([...(atHello[1] as number[]), markerVersion]);
    expect(policies(noGroup!)).toEqual([...(atHello[2] as number[]), markerVersion]);
    expect(policies(inGroup!)).toEqual([...(atHello[0] as number[]), layerVersion, markerVersion]);

    // The group's change log says who, what and why.
    const log = await api('GET', '/api/v1/policy/groups/year-7/changes');
    expect(log.json.records[0]).toMatchObject({
      scope: 'group:year-7',
      actor: 'admin-token',
      old: null,
      new: { idleLock: { idleLockSeconds: 420 } },
      reason: 'year 7: shorter lock',
      version: layerVersion,
    });
  });
});
