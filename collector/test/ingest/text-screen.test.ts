// The text screen: device text that matches the safeguarding library, at any severity, in the
// device's age band and with the school's custom terms, marked by path. Real library, real
// matcher, real policy service on a memory store.
import { defaultPolicy } from '@custodian/policy';
import { describe, expect, it } from 'vitest';
import { TextScreens } from '../../src/ingest/text-screen.ts';
import { LiveHub } from '../../src/live/hub.ts';
import { createLogger } from '../../src/log.ts';
import { PolicyService } from '../../src/policy/service.ts';
import { openMemoryStore } from '../../src/store/index.ts';
import { DeviceGroups } from '../../src/tenancy/groups.ts';

async function screens() {
  const store = openMemoryStore();
  const live = new LiveHub();
  const policy = new PolicyService({
    store,
    live,
    log: createLogger('silent'),
    audit: async () => ({}) as never,
  });
  await policy.init();
  const s = new TextScreens({ policy, live });
  await s.init();
  return { s, policy, store, live };
}

describe('text screen', () => {
  it('marks the paths of matching strings anywhere in a value, and nothing harmless', async () => {
    const { s } = await screens();
    const screen = s.forPolicy(defaultPolicy());
    const value = {
      activeWindow: {
        app: 'firefox',
        title: 'how to k1ll myself - Google Search',
        url: 'https://bbc.co.uk/',
      },
      usbVolumes: [{ label: 'HOLIDAY' }, { label: 'kill myself' }],
      hostname: 'LAB-PC-07',
    };
    expect(screen.paths(value)).toEqual(['activeWindow.title', 'usbVolumes.1.label']);
    expect(screen.paths({ title: 'Fractions - KS3 Maths - BBC Bitesize' })).toEqual([]);
    // Any severity: a severity-1 term still marks (capture's minSeverity does not apply here).
    expect(screen.matches('just stfu')).toBe(true);
    // Repeated strings answer the same from the memo.
    expect(screen.matches('how to k1ll myself - Google Search')).toBe(true);
  });

  it('keeps answering while it recompiles after a default policy change (no window without a screen)', async () => {
    // Found on PostgreSQL, where re-reading the default policy is a network round trip: a
    // timeline request in that window was answered 500 ("init() was not called").
    const { s, live } = await screens();
    const before = s.cached('d1');
    live.emit('policy', { scope: 'default', version: 2 });
    // The re-read of the default policy is still in flight here.
    expect(s.cached('d1')).toBe(before);
    await new Promise((r) => setTimeout(r, 20));
    // Recompiled from the same default: the same compiled matcher.
    expect(s.cached('d1')).toBe(before);
  });

  it('follows the age band and the custom terms; one compiled matcher per combination', async () => {
    const { s, policy, store } = await screens();
    const base = defaultPolicy();
    const primary = { ...base, capture: { ...base.capture, ageBand: 'primary' as const } };
    const custom = {
      ...base,
      capture: { ...base.capture, customTerms: [{ term: 'zorblax', category: 'custom', severity: 1 }] },
    };
    expect(s.forPolicy(base)).toBe(s.forPolicy(defaultPolicy()));
    expect(s.forPolicy(primary)).not.toBe(s.forPolicy(base));
    // `loser` is listed for primary only; `charlie` (drugs) for secondary and staff only.
    expect(s.forPolicy(primary).matches('you loser')).toBe(true);
    expect(s.forPolicy(base).matches('you loser')).toBe(false);
    expect(s.forPolicy(base).matches('ask charlie for some')).toBe(true);
    expect(s.forPolicy(primary).matches('ask charlie for some')).toBe(false);
    expect(s.forPolicy(base).matches('zorblax')).toBe(false);
    expect(s.forPolicy(custom).matches('the zorblax page')).toBe(true);
    // A term with nothing to match is left out; the rest still work.
    const broken = {
      ...base,
      capture: {
        ...base.capture,
        customTerms: [{ term: '!!!', category: 'custom', severity: 1 }, ...custom.capture.customTerms],
      },
    };
    expect(s.forPolicy(broken).matches('the zorblax page')).toBe(true);
    // A device's override is followed, and a change to it is picked up.
    const device = {
      id: 'd1',
      kind: 'school' as const,
      machineId: 'm',
      hostname: 'h',
      os: 'linux',
      serial: 's',
      keyHash: '0',
      enrolledAt: 1,
    };
    await store.devices.put(device);
    expect((await s.forDevice('d1')).matches('the zorblax page')).toBe(false);
    await policy.updateDevice('d1', { capture: { customTerms: custom.capture.customTerms } }, 'test', 'it1');
    await expect.poll(() => s.cached('d1').matches('the zorblax page')).toBe(true);
  });

  it("follows a group layer's custom terms on the devices of that group only", async () => {
    const { s, policy, store } = await screens();
    const groups = new DeviceGroups({ store });
    await groups.create({ id: 'y7', schoolId: 'default', name: 'Year 7' }, 'admin1');
    const device = (id: string, groupId?: string) => ({
      id,
      kind: 'school' as const,
      machineId: `m-${id}`,
      hostname: id,
      os: 'linux',
      serial: 'S',
      keyHash: '0',
      enrolledAt: 1,
      ...(groupId ? { groupId } : {}),
    });
    await store.devices.put(device('in', 'y7'));
    await store.devices.put(device('out'));
    expect((await s.forDevice('in')).matches('the zorblax page')).toBe(false);
    expect((await s.forDevice('out')).matches('the zorblax page')).toBe(false);
    await policy.updateLayer(
      { kind: 'group', id: 'y7' },
      { capture: { customTerms: [{ term: 'zorblax', category: 'custom', severity: 1 }] } },
      'year 7 word',
      'admin1',
    );
    await expect.poll(() => s.cached('in').matches('the zorblax page')).toBe(true);
    expect(s.cached('out').matches('the zorblax page')).toBe(false);
  });
});
