// The policy a layer's patch is merged onto: the trust default, then the layers above it on the
// chain (a group's school; a device's school and group). For readers that have only the store
// and a change record's scope (the DSL's capture watch); the service has its own chain.
import { type Policy, RECEIVED_LIMITS } from '@custodian/policy';
import type { Store } from '../store/types.ts';
import { GROUPS_NS } from '../tenancy/groups.ts';
import { type DeviceGroup, schoolOfDevice } from '../tenancy/model.ts';
import { type Layer, mergeChain } from './layers.ts';

/** `scope` as in the change log: 'default', `school:<id>`, `group:<id>` or a device id. */
export async function policyAbove(store: Store, scope: string): Promise<Policy | undefined> {
  const base = await store.policy.getDefault();
  if (!base || scope === 'default' || scope.startsWith('school:')) return base;
  let schoolId: string;
  let groupId: string | undefined;
  if (scope.startsWith('group:')) {
    const g = await store.kv<DeviceGroup>(GROUPS_NS).get(scope.slice('group:'.length));
    if (!g) return base;
    schoolId = g.schoolId;
  } else {
    const d = await store.devices.get(scope);
    schoolId = schoolOfDevice(d ?? {});
    groupId = d?.groupId;
  }
  const layers: Layer[] = [];
  const school = await store.policy.getLayer({ kind: 'school', id: schoolId });
  if (school) layers.push({ kind: 'school', id: schoolId, ...school });
  if (groupId) {
    const g = await store.kv<DeviceGroup>(GROUPS_NS).get(groupId);
    const group =
      g?.schoolId === schoolId ? await store.policy.getLayer({ kind: 'group', id: groupId }) : undefined;
    if (group) layers.push({ kind: 'group', id: groupId, ...group });
  }
  return mergeChain(base, layers, RECEIVED_LIMITS);
}
