// Reads a device's chain of policy layers from the store: its school's layer, its group's (only a
// group of its own school), its override and its last move's version. One home for the chain the
// service (service.ts) and the readers that have only the store (the DSL's capture watch) use.
import { type Policy, RECEIVED_LIMITS } from '@custodian/policy';
import type { Device, Store } from '../store/types.ts';
import { GROUPS_NS } from '../tenancy/groups.ts';
import { type DeviceGroup, schoolOfDevice } from '../tenancy/model.ts';
import { type Layer, mergeChain } from './layers.ts';

export interface ChainSource {
  store: Store;
  group(id: string): Promise<DeviceGroup | undefined>;
}

/** The layers between the trust default and a device override (upper first). */
export async function layersAbove(
  src: ChainSource,
  schoolId: string,
  groupId: string | undefined,
): Promise<Layer[]> {
  const layers: Layer[] = [];
  const school = await src.store.policy.getLayer({ kind: 'school', id: schoolId });
  if (school) layers.push({ kind: 'school', id: schoolId, ...school });
  if (groupId) {
    // A group of another school (a device moved between schools) is not on the chain.
    const g = await src.group(groupId);
    const group =
      g?.schoolId === schoolId ? await src.store.policy.getLayer({ kind: 'group', id: groupId }) : undefined;
    if (group) layers.push({ kind: 'group', id: groupId, ...group });
  }
  return layers;
}

/** A device's layers above the default (upper first, its override last) and its last move's version. */
export async function deviceChain(
  src: ChainSource,
  deviceId: string,
  device: Device | undefined,
): Promise<{ layers: Layer[]; floor: number }> {
  const layers = await layersAbove(src, schoolOfDevice(device ?? {}), device?.groupId);
  const override = await src.store.policy.getOverride(deviceId);
  if (override) layers.push({ kind: 'device', id: deviceId, ...override });
  return { layers, floor: await src.store.policy.moveVersion(deviceId) };
}

/**
 * The policy a change's patch is merged onto, from its change-log scope: the trust default for
 * 'default' and `school:<id>`, plus the school's layer for `group:<id>`, plus the school's and
 * group's layers for a device id.
 */
export async function policyAbove(store: Store, scope: string): Promise<Policy | undefined> {
  const base = await store.policy.getDefault();
  if (!base || scope === 'default' || scope.startsWith('school:')) return base;
  const src: ChainSource = { store, group: (id) => store.kv<DeviceGroup>(GROUPS_NS).get(id) };
  let layers: Layer[];
  if (scope.startsWith('group:')) {
    const g = await src.group(scope.slice('group:'.length));
    layers = g ? await layersAbove(src, g.schoolId, undefined) : [];
  } else {
    const d = await store.devices.get(scope);
    layers = await layersAbove(src, schoolOfDevice(d ?? {}), d?.groupId);
  }
  return mergeChain(base, layers, RECEIVED_LIMITS);
}
