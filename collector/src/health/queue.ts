// The health queue: health alerts in kv `health-alerts`, keyed `<deviceId>--<kind>--<openedAt>`
// so the newest alert of one (device, kind) is one reverse prefix read. Opening notifies the
// `it` role (identifiers only); opening, acknowledging and resolving are audited with who and
// when, each audit record in the same atomic batch as the change it records.
import { ErrorCode } from '@custodian/protocol';
import type { Notifications } from '../auth/notifications.ts';
import { HttpError, notFound } from '../http/router.ts';
import { padTime } from '../store/keys.ts';
import type { KvNamespace, Store } from '../store/types.ts';
import type { HealthAlert, HealthState } from './decide.ts';
import type { HealthCondition, HealthKind } from './detect.ts';

export const HEALTH_ALERTS_NS = 'health-alerts';

const prefixOf = (deviceId: string, kind: HealthKind) => `${deviceId}--${kind}--`;

export class HealthQueue {
  private readonly kv: KvNamespace<HealthAlert>;
  private readonly notifications: Pick<Notifications, 'notify'>;
  private readonly now: () => number;

  constructor(o: { store: Store; notifications: Pick<Notifications, 'notify'>; now: () => number }) {
    this.kv = o.store.kv<HealthAlert>(HEALTH_ALERTS_NS);
    this.notifications = o.notifications;
    this.now = o.now;
  }

  async get(id: string): Promise<HealthAlert | undefined> {
    return this.kv.get(id);
  }

  /** The newest alert of each kind for one device. */
  async latestFor(deviceId: string, kinds: readonly HealthKind[]): Promise<Map<HealthKind, HealthAlert>> {
    const out = new Map<HealthKind, HealthAlert>();
    for (const kind of kinds) {
      const [row] = await this.kv.list({ prefix: prefixOf(deviceId, kind), reverse: true, limit: 1 });
      if (row) out.set(kind, row.value);
    }
    return out;
  }

  /** Newest first, filtered. */
  async list(q: { states?: HealthState[]; deviceId?: string; limit?: number } = {}): Promise<HealthAlert[]> {
    const rows = await this.kv.list(q.deviceId ? { prefix: `${q.deviceId}--` } : {});
    return rows
      .map((r) => r.value)
      .filter((a) => !q.states || q.states.includes(a.state))
      .sort((a, b) => b.openedAt - a.openedAt)
      .slice(0, q.limit ?? 500);
  }

  async open(deviceId: string, c: HealthCondition): Promise<HealthAlert> {
    const at = this.now();
    const alert: HealthAlert = {
      id: `${prefixOf(deviceId, c.kind)}${padTime(at)}`,
      deviceId,
      kind: c.kind,
      state: 'open',
      summary: c.summary,
      details: c.details,
      since: c.since,
      openedAt: at,
      history: [{ at, actor: 'system', action: 'opened' }],
    };
    await this.kv.update(alert.id, () => alert, {
      actor: 'system',
      action: 'health.open',
      target: `device:${deviceId}`,
      details: { healthAlertId: alert.id, kind: c.kind },
    });
    // Identifiers only (no device text): the notification module sends this by email/webhook.
    await this.notifications.notify('it', `health.${c.kind}`, c.summary, {
      healthAlertId: alert.id,
      deviceId,
      kind: c.kind,
      since: c.since,
      link: '/#/health',
    });
    return alert;
  }

  async acknowledge(id: string, actor: string, note: string | undefined, ip?: string): Promise<HealthAlert> {
    return this.change(id, actor, 'acknowledged', note, ip, (a) => {
      if (a.state !== 'open')
        throw new HttpError(409, ErrorCode.CONFLICT, `health alert ${id} is ${a.state}, not open`);
      return { ...a, state: 'acknowledged', acknowledgedAt: this.now(), acknowledgedBy: actor };
    });
  }

  async resolve(id: string, actor: string, note: string | undefined, ip?: string): Promise<HealthAlert> {
    return this.change(id, actor, 'resolved', note, ip, (a) => {
      if (a.state === 'resolved')
        throw new HttpError(409, ErrorCode.CONFLICT, `health alert ${id} is already resolved`);
      return {
        ...a,
        state: 'resolved',
        resolvedAt: this.now(),
        resolvedBy: actor,
        resolution: note ?? (actor === 'system' ? 'condition cleared' : 'resolved'),
      };
    });
  }

  private async change(
    id: string,
    actor: string,
    action: 'acknowledged' | 'resolved',
    note: string | undefined,
    ip: string | undefined,
    step: (a: HealthAlert) => HealthAlert,
  ): Promise<HealthAlert> {
    // The item's device and kind name the audit record, written in the same batch as the change.
    const before = await this.kv.get(id);
    if (!before) throw notFound(`health alert ${id}`);
    const next = await this.kv.update(
      id,
      (current) => {
        if (!current) throw notFound(`health alert ${id}`);
        const changed = step(current);
        return {
          ...changed,
          history: [
            ...changed.history,
            { at: this.now(), actor, action, ...(note !== undefined ? { note } : {}) },
          ],
        };
      },
      {
        actor,
        action: action === 'acknowledged' ? 'health.acknowledge' : 'health.resolve',
        target: `device:${before.deviceId}`,
        details: { healthAlertId: id, kind: before.kind, ...(note !== undefined ? { note } : {}) },
        ...(ip ? { ip } : {}),
      },
    );
    const alert = next as HealthAlert;
    return alert;
  }
}
