// Issue 20 item 1 measurements (run by hand: `pnpm exec node test/bench/policy-layers-measure.ts [devices]`;
// figures are copied into collector/src/tenancy/README.md). Not part of `pnpm bench`. A level
// store with N devices in 50 groups (each group with a layer), every fifth device with an
// override: the mean time of PolicyService.effective() (what ingest runs at each Hello and push),
// and the time of a school, a group and a trust default change (each checks every layer and
// override below it and lists the devices it covers).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergePolicy, type Policy, RECEIVED_LIMITS } from '@custodian/policy';
import { LiveHub } from '../../collector/src/live/hub.ts';
import { createLogger } from '../../collector/src/log.ts';
import { PolicyService } from '../../collector/src/policy/service.ts';
import { openLevelStore } from '../../collector/src/store/index.ts';
import { DeviceGroups } from '../../collector/src/tenancy/groups.ts';

const N = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'bench-layers-'));
const store = await openLevelStore(dir, randomBytes(32));
const groups = new DeviceGroups({ store });
const svc = new PolicyService({
  store,
  live: new LiveHub(),
  log: createLogger('silent'),
  audit: async () => ({ id: 'a', at: 0, actor: 'x', action: 'x', target: 'x' }),
  groups,
});
await svc.init();
for (let g = 0; g < 50; g++)
  await groups.create({ id: `g${g}`, schoolId: 'default', name: `G${g}` }, 'bench');
for (let g = 0; g < 50; g++)
  await svc.updateLayer({ kind: 'group', id: `g${g}` }, { heartbeatSeconds: 30 + g }, 'bench', 'bench');
for (let i = 0; i < N; i++) {
  await store.devices.put({
    id: `d${i}`,
    kind: 'school',
    machineId: `m${i}`,
    hostname: `h${i}`,
    os: 'linux',
    serial: 'S',
    keyHash: 'ab'.repeat(32),
    enrolledAt: 1,
    groupId: `g${i % 50}`,
  });
  if (i % 5 === 0)
    await store.policy.setOverride(
      `d${i}`,
      { idleLock: { idleLockSeconds: 600 } },
      { actor: 'b', reason: 'b' },
    );
}
// What effective() did before layers (default + override), as the floor to compare with.
let t = performance.now();
for (let i = 0; i < 2000; i++) {
  const base = (await store.policy.getDefault()) as Policy;
  const o = await store.policy.getOverride(`d${i % N}`);
  if (o) mergePolicy(base, o.patch, RECEIVED_LIMITS);
}
const before = (performance.now() - t) / 2000;
t = performance.now();
for (let i = 0; i < 2000; i++) await svc.effective(`d${i % N}`);
const eff = (performance.now() - t) / 2000;
t = performance.now();
await svc.updateLayer({ kind: 'school', id: 'default' }, { capture: { frames: 2 } }, 'bench', 'bench');
const school = performance.now() - t;
t = performance.now();
await svc.updateLayer({ kind: 'group', id: 'g1' }, { capture: { frames: 3 } }, 'bench', 'bench');
const group = performance.now() - t;
t = performance.now();
await svc.updateDefault({ heartbeatSeconds: 50 }, 'bench', 'bench');
const def = performance.now() - t;
console.log(
  JSON.stringify({
    devices: N,
    groups: 50,
    overrides: N / 5,
    effectiveMs: +eff.toFixed(3),
    defaultPlusOverrideMs: +before.toFixed(3),
    schoolLayerChangeMs: Math.round(school),
    groupLayerChangeMs: Math.round(group),
    defaultChangeMs: Math.round(def),
  }),
);
await store.close();
rmSync(dir, { recursive: true, force: true });
