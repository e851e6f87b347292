// Policy: the default (stored, versioned) plus per-device override patches. A device's
// effective policy is mergePolicy(default, override) with version = the newer of the two; the
// version counter is global, so every change that affects a device raises its version. Each
// change is recorded (who, when, old -> new, reason) and announced on the live hub, where
// ingest pushes it to connected agents.
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
import type { Store } from '../store/types.ts';

export interface PolicyServiceOptions {
  store: Store;
  live: LiveHub;
  log: Logger;
  audit: AuditFn;
  /** Limits of sense for changes made through the API (config `policy.*`). Default EDIT_LIMITS. */
  limits?: Readonly<PolicyLimits>;
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

export class PolicyService {
  private readonly o: PolicyServiceOptions;
  constructor(options: PolicyServiceOptions) {
    this.o = options;
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

  async effective(deviceId: string): Promise<Policy> {
    const base = await this.getDefault();
    const override = await this.o.store.policy.getOverride(deviceId);
    if (!override) return base;
    // Stored: accepted under the limits of its day.
    const merged = mergePolicy(base, override.patch, RECEIVED_LIMITS);
    return { ...merged, version: Math.max(base.version, override.version) };
  }

  async updateDefault(patch: unknown, reason: unknown, actor: string): Promise<Policy> {
    const why = reasonOf(reason);
    const limits = this.o.limits ?? EDIT_LIMITS;
    const edit = patchOf(patch);
    // Validated against the overrides before the lock (they are read from the store), then the
    // patch is applied to the default as stored under the policy lock: two changes made at once
    // (two consoles, two collector processes) both land, each on top of the other.
    const overrides = await this.o.store.policy.listOverrides();
    const build = (current: Policy | undefined): Policy => {
      if (!current) throw new CustodianError(ErrorCode.STORAGE, 'default policy missing (init not run)');
      const next = mergePolicy(current, edit, limits);
      // A default that would make some device's override invalid is refused, naming the device.
      for (const o of overrides) {
        try {
          mergePolicy(next, o.patch, RECEIVED_LIMITS);
        } catch (err) {
          throw new CustodianError(
            ErrorCode.INVALID_POLICY,
            `this default would make the override of device ${o.deviceId} invalid: ${(err as Error).message}`,
            { details: { deviceId: o.deviceId } },
          );
        }
      }
      return validatePolicy(next, limits);
    };
    const stored = (await this.o.store.policy.setDefault(build, { actor, reason: why })) as Policy;
    await this.o.audit(actor, 'policy.change', 'policy:default', { version: stored.version, reason: why });
    this.o.log.info({ actor, version: stored.version }, 'default policy changed');
    this.o.live.emit('policy', { scope: 'default', version: stored.version });
    return stored;
  }

  /** `patch` null removes the override. Returns the device's new effective policy. */
  async updateDevice(deviceId: string, patch: unknown, reason: unknown, actor: string): Promise<Policy> {
    const why = reasonOf(reason);
    if (!(await this.o.store.devices.get(deviceId))) {
      throw new CustodianError(ErrorCode.NOT_FOUND, `device ${deviceId} not found`);
    }
    const p = patch === null ? null : patchOf(patch);
    // Validates; throws naming fields.
    if (p !== null) mergePolicy(await this.getDefault(), p, this.o.limits ?? EDIT_LIMITS);
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
}
