// The conformance suite (support/collector-conformance.ts) against the fake collector the agent's
// link and composition-root tests use, and against a real collector process: whatever those
// tests rely on the fake for, the real collector does the same.
import { defaultPolicy, policyToWire } from '@custodian/policy';
import { type CollectorProcess, startCollector } from '../../../test/support/collector-process.ts';
import { collectorConformance } from '../support/collector-conformance.ts';
import { ENROL_SECRET, FakeCollector } from '../support/fake-collector.ts';

collectorConformance('fake collector', async () => {
  const fake = new FakeCollector();
  await fake.start();
  return {
    get url() {
      return fake.url;
    },
    enrolSecret: ENROL_SECRET,
    byodCode: async () => fake.issueCode(),
    revoke: async (deviceId) => fake.revoke(deviceId),
    givePolicy: async () => {
      fake.options.policy = policyToWire({ ...defaultPolicy(), version: 7, heartbeatSeconds: 30 });
      return 7;
    },
    restart: () => fake.restart(),
    close: () => fake.stop(),
  };
});

collectorConformance('real collector process', async () => {
  const real: CollectorProcess = await startCollector();
  // biome-ignore lint/suspicious/noExplicitAny: tests read API JSON fields directly
  const admin = async (method: string, path: string, body: unknown): Promise<any> => {
    const res = await fetch(`${real.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${real.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    get url() {
      return real.url;
    },
    enrolSecret: real.enrolSecret,
    byodCode: async () => (await admin('POST', '/enrol/codes', { ttlHours: 1 }))['code'],
    revoke: async (deviceId) => {
      await admin('POST', `/devices/${deviceId}/revoke`, { reason: 'conformance suite' });
    },
    givePolicy: async (deviceId) =>
      (
        await admin('PUT', `/devices/${deviceId}/policy`, {
          policy: { heartbeatSeconds: 30 },
          reason: 'conformance',
        })
      )['effective'].version,
    restart: () => real.restart(),
    close: () => real.cleanup(),
  };
});
