// The thin shell around decideScope (issue 19): reads the network facts and probes the collector's
// LAN address only when the policy's mode needs them, re-decides every `pollMs` (network change),
// at each minute boundary while school hours matter (the periods are whole minutes, so a
// boundary is seen within a few milliseconds) and when the policy changes; tells its listeners
// when the device enters or leaves scope, and shows the desktop notice.
import type { IScopeState } from '@custodian/protocol';
import type { AgentLogger, CapabilityStatus, PolicySource } from '../core/contracts.ts';
import type { DesktopNotice } from '../platform/desktop-notice.ts';
import type { NetworkFacts, NetworkFactsSource } from '../platform/network-facts.ts';
import { decideScope, needsHours, needsNetwork, type ScopeDecision } from './decide-scope.ts';
import { reachableOf, tcpAnswers } from './reachability.ts';

export const DEFAULT_SCOPE_POLL_MS = 10_000;

export interface ScopeMonitorOptions {
  byod: boolean;
  policy: PolicySource;
  facts: NetworkFactsSource;
  notice?: DesktopNotice;
  log: AgentLogger;
  pollMs?: number;
  now?: () => Date;
  probe?: (hostPort: string) => Promise<boolean>;
}

export type ScopeStatus = ScopeDecision & { since: string };

export class ScopeMonitor {
  private readonly o: ScopeMonitorOptions;
  private decision: ScopeStatus | undefined;
  private readonly listeners = new Set<(now: ScopeStatus, previous: ScopeStatus | undefined) => void>();
  private timer: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;
  private noticeCap: CapabilityStatus = { name: 'scope_notice', available: false, reason: 'not checked yet' };
  private factsNote = '';

  constructor(options: ScopeMonitorOptions) {
    this.o = options;
  }

  /** The current decision (in scope with applies=false before the first evaluation of a school device). */
  current(): ScopeStatus {
    return (
      this.decision ?? {
        applies: this.o.byod,
        inScope: !this.o.byod,
        reason: this.o.byod ? 'scope not decided yet' : 'school-owned device: monitored at all times',
        rule: '',
        mode: this.o.policy.current().byodScope.mode,
        since: new Date().toISOString(),
      }
    );
  }

  /** For heartbeats and scopeChanged events. */
  state(): IScopeState {
    const { applies, inScope, reason, rule, mode } = this.current();
    return { applies, inScope, reason, rule, mode };
  }

  onChange(listener: (now: ScopeStatus, previous: ScopeStatus | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Decides once (awaited: components start knowing the scope), then keeps deciding. */
  async start(): Promise<void> {
    if (this.o.byod) this.noticeCap = { name: 'scope_notice', ...(await this.availability()) };
    await this.evaluate();
    this.unsubscribe = this.o.policy.onChange(() => void this.evaluate());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  /** BYOD devices only: can the agent read the network, and tell the user? */
  capabilities(): CapabilityStatus[] {
    if (!this.o.byod) return [];
    const a = this.o.facts.availability();
    return [
      { name: 'network_facts', available: a.available, reason: this.factsNote || a.reason },
      this.noticeCap,
    ];
  }

  private async availability(): Promise<{ available: boolean; reason: string }> {
    if (!this.o.notice) return { available: false, reason: 'no desktop notice on this platform' };
    try {
      return await this.o.notice.availability();
    } catch (err) {
      return { available: false, reason: (err as Error).message };
    }
  }

  /** Decides now; concurrent calls coalesce into one more run. */
  evaluate(): Promise<void> {
    if (this.evaluating) {
      this.again = true;
      return this.evaluating;
    }
    this.evaluating = (async () => {
      do {
        this.again = false;
        await this.evaluateOnce().catch((err) => this.o.log.error('scope evaluation failed', { err }));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.evaluating = undefined;
      this.schedule();
    });
    return this.evaluating;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped || !this.o.byod) return;
    const scope = this.o.policy.current().byodScope;
    const pollMs = this.o.pollMs ?? DEFAULT_SCOPE_POLL_MS;
    let wait = needsNetwork(scope) ? pollMs : Number.POSITIVE_INFINITY;
    if (needsHours(scope)) {
      const now = (this.o.now?.() ?? new Date()).getTime();
      wait = Math.min(wait, 60_000 - (now % 60_000) + 20);
    }
    if (!Number.isFinite(wait)) return;
    this.timer = setTimeout(() => void this.evaluate(), wait);
    this.timer.unref();
  }

  private async evaluateOnce(): Promise<void> {
    const scope = this.o.policy.current().byodScope;
    let facts: NetworkFacts | undefined;
    let factsError: string | undefined;
    let reachable = new Set<string>();
    if (this.o.byod && needsNetwork(scope)) {
      const a = this.o.facts.availability();
      if (!a.available) factsError = a.reason;
      else {
        try {
          facts = await this.o.facts.read();
          this.factsNote = facts.notes.join('; ');
          reachable = await reachableOf(
            scope.networks.map((n) => n.collectorLan),
            this.o.probe ?? ((t) => tcpAnswers(t)),
          );
        } catch (err) {
          factsError = (err as Error).message;
        }
      }
    }
    const next = decideScope({
      byod: this.o.byod,
      policyKnown: this.o.policy.current().version > 0,
      scope,
      facts,
      ...(factsError !== undefined ? { factsError } : {}),
      reachable,
      now: this.o.now?.() ?? new Date(),
    });
    const previous = this.decision;
    const flipped = !previous || previous.applies !== next.applies || previous.inScope !== next.inScope;
    if (
      !flipped &&
      previous.reason === next.reason &&
      previous.rule === next.rule &&
      previous.mode === next.mode
    )
      return;
    this.decision = { ...next, since: flipped ? new Date().toISOString() : previous.since };
    if (!flipped) return; // same side, other words (another rule matched): status only
    this.o.log.info(next.inScope ? 'in monitoring scope' : 'out of monitoring scope', {
      applies: next.applies,
      reason: next.reason,
      rule: next.rule,
      mode: next.mode,
    });
    for (const l of this.listeners) {
      try {
        l(this.decision, previous);
      } catch (err) {
        this.o.log.error('scope listener failed', { err });
      }
    }
    if (next.applies || previous?.applies) void this.notify(next);
  }

  private async notify(d: ScopeDecision): Promise<void> {
    if (!this.o.notice || !this.noticeCap.available) return;
    try {
      await this.o.notice.show(d.inScope, d.reason);
    } catch (err) {
      this.noticeCap = {
        name: 'scope_notice',
        available: false,
        reason: `notice not shown: ${(err as Error).message}`,
      };
      this.o.log.warn('scope notice not shown', { err });
    }
  }
}
