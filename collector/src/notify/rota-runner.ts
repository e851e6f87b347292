// The thin shell around decideRota (rota.ts): starts a chain for each new alert at or above the
// threshold (after ingest's commit, from the live hub: the ingest path is not slowed), steps
// the running chains on the module's timer, and queues what the decision says in the outbox.
// Chain state is kept per alert (kv `notify-rota`; running ones also in `notify-rota-active`),
// so a restart carries on where it was. The chain's contacts come from the alert's school's
// notify layer when it has one (school-layer.ts `chooseChain`), chosen once when the chain
// starts; each step reads that same record again (its contacts' addresses, its escalation time).
// The message is queued BEFORE the state moves on: a crash between the two queues the same
// (message, target) again, which the outbox folds into one.
import type { Logger } from '../log.ts';
import type { Alert, KvNamespace, Store } from '../store/types.ts';
import { schoolOfRecord } from '../tenancy/scope.ts';
import { alertFacts, alertMessage } from './content.ts';
import type { Outbox } from './outbox.ts';
import { applyRota, decideRota, newRotaState, type RotaState } from './rota.ts';
import { chooseChain, layeredSettings } from './school-layer.ts';
import type { NotifySettings, SettingsStore } from './settings.ts';

/** Alerts this recent that have no chain yet get one at start (opened while the collector went down mid-way). */
export const RECOVER_MS = 24 * 3_600_000;

export interface RotaRunnerDeps {
  store: Store;
  states: KvNamespace<RotaState>;
  active: KvNamespace<{ since: number }>;
  outbox: Outbox;
  settings: SettingsStore;
  consoleUrl: () => string;
  log: Logger;
  now: () => number;
}

export class RotaRunner {
  private readonly d: RotaRunnerDeps;

  constructor(d: RotaRunnerDeps) {
    this.d = d;
  }

  /** A new alert: a chain if it is at or above the threshold, and the `alert` webhooks. */
  async start(alert: Alert): Promise<boolean> {
    const { trust: s, layer } = await this.d.settings.settingsForSchool(schoolOfRecord(alert));
    if (alert.severity < s.alertMinSeverity) return false;
    if (await this.d.states.get(alert.id)) return false;
    const now = this.d.now();
    const chain = chooseChain(alert.severity, now, s, layer);
    const { contacts } = chain;
    // Webhooks are the trust's integrations: every alert goes to them, whatever its school.
    const hooks = s.webhooks.filter((w) => w.events.includes('alert'));
    // Nobody to tell (no rota set up yet): no chain, and no write at all.
    if (contacts.length === 0 && hooks.length === 0) return false;
    const facts = alertFacts(alert);
    const message = alertMessage(facts, this.d.consoleUrl(), 0);
    for (const w of hooks)
      await this.d.outbox.enqueue(`alert-${alert.id}-hook`, 'webhook', w.id, message, {
        kind: 'alert',
        alertId: alert.id,
        step: 0,
      });
    await this.d.active.put(alert.id, { since: now });
    await this.d.states.update(alert.id, (cur) => cur ?? newRotaState(alert.id, contacts, now, chain.layer));
    await this.step(alert.id);
    return true;
  }

  /** Chains for recent alerts that have none (an alert committed just before a crash). */
  async recover(): Promise<number> {
    const s = await this.d.settings.read();
    const recent = await this.d.store.alerts.list({
      status: ['new'],
      minSeverity: s.alertMinSeverity,
      since: this.d.now() - RECOVER_MS,
    });
    let n = 0;
    for (const a of recent) if (await this.start(a)) n++;
    return n;
  }

  async stepAll(): Promise<void> {
    for (const { key } of await this.d.active.list()) await this.step(key);
  }

  async step(alertId: string): Promise<void> {
    const state = await this.d.states.get(alertId);
    const alert = await this.d.store.alerts.get(alertId);
    if (!state || !alert) {
      await this.d.active.del(alertId);
      return;
    }
    const s = await this.chainSettings(state);
    const now = this.d.now();
    const decision = decideRota(state, alert, s, now);
    if (decision.kind === 'wait') return;
    if (decision.kind === 'tell') {
      const contact = s.contacts.find((c) => c.id === decision.contactId);
      if (contact) {
        const message = alertMessage(alertFacts(alert), this.d.consoleUrl(), decision.step);
        await this.d.outbox.enqueue(
          `alert-${alertId}-step${decision.step}`,
          'email',
          contact.email,
          message,
          {
            kind: 'alert',
            alertId,
            step: decision.step,
            contactId: contact.id,
          },
        );
      } else
        this.d.log.warn({ alertId, contactId: decision.contactId }, 'rota contact no longer exists; skipped');
    }
    await this.d.states.put(alertId, applyRota(state, decision, now));
    if (decision.kind === 'end') {
      await this.d.active.del(alertId);
      this.d.log.info({ alertId, reason: decision.reason }, 'notification rota ended');
    }
  }

  /**
   * The record a running chain was started from: its school's layer, or the trust's. A layer
   * removed since then has no contacts (its people are skipped, never a trust contact who happens
   * to have the same id).
   */
  private async chainSettings(state: RotaState): Promise<NotifySettings> {
    const trust = await this.d.settings.read();
    if (state.layer === undefined) return trust;
    const layer = await this.d.settings.layerOf(state.layer);
    return layer ? layeredSettings(trust, layer) : { ...trust, contacts: [] };
  }
}
