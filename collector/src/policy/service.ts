// Policy: the trust default (stored, versioned), then optional layers for a school and a device
// group, then a per-device override patch (tenancy: trust -> school -> group -> device). A
// device's effective policy is the merge along its chain (layers.ts) with version = the newest
// on the chain; the version counter is global, so every change that affects a device raises its
// version (a move between groups too). Each change is recorded (who, when, old -> new, reason)
// and announced on the live hub, where ingest pushes it to the connected agents it affects.
import {
  defaultPolicy,
  EDIT_LIMITS,
  mergePolicy,
  type Policy,
  type PolicyLimits,
  type PolicyPatch,
  RECEIVED_LIMITS,
  validatePolicy,
} from '@custodian/policy';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Logger } from '../log.ts';
import { Mutex } from '../store/store.ts';
import type { Device, PolicyLayerKind, PolicyLayerRef, Store } from '../store/types.ts';
import { DeviceGroups, type GroupDirectory } from '../tenancy/groups.ts';
import { schoolOfDevice } from '../tenancy/model.ts';
import { type ChainSource, deviceChain, layersAbove } from './chain.ts';
import { type FieldSource, isEmptyPatch, type Layer, layerScope, mergeChain, provenance } from './layers.ts';

export interface PolicyServiceOptions {
  store: Store;
  live: LiveHub;
  log: Logger;
  audit: AuditFn;
  /** Groups and school existence (tenancy/groups.ts); default: the store's groups, one school. */
  groups?: GroupDirectory;
  /** Limits of sense for changes made through the API (config `policy.*`). Default EDIT_LIMITS. */
  limits?: Readonly<PolicyLimits>;
}

/** A device's chain and where each effective value comes from (GET /devices/:id/policy/layers). */
export interface DeviceLayers {
  effective: Policy;
  /** Upper first: the trust default, then the school's, the group's and the device's own layer. */
  layers: { kind: 'default' | Layer['kind']; id: string; version: number; patch: PolicyPatch | Policy }[];
  fields: FieldSource[];
}

function reasonOf(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw new CustodianError(ErrorCode.INVALID_INPUT, 'reason must say why (1 to 500 characters)', {
      details: { field: 'reason' },
    });
  }
  return reason.trim();
}

function patchOf(patch: unknown): PolicyPatch {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new CustodianError(ErrorCode.INVALID_POLICY, 'policy must be an object (a partial policy)', {
      details: { field: 'policy' },
    });
  }
  // The version is the collector's to assign.
  const { version: _ignored, ...rest } = patch as PolicyPatch;
  return rest;
}

/** A candidate change, checked against every layer below it before it is stored. */
type Candidate =
  | { kind: 'default'; policy: Policy }
  | { kind: PolicyLayerKind; id: string; patch: PolicyPatch };

function describe(layer: { kind: Layer['kind']; id: string }): string {
  return layer.kind === 'device'
    ? `the override of device ${layer.id}`
    : `the ${layer.kind} layer ${layer.id}`;
}

/** How long a policy change waits for one being made on another collector process. */
const POLICY_LOCK_WAIT_MS = 30_000;

export class PolicyService {
  private readonly o: PolicyServiceOptions & { groups: GroupDirectory };
  private readonly serial = new Mutex();
  constructor(options: PolicyServiceOptions) {
    this.o = { ...options, groups: options.groups ?? new DeviceGroups({ store: options.store }) };
  }

  private get limits(): Readonly<PolicyLimits> {
    return this.o.limits ?? EDIT_LIMITS;
  }

  /** First start: store the built-in default as version 1. */
  async init(): Promise<void> {
    if ((await this.o.store.policy.getDefault()) === undefined) {
      // Checked again under the policy lock: collectors starting together store it once.
      await this.o.store.policy.setDefault((current) => (current ? undefined : defaultPolicy()), {
        actor: 'system',
        reason: 'first start: built-in defaults',
      });
    }
  }

  async getDefault(): Promise<Policy> {
    const p = await this.o.store.policy.getDefault();
    if (!p) throw new CustodianError(ErrorCode.STORAGE, 'default policy missing (init not run)');
    return p;
  }

  async getOverride(deviceId: string): Promise<{ patch: PolicyPatch; version: number } | undefined> {
    return this.o.store.policy.getOverride(deviceId);
  }

  /** A school's or group's layer; undefined when it has none (or only a removed, empty one). */
  async getLayer(ref: PolicyLayerRef): Promise<{ patch: PolicyPatch; version: number } | undefined> {
    const l = await this.o.store.policy.getLayer(ref);
    return l && !isEmptyPatch(l.patch) ? l : undefined;
  }

  /**
   * A school's or group's layer with what it inherits (`above`: the default and, for a group,
   * its school's layer) and what it leaves in force (`effective`: the layer over `above`).
   */
  async layerView(ref: PolicyLayerRef): Promise<{
    layer: { patch: PolicyPatch; version: number } | null;
    above: Policy;
    effective: Policy;
  }> {
    const schoolId = await this.schoolOfLayer(ref);
    const base = await this.getDefault();
    const above = ref.kind === 'group' ? await layersAbove(this.chainSource, schoolId, undefined) : [];
    const layer = (await this.getLayer(ref)) ?? null;
    const parent = mergeChain(base, above, RECEIVED_LIMITS);
    const effective = layer ? mergeChain(parent, [{ ...ref, ...layer }], RECEIVED_LIMITS) : parent;
    return { layer, above: parent, effective };
  }

  private get chainSource(): ChainSource {
    return { store: this.o.store, group: (id) => this.o.groups.get(id) };
  }

  /** The layers above the trust default for a device (upper first), and its last move's version. */
  private chainOf(deviceId: string, device: Device | undefined): Promise<{ layers: Layer[]; floor: number }> {
    return deviceChain(this.chainSource, deviceId, device);
  }

  async effective(deviceId: string): Promise<Policy> {
    const base = await this.getDefault();
    const { layers, floor } = await this.chainOf(deviceId, await this.o.store.devices.get(deviceId));
    // Stored: accepted under the limits of its day.
    return mergeChain(base, layers, RECEIVED_LIMITS, floor);
  }

  /** Effective policy, the chain, and which layer set each field ("where does this idle lock come from?"). */
  async layers(deviceId: string): Promise<DeviceLayers> {
    const base = await this.getDefault();
    const { layers, floor } = await this.chainOf(deviceId, await this.o.store.devices.get(deviceId));
    const effective = mergeChain(base, layers, RECEIVED_LIMITS, floor);
    return {
      effective,
      layers: [{ kind: 'default', id: 'default', version: base.version, patch: base }, ...layers],
      fields: provenance(effective, layers),
    };
  }

  private async updateDefaultNow(patch: unknown, reason: unknown, actor: string): Promise<Policy> {
    const why = reasonOf(reason);
    const edit = patchOf(patch);
    // The patch is applied to the default as stored, under the store's policy lock (across
    // collector processes too, PostgreSQL sharedWriters): two changes made at once both land, each
    // on top of the other. A default that would make some layer or device override invalid is
    // refused, naming it (checked inside the lock, against the default it will replace).
    const build = async (current: Policy | undefined): Promise<Policy> => {
      if (!current) throw new CustodianError(ErrorCode.STORAGE, 'default policy missing (init not run)');
      const next = mergePolicy(current, edit, this.limits);
      await this.checkBelow({ kind: 'default', policy: next });
      return validatePolicy(next, this.limits);
    };
    const stored = (await this.o.store.policy.setDefault(build, { actor, reason: why })) as Policy;
    await this.o.audit(actor, 'policy.change', 'policy:default', { version: stored.version, reason: why });
    this.o.log.info({ actor, version: stored.version }, 'default policy changed');
    this.o.live.emit('policy', { scope: 'default', version: stored.version });
    return stored;
  }

  /**
   * Sets or (patch null) removes a school's or group's layer. Checked over the chain above it
   * (the configured edit limits) and against every layer and override below it. Every device
   * the layer covers gets the new version (pushed to the connected ones by ingest).
   */
  private async updateLayerNow(
    ref: PolicyLayerRef,
    patch: unknown,
    reason: unknown,
    actor: string,
  ): Promise<{ layer: { patch: PolicyPatch; version: number } | null; version: number }> {
    const why = reasonOf(reason);
    const schoolId = await this.schoolOfLayer(ref);
    const p = patch === null ? null : patchOf(patch);
    if (p !== null) {
      const base = await this.getDefault();
      const above = ref.kind === 'group' ? await layersAbove(this.chainSource, schoolId, undefined) : [];
      // Throws naming the bad fields.
      mergePolicy(mergeChain(base, above, RECEIVED_LIMITS), p, this.limits);
    }
    await this.checkBelow({ ...ref, patch: p ?? {} });
    const scope = layerScope(ref);
    const version = await this.o.store.policy.setLayer(
      ref,
      p,
      { actor, reason: why },
      {
        actor,
        action: 'policy.change',
        target: `policy:${scope}`,
        details: { reason: why, removed: p === null },
      },
    );
    const devices = (await this.o.store.devices.list())
      .filter((d) =>
        ref.kind === 'school'
          ? schoolOfDevice(d) === ref.id
          : d.groupId === ref.id && schoolOfDevice(d) === schoolId,
      )
      .map((d) => d.id);
    this.o.log.info({ actor, scope, version, devices: devices.length }, 'policy layer changed');
    this.o.live.emit('policy', { scope, version, devices });
    return { layer: p === null ? null : { patch: p, version }, version };
  }

  /** `patch` null removes the override. Returns the device's new effective policy. */
  private async updateDeviceNow(
    deviceId: string,
    patch: unknown,
    reason: unknown,
    actor: string,
  ): Promise<Policy> {
    const why = reasonOf(reason);
    const device = await this.o.store.devices.get(deviceId);
    if (!device) {
      throw new CustodianError(ErrorCode.NOT_FOUND, `device ${deviceId} not found`);
    }
    const p = patch === null ? null : patchOf(patch);
    if (p !== null) {
      // Validates over the chain above the device; throws naming fields.
      const { layers } = await this.chainOf(deviceId, device);
      const above = mergeChain(
        await this.getDefault(),
        layers.filter((l) => l.kind !== 'device'),
        RECEIVED_LIMITS,
      );
      mergePolicy(above, p, this.limits);
    }
    const version = await this.o.store.policy.setOverride(deviceId, p, { actor, reason: why });
    await this.o.audit(actor, 'policy.change', `policy:${deviceId}`, {
      version,
      reason: why,
      removed: p === null,
    });
    this.o.log.info({ actor, deviceId, version }, 'device policy changed');
    this.o.live.emit('policy', { scope: deviceId, version });
    return this.effective(deviceId);
  }

  /**
   * Moves a device into a group of its own school (null: out of any group). Its chain changes,
   * so it gets a new version and its new effective policy is pushed. Refused when the device's
   * override would be invalid under the new chain.
   */
  private async moveDeviceNow(
    deviceId: string,
    groupId: string | null,
    reason: unknown,
    actor: string,
  ): Promise<Policy> {
    const why = reasonOf(reason);
    const device = await this.o.store.devices.get(deviceId);
    if (!device) throw new CustodianError(ErrorCode.NOT_FOUND, `device ${deviceId} not found`);
    if (groupId !== null) {
      const group = await this.o.groups.get(groupId);
      if (!group) throw new CustodianError(ErrorCode.NOT_FOUND, `group ${groupId} not found`);
      if (group.schoolId !== schoolOfDevice(device))
        throw new CustodianError(
          ErrorCode.CONFLICT,
          `group ${groupId} belongs to another school than device ${deviceId}`,
          { details: { groupId, deviceId } },
        );
    }
    const { layers } = await this.chainOf(
      deviceId,
      groupId === null ? withoutGroup(device) : { ...device, groupId },
    );
    try {
      mergeChain(await this.getDefault(), layers, RECEIVED_LIMITS);
    } catch (err) {
      throw new CustodianError(
        ErrorCode.INVALID_POLICY,
        `in this group ${describe({ kind: 'device', id: deviceId })} would be invalid: ${(err as Error).message}`,
        { details: { deviceId } },
      );
    }
    const { device: moved, version } = await this.o.store.policy.moveDevice(
      deviceId,
      groupId,
      { actor, reason: why },
      {
        actor,
        action: 'device.group',
        target: `device:${deviceId}`,
        details: { from: device.groupId ?? null, to: groupId, reason: why },
      },
    );
    this.o.log.info({ actor, deviceId, groupId, version }, 'device moved between groups');
    this.o.live.emit('device', moved);
    this.o.live.emit('policy', { scope: deviceId, version });
    return this.effective(deviceId);
  }

  // Changes run one at a time: each is checked against every layer below it and then written,
  // and two at once (a school's and one of its groups') could each pass against the other's old
  // value and leave a chain no device can merge. In this process only (see tenancy/README.md).
  updateDefault(patch: unknown, reason: unknown, actor: string): Promise<Policy> {
    return this.oneAtATime(() => this.updateDefaultNow(patch, reason, actor));
  }
  updateLayer(
    ref: PolicyLayerRef,
    patch: unknown,
    reason: unknown,
    actor: string,
  ): Promise<{ layer: { patch: PolicyPatch; version: number } | null; version: number }> {
    return this.oneAtATime(() => this.updateLayerNow(ref, patch, reason, actor));
  }
  updateDevice(deviceId: string, patch: unknown, reason: unknown, actor: string): Promise<Policy> {
    return this.oneAtATime(() => this.updateDeviceNow(deviceId, patch, reason, actor));
  }
  moveDevice(deviceId: string, groupId: string | null, reason: unknown, actor: string): Promise<Policy> {
    return this.oneAtATime(() => this.moveDeviceNow(deviceId, groupId, reason, actor));
  }

  /** Runs `fn` in the same queue (a group's delete: no move can slip in between its check and delete). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.oneAtATime(fn);
  }

  /**
   * Policy changes run one at a time: in this process (the queue), and across collector processes
   * sharing a PostgreSQL database (the store's `policy-change` job lock, waited for up to
   * POLICY_LOCK_WAIT_MS): a change's checks of the layers and overrides below it and its write
   * see no other change in between, whichever process made it. One process: the queue alone.
   */
  private oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run(async () => {
      const until = Date.now() + POLICY_LOCK_WAIT_MS;
      for (;;) {
        const r = await this.o.store.runExclusive('policy-change', fn);
        if (r.ran) return r.value;
        if (Date.now() >= until)
          throw new CustodianError(
            ErrorCode.CONFLICT,
            'another collector process has been changing the policy for too long; try again',
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  }

  /** The school a layer belongs to; NOT_FOUND for an unknown school or group. */
  async schoolOfLayer(ref: PolicyLayerRef): Promise<string> {
    if (ref.kind === 'school') {
      if (!(await this.o.groups.schoolExists(ref.id)))
        throw new CustodianError(ErrorCode.NOT_FOUND, `school ${ref.id} not found`);
      return ref.id;
    }
    const g = await this.o.groups.get(ref.id);
    if (!g) throw new CustodianError(ErrorCode.NOT_FOUND, `group ${ref.id} not found`);
    return g.schoolId;
  }

  /**
   * Refuses a change (to the default or a layer) that would make any layer or device override
   * below it invalid, naming the first one found. Stored layers are read with RECEIVED_LIMITS.
   */
  private async checkBelow(c: Candidate): Promise<void> {
    const store = this.o.store.policy;
    const base = c.kind === 'default' ? c.policy : await this.getDefault();
    const layerOf = async (kind: PolicyLayerKind, id: string): Promise<Layer | undefined> => {
      if (c.kind === kind && c.id === id) return { kind, id, patch: c.patch, version: 0 };
      const l = await store.getLayer({ kind, id });
      return l ? { kind, id, ...l } : undefined;
    };
    const groups = new Map((await this.o.groups.list()).map((g) => [g.id, g]));
    const chain = async (schoolId: string, groupId: string | undefined): Promise<Layer[]> => {
      const out: Layer[] = [];
      const s = await layerOf('school', schoolId);
      if (s) out.push(s);
      const g = groupId ? groups.get(groupId) : undefined;
      if (g && g.schoolId === schoolId) {
        const gl = await layerOf('group', g.id);
        if (gl) out.push(gl);
      }
      return out;
    };
    const check = (layers: Layer[], culprit: Layer) => {
      try {
        mergeChain(base, layers, RECEIVED_LIMITS);
      } catch (err) {
        throw new CustodianError(
          ErrorCode.INVALID_POLICY,
          `this change would make ${describe(culprit)} invalid: ${(err as Error).message}`,
          { details: culprit.kind === 'device' ? { deviceId: culprit.id } : { layer: layerScope(culprit) } },
        );
      }
    };
    const inScope = (schoolId: string, groupId: string | undefined) =>
      c.kind === 'default' || (c.kind === 'school' ? schoolId === c.id : groupId === c.id);
    if (c.kind === 'default') {
      for (const s of await store.listLayers('school'))
        if (!isEmptyPatch(s.patch)) check([{ kind: 'school', ...s }], { kind: 'school', ...s });
    }
    if (c.kind !== 'group') {
      for (const g of await store.listLayers('group')) {
        const group = groups.get(g.id);
        if (isEmptyPatch(g.patch) || !group || !inScope(group.schoolId, g.id)) continue;
        check(await chain(group.schoolId, g.id), { kind: 'group', ...g });
      }
    }
    for (const o of await store.listOverrides()) {
      if (isEmptyPatch(o.patch)) continue;
      const device = await this.o.store.devices.get(o.deviceId);
      const schoolId = schoolOfDevice(device ?? {});
      if (!inScope(schoolId, device?.groupId)) continue;
      const own: Layer = { kind: 'device', id: o.deviceId, patch: o.patch, version: o.version };
      check([...(await chain(schoolId, device?.groupId)), own], own);
    }
  }
}

function withoutGroup(device: Device): Device {
  const { groupId: _dropped, ...rest } = device;
  return rest;
}
