// Retention: deletes timeline events older than retention.timelineDays and screenshots older
// than retention.screenshotDays, records what each run deleted (purges + audit), and leaves a
// note on every alert whose screenshots expired (the alert itself stays).

import type { AuditFn } from '../auth/audit.ts';
import type { CollectorConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { fromJsonBytes, HIGH, K, SEP } from '../store/keys.ts';
import { randomId } from '../store/records.ts';
import { blobDeleteOps } from '../store/store.ts';
import type { Alert, KvOp, PurgeRun, Store } from '../store/types.ts';

const DAY = 86_400_000;
const BATCH = 1000;

export interface RetentionOptions {
  store: Store;
  log: Logger;
  config: CollectorConfig;
  now: () => number;
  audit: AuditFn;
}

export class RetentionJob {
  private readonly o: RetentionOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PurgeRun> | undefined;

  constructor(options: RetentionOptions) {
    this.o = options;
  }

  start(): void {
    const every = this.o.config.retention.purgeIntervalMinutes * 60_000;
    this.timer = setInterval(() => {
      this.run().catch((err: unknown) => this.o.log.error({ err }, 'retention purge failed'));
    }, every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** One purge now (a second call while one runs joins it). */
  run(actor = 'system'): Promise<PurgeRun> {
    this.running ??= this.purge(actor).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async purge(actor: string): Promise<PurgeRun> {
    const { store, config } = this.o;
    const now = this.o.now();
    const run: PurgeRun = {
      id: randomId(12),
      at: now,
      cutoffs: {
        timeline: now - config.retention.timelineDays * DAY,
        screenshots: now - config.retention.screenshotDays * DAY,
      },
      timelineEventsDeleted: 0,
      blobsDeleted: 0,
      blobBytesDeleted: 0,
      alertsMarked: [],
      perDevice: {},
    };
    for (const device of await store.devices.list()) {
      const prefix = K.timelinePrefix(device.id);
      const lt = K.timelineAt(device.id, run.cutoffs.timeline);
      let ops: KvOp[] = [];
      for await (const [k] of store.engine.entries({ gte: prefix, lt })) {
        const parts = k.split(SEP);
        ops.push(
          { type: 'del', key: k },
          { type: 'del', key: K.eventRef(device.id, parts[3] as string, Number(parts[4])) },
        );
        run.timelineEventsDeleted++;
        run.perDevice[device.id] = (run.perDevice[device.id] ?? 0) + 1;
        if (ops.length >= BATCH) {
          await store.engine.batch(ops, { sync: true });
          ops = [];
        }
      }
      await store.engine.batch(ops, { sync: true });
    }
    const blobPrefix = K.blobTimePrefix();
    const expired: { deviceId: string; blobId: string }[] = [];
    for await (const [k] of store.engine.entries({
      gte: blobPrefix,
      lt: `${blobPrefix}${String(run.cutoffs.screenshots).padStart(15, '0')}`,
    })) {
      const parts = k.split(SEP);
      expired.push({ deviceId: parts[2] as string, blobId: parts[3] as string });
    }
    const expiredSet = new Set(expired.map((e) => `${e.deviceId}/${e.blobId}`));
    for (const e of expired) {
      const meta = await store.blobs.meta(e.deviceId, e.blobId);
      const ops = await store.withLock(() => blobDeleteOps(store.engine, e.deviceId, e.blobId));
      await store.engine.batch(ops, { sync: true });
      run.blobsDeleted++;
      run.blobBytesDeleted += meta?.size ?? 0;
    }
    // Alerts whose screenshots are gone keep a note saying so.
    if (expiredSet.size > 0) {
      for await (const [k] of store.engine.entries({
        gte: K.alertTimePrefix(),
        lt: K.alertTimePrefix() + HIGH,
      })) {
        const id = k.slice(k.lastIndexOf(SEP) + 1);
        const raw = await store.engine.get(K.alert(id));
        if (!raw) continue;
        const a = fromJsonBytes<Alert>(raw);
        if (a.screenshotsExpired || !a.screenshotBlobIds.some((b) => expiredSet.has(`${a.deviceId}/${b}`)))
          continue;
        await store.alerts.update(id, (x) => ({
          ...x,
          screenshotsExpired: {
            at: now,
            note: `screenshots deleted by retention after ${config.retention.screenshotDays} days`,
          },
          history: [...x.history, { at: now, actor: 'system', action: 'screenshots-expired' }],
        }));
        run.alertsMarked.push(id);
      }
    }
    await store.purges.append(run);
    await this.o.audit(actor, 'retention.purge', 'retention', {
      runId: run.id,
      timelineEventsDeleted: run.timelineEventsDeleted,
      blobsDeleted: run.blobsDeleted,
      alertsMarked: run.alertsMarked.length,
    });
    this.o.log.info(
      {
        runId: run.id,
        timelineEventsDeleted: run.timelineEventsDeleted,
        blobsDeleted: run.blobsDeleted,
        alertsMarked: run.alertsMarked.length,
      },
      'retention purge done',
    );
    return run;
  }
}
