// The agent's current policy (PolicySource): built-in defaults until the collector pushes one;
// every accepted policy is persisted so it applies offline at the next boot. Demo mode lays
// "audit USB, report-only idle lock" over whatever the collector sends, unless --enforce.
import {
  defaultPolicy,
  type Policy,
  policyFromWire,
  RECEIVED_LIMITS,
  validatePolicy,
} from '@custodian/policy';
import { CustodianError, type IPolicy } from '@custodian/protocol';
import type { AgentLogger, PolicySource } from '../core/contracts.ts';
import { readIfExists, writeFileAtomic } from './files.ts';

export interface PolicyStoreOptions {
  path: string;
  log: AgentLogger;
  /** Relax enforcement (newcomer's own machine) unless `enforce`. */
  demo: boolean;
  enforce: boolean;
}

export type ApplyResult = { ok: true; changed: boolean; policy: Policy } | { ok: false; error: string };

export class PolicyStore implements PolicySource {
  private stored: Policy;
  private effective: Policy;
  private readonly options: PolicyStoreOptions;
  private readonly listeners = new Set<(p: Policy, prev: Policy) => void>();

  private constructor(options: PolicyStoreOptions, stored: Policy) {
    this.options = options;
    this.stored = stored;
    this.effective = this.overlay(stored);
  }

  static async load(options: PolicyStoreOptions): Promise<PolicyStore> {
    const text = await readIfExists(options.path);
    let stored = defaultPolicy();
    if (text !== undefined) {
      try {
        stored = validatePolicy(JSON.parse(text), RECEIVED_LIMITS);
      } catch (err) {
        // Enforcing built-in defaults are the safe state; version 0 makes the collector push again.
        options.log.error(
          'stored policy unreadable; enforcing built-in defaults until the collector sends one',
          {
            err,
          },
        );
      }
    }
    return new PolicyStore(options, stored);
  }

  /** True when demo mode relaxes enforcement. */
  get relaxed(): boolean {
    return this.options.demo && !this.options.enforce;
  }

  private overlay(p: Policy): Policy {
    if (!this.relaxed) return p;
    return { ...p, usb: { ...p.usb, mode: 'audit' }, idleLock: { ...p.idleLock, reportOnly: true } };
  }

  current(): Policy {
    return this.effective;
  }

  /** The version the collector assigned to what we enforce (0 = built-in defaults). */
  version(): number {
    return this.stored.version;
  }

  onChange(listener: (policy: Policy, previous: Policy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates, persists and applies a pushed policy. An invalid one is rejected; the previous stays. */
  async apply(wire: IPolicy): Promise<ApplyResult> {
    let next: Policy;
    try {
      next = policyFromWire(wire, RECEIVED_LIMITS);
    } catch (err) {
      const error = err instanceof CustodianError ? err.message : `invalid policy: ${(err as Error).message}`;
      this.options.log.warn('rejected pushed policy; keeping the previous one', {
        version: Number(wire.version ?? 0),
        error,
      });
      return { ok: false, error };
    }
    if (JSON.stringify(next) === JSON.stringify(this.stored))
      return { ok: true, changed: false, policy: next };
    await writeFileAtomic(this.options.path, JSON.stringify(next, null, 2));
    const previous = this.effective;
    this.stored = next;
    this.effective = this.overlay(next);
    this.options.log.info('policy applied', { version: next.version, relaxedByDemo: this.relaxed });
    for (const l of this.listeners) {
      try {
        l(this.effective, previous);
      } catch (err) {
        this.options.log.error('policy listener failed', { err });
      }
    }
    return { ok: true, changed: true, policy: next };
  }
}
