// The thin shell around detect.ts and decide.ts: every `health.checkIntervalMs` it reads the
// settings record, each device's record, live status and streams, applies the decided actions to
// the queue, and sends the daily digest when it is due. One run at a time; `stop()` clears the timer.

import { localTime, minutesOf } from '@custodian/policy';
import type { Notifications } from '../auth/notifications.ts';
import { HttpError } from '../http/router.ts';
import type { Logger } from '../log.ts';
import type { DeviceLiveStatus, Store } from '../store/types.ts';
import { decideHealth, digestDue, type HealthAlert } from './decide.ts';
import { detectConditions, HEALTH_KINDS, type HealthKind } from './detect.ts';
import type { HealthQueue } from './queue.ts';
import { readHealthSettings } from './settings.ts';
import { staleDevices } from './stale.ts';

const STATE_NS = 'health-state';

export interface CheckResult {
  opened: HealthAlert[];
  resolved: HealthAlert[];
  digestSent: boolean;
}

export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeningSince: number;
  private running: Promise<CheckResult> | undefined;
  private readonly o: {
    store: Store;
    status: { get(deviceId: string): DeviceLiveStatus };
    queue: HealthQueue;
    notifications: Pick<Notifications, 'notify'>;
    now: () => number;
    log?: Logger | undefined;
    intervalMs: number;
  };

  constructor(options: HealthMonitor['o']) {
    this.o = options;
    this.listeningSince = options.now();
  }

  start(): void {
    this.timer = setInterval(() => {
      void this.check().catch((err: unknown) => this.o.log?.error({ err }, 'device health check failed'));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One pass over every device (a pass already running is joined, not doubled). */
  check(): Promise<CheckResult> {
    // Single runner across collector processes on one database (PostgreSQL sharedWriters): a
    // pass another process runs now is not doubled here (nothing opened, resolved or sent).
    this.running ??= this.o.store
      .runExclusive('health-monitor', () => this.run())
      .then((r) => (r.ran ? r.value : { opened: [], resolved: [], digestSent: false }))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async run(): Promise<CheckResult> {
    const { store, queue } = this.o;
    const now = this.o.now();
    const settings = await readHealthSettings(store);
    const unresolved = new Map<string, HealthAlert>();
    for (const a of await queue.list({ states: ['open', 'acknowledged'], limit: Number.MAX_SAFE_INTEGER }))
      unresolved.set(`${a.deviceId} ${a.kind}`, a);
    const result: CheckResult = { opened: [], resolved: [], digestSent: false };
    for (const device of await store.devices.list()) {
      const streams = device.revokedAt === undefined ? await store.timeline.listStreams(device.id) : [];
      const findings = detectConditions(
        { device, status: this.o.status.get(device.id), streams, listeningSince: this.listeningSince },
        settings,
        now,
      );
      const latest = new Map<HealthKind, HealthAlert>();
      for (const kind of HEALTH_KINDS) {
        const open = unresolved.get(`${device.id} ${kind}`);
        if (open) latest.set(kind, open);
      }
      // Only a finding with no unresolved alert needs the last resolved one (was it this episode?).
      const fresh = findings.present.map((c) => c.kind).filter((k) => !latest.has(k));
      if (fresh.length > 0) for (const [k, a] of await queue.latestFor(device.id, fresh)) latest.set(k, a);
      for (const action of decideHealth(findings, latest)) {
        if (action.type === 'open') result.opened.push(await queue.open(device.id, action.condition));
        else {
          // IT may have resolved it since this pass read the queue: nothing left to do then.
          const done = await queue.resolve(action.alert.id, 'system', action.reason).catch((err: unknown) => {
            if (err instanceof HttpError && err.status === 409) return undefined;
            throw err;
          });
          if (done) result.resolved.push(done);
        }
      }
    }
    result.digestSent = await this.digest(now, settings);
    return result;
  }

  private async digest(
    now: number,
    settings: Awaited<ReturnType<typeof readHealthSettings>>,
  ): Promise<boolean> {
    const local = localTime(now, settings.schoolHours.timeZone);
    const state = this.o.store.kv<{ lastDay: string }>(STATE_NS);
    const last = await state.get('digest');
    const due = digestDue(
      local,
      {
        enabled: settings.digest.enabled,
        atMinutes: minutesOf(settings.digest.at),
        days: settings.schoolHours.days,
      },
      last?.lastDay,
    );
    if (!due) return false;
    // Recorded first: a crash after it loses one digest, never sends two.
    await state.put('digest', { lastDay: local.day });
    const open = await this.o.queue.list({
      states: ['open', 'acknowledged'],
      limit: Number.MAX_SAFE_INTEGER,
    });
    const byKind: Record<string, number> = {};
    for (const a of open) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
    const stale = staleDevices(
      await this.o.store.devices.list(),
      (id) => this.o.status.get(id),
      now,
      settings.staleDays,
    ).length;
    await this.o.notifications.notify(
      'it',
      'health.digest',
      `Device health on ${local.day}: ${open.length} open item(s), ${stale} stale device(s)`,
      {
        staleDevices: stale,
        day: local.day,
        open: open.filter((a) => a.state === 'open').length,
        acknowledged: open.filter((a) => a.state === 'acknowledged').length,
        byKind,
        healthAlertIds: open.slice(0, 100).map((a) => a.id),
        link: '/#/health',
      },
    );
    return true;
  }
}
