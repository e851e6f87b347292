// Device groups (tenancy: trust -> school -> group): a named set of devices within one school,
// the policy layer between the school's and a device's own (policy/service.ts). This file keeps
// the registry (create, rename, delete); moving a device into or out of a group changes its
// policy, so that is PolicyService.moveDevice. Groups live in the `device-groups` namespace.
import { randomBytes } from 'node:crypto';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditInput, KvNamespace, Store } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID, type DeviceGroup, TENANT_ID_PATTERN } from './model.ts';

export const GROUPS_NS = 'device-groups';
const TENANT_ID = new RegExp(TENANT_ID_PATTERN);

/** Whether a school exists. The default knows only DEFAULT_SCHOOL_ID (a deployment with no tenancy). */
export type SchoolExists = (schoolId: string) => Promise<boolean>;
export const onlyDefaultSchool: SchoolExists = async (id) => id === DEFAULT_SCHOOL_ID;

/** Read side, for the policy service. */
export interface GroupDirectory {
  get(id: string): Promise<DeviceGroup | undefined>;
  list(schoolId?: string): Promise<DeviceGroup[]>;
  schoolExists: SchoolExists;
}

export interface DeviceGroupsOptions {
  store: Store;
  now?: () => number;
  schoolExists?: SchoolExists;
}

function nameOf(name: string): string {
  const n = name.trim();
  if (n === '' || n.length > 80 || /[\u0000-\u001f\u007f]/.test(n))
    throw new CustodianError(ErrorCode.INVALID_INPUT, 'name: 1 to 80 characters, no control characters', {
      details: { field: 'name' },
    });
  return n;
}

export class DeviceGroups implements GroupDirectory {
  private readonly store: Store;
  private readonly kv: KvNamespace<DeviceGroup>;
  private readonly now: () => number;
  /** Wired by the integrator to the schools registry (tenancy/README.md); default: one school. */
  schoolExists: SchoolExists;

  constructor(options: DeviceGroupsOptions) {
    this.store = options.store;
    this.kv = options.store.kv<DeviceGroup>(GROUPS_NS);
    this.now = options.now ?? Date.now;
    this.schoolExists = options.schoolExists ?? onlyDefaultSchool;
  }

  async get(id: string): Promise<DeviceGroup | undefined> {
    if (!TENANT_ID.test(id)) return undefined;
    return this.kv.get(id);
  }

  /** Every group, or one school's; by school then name. */
  async list(schoolId?: string): Promise<DeviceGroup[]> {
    const all = (await this.kv.list()).map((e) => e.value);
    return all
      .filter((g) => schoolId === undefined || g.schoolId === schoolId)
      .sort((a, b) => a.schoolId.localeCompare(b.schoolId) || a.name.localeCompare(b.name));
  }

  async create(input: { id?: string; schoolId: string; name: string }, actor: string): Promise<DeviceGroup> {
    const name = nameOf(input.name);
    if (!(await this.schoolExists(input.schoolId)))
      throw new CustodianError(ErrorCode.NOT_FOUND, `school ${input.schoolId} not found`);
    const id = input.id ?? `g-${randomBytes(5).toString('hex')}`;
    if (!TENANT_ID.test(id))
      throw new CustodianError(
        ErrorCode.INVALID_INPUT,
        'id: lower-case letters, digits and dashes (1 to 40)',
        {
          details: { field: 'id' },
        },
      );
    const group: DeviceGroup = { id, schoolId: input.schoolId, name, createdAt: this.now() };
    // A change that throws writes neither the group nor its audit record.
    await this.kv.update(
      id,
      (current) => {
        if (current) throw new CustodianError(ErrorCode.CONFLICT, `group ${id} already exists`);
        return group;
      },
      this.auditOf(actor, 'group.created', id, { schoolId: group.schoolId, name }),
    );
    return group;
  }

  async rename(id: string, name: string, actor: string): Promise<DeviceGroup> {
    const n = nameOf(name);
    const before = await this.get(id);
    if (!before) throw new CustodianError(ErrorCode.NOT_FOUND, `group ${id} not found`);
    const after = await this.kv.update(
      id,
      (current) => {
        if (!current) throw new CustodianError(ErrorCode.NOT_FOUND, `group ${id} not found`);
        return { ...current, name: n };
      },
      this.auditOf(actor, 'group.renamed', id, { from: before.name, to: n }),
    );
    return after as DeviceGroup;
  }

  /**
   * Refused (409) while the group has (unrevoked) devices or a policy layer: deleting either silently would
   * change what those devices enforce. Move the devices out and remove the layer first.
   */
  async delete(id: string, reason: string, actor: string): Promise<void> {
    const group = await this.get(id);
    if (!group) throw new CustodianError(ErrorCode.NOT_FOUND, `group ${id} not found`);
    // Revoked and retired devices never connect again: they do not keep a group alive (their
    // record keeps the id; a chain ignores a group that no longer exists).
    const members = (await this.store.devices.list()).filter(
      (d) => d.groupId === id && d.revokedAt === undefined,
    );
    if (members.length > 0)
      throw new CustodianError(
        ErrorCode.CONFLICT,
        `group ${id} still has ${members.length} device(s): move them out first`,
        { details: { devices: members.slice(0, 20).map((d) => d.id) } },
      );
    const layer = await this.store.policy.getLayer({ kind: 'group', id });
    if (layer && Object.keys(layer.patch).length > 0)
      throw new CustodianError(
        ErrorCode.CONFLICT,
        `group ${id} has a policy layer: remove it first (PUT /api/v1/policy/groups/${id} with null)`,
      );
    await this.kv.update(
      id,
      (current) => {
        if (current === undefined) throw new CustodianError(ErrorCode.NOT_FOUND, `group ${id} not found`);
        return undefined;
      },
      this.auditOf(actor, 'group.deleted', id, { schoolId: group.schoolId, name: group.name, reason }),
    );
    // Its (empty) layer record goes with it; the change log keeps its history.
    await this.store.policy.deleteLayer({ kind: 'group', id });
  }

  private auditOf(actor: string, action: string, id: string, details: Record<string, unknown>): AuditInput {
    return { actor, action, target: `group:${id}`, details };
  }
}
