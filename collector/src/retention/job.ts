// Retention: deletes timeline events older than retention.timelineDays (keeping, per stream, the
// highest seq it deleted, so ingest still knows a replay of a purged event), screenshots older
// than retention.screenshotDays and the chunks of uploads left incomplete (collector crash
// mid-upload) for longer than retention.incompleteUploadHours, records what each run deleted
// (purges + audit), and leaves a note on every alert whose screenshots expired (the alert stays).
// Devices retired longer than retention.retiredDays lose their data early (retired.ts).

import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import type { CollectorConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { MetricCounts } from '../metrics/counts.ts';
import { fromJsonBytes, HIGH, K, SEP } from '../store/keys.ts';
import { randomId, streamFloorOp } from '../store/records.ts';
import { blobDeleteOps } from '../store/store.ts';
import type { KvOp, PurgeRun, Store } from '../store/types.ts';
import { loadHold } from './hold.ts';
import { purgeAlerts, purgeIncidents, purgeLogs } from './records-purge.ts';
import { purgeRetiredDevices } from './retired.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BATCH = 1000;

export interface RetentionOptions {
  store: Store;
  log: Logger;
  config: CollectorConfig;
  now: () => number;
  audit: AuditFn;
  /** Runs and failed runs (read by /metrics). */
  counts?: MetricCounts;
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
      this.tick(every).catch((err: unknown) => this.o.log.error({ err }, 'retention purge failed'));
    }, every);
    this.timer.unref();
  }

  /**
   * The timer's run: skipped when another collector process on the same database ran one within
   * the interval (the purge records say when) or runs one now, so several processes purge once
   * per interval between them, and whichever ticks next takes over from one that died mid-run.
   */
  async tick(everyMs: number): Promise<PurgeRun | undefined> {
    const last = (await this.o.store.purges.list(1))[0];
    if (last && this.o.now() - last.at < everyMs * 0.9) return undefined;
    return this.run().catch((err: unknown) => {
      if (err instanceof CustodianError && err.code === ErrorCode.CONFLICT) return undefined;
      throw err;
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** One purge now (a second call while one runs joins it). */
  run(actor = 'system'): Promise<PurgeRun> {
    this.running ??= this.exclusive(actor)
      .then(
        (run) => {
          if (this.o.counts) this.o.counts.retentionRuns++;
          return run;
        },
        (err: unknown) => {
          if (this.o.counts) this.o.counts.retentionFailures++;
          throw err;
        },
      )
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** One process purges at a time (PostgreSQL sharedWriters); CUST_ERR_CONFLICT if another does. */
  private async exclusive(actor: string): Promise<PurgeRun> {
    const r = await this.o.store.runExclusive('retention', () => this.purge(actor));
    if (!r.ran)
      throw new CustodianError(
        ErrorCode.CONFLICT,
        'a retention run is in progress on another collector process: try again when it is done',
      );
    return r.value;
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
        incompleteUploads: now - config.retention.incompleteUploadHours * HOUR,
        incidents: now - config.retention.incidentDays * DAY,
        audit: now - config.retention.auditDays * DAY,
        notifications: now - config.retention.notificationDays * DAY,
        purgeRecords: now - config.retention.purgeRecordDays * DAY,
      },
      timelineEventsDeleted: 0,
      blobsDeleted: 0,
      blobBytesDeleted: 0,
      incompleteUploadsDeleted: 0,
      incompleteChunksDeleted: 0,
      alertsMarked: [],
      perDevice: {},
      alertsDeleted: {},
      incidentsDeleted: 0,
      auditRecordsDeleted: 0,
      notificationsDeleted: 0,
      purgeRecordsDeleted: 0,
      held: { alerts: 0, incidents: 0, timelineEvents: 0, screenshots: 0 },
    };
    // Read once per run: an incident opened during the run holds from the next run on.
    const hold = await loadHold(store, { now, incidentDays: config.retention.incidentDays });
    for (const device of await store.devices.list()) {
      const prefix = K.timelinePrefix(device.id);
      const lt = K.timelineAt(device.id, run.cutoffs.timeline);
      // Per stream: the highest seq deleted so far. It is written in the same batch as the
      // deletes, so a replay of a purged (stream, seq) is still recognised as a duplicate.
      const floors = new Map<string, { stored: number; next: number }>();
      let ops: KvOp[] = [];
      const flush = async () => {
        for (const [streamId, f] of floors)
          if (f.next > f.stored) {
            ops.push(streamFloorOp(device.id, streamId, f.next));
            f.stored = f.next;
          }
        await store.engine.batch(ops, { sync: true });
        ops = [];
      };
      for await (const [k] of store.engine.entries({ gte: prefix, lt })) {
        const parts = k.split(SEP);
        const streamId = parts[3] as string;
        const seq = Number(parts[4]);
        // Held events stay below the stream's purge mark: `has()` still finds them.
        if (!hold.empty && hold.eventReason(device.id, k, Number(parts[2])) !== undefined) {
          run.held.timelineEvents++;
          continue;
        }
        let floor = floors.get(streamId);
        if (!floor) {
          const stored = await store.timeline.purgedThrough(device.id, streamId);
          floor = { stored, next: stored };
          floors.set(streamId, floor);
        }
        floor.next = Math.max(floor.next, seq);
        ops.push({ type: 'del', key: k }, { type: 'del', key: K.eventRef(device.id, streamId, seq) });
        run.timelineEventsDeleted++;
        run.perDevice[device.id] = (run.perDevice[device.id] ?? 0) + 1;
        if (ops.length >= BATCH) await flush();
      }
      await flush();
    }
    await purgeRetiredDevices(store, now - config.retention.retiredDays * DAY, now, run, hold);
    const blobPrefix = K.blobTimePrefix();
    const expired: { deviceId: string; blobId: string }[] = [];
    for await (const [k] of store.engine.entries({
      gte: blobPrefix,
      lt: `${blobPrefix}${String(run.cutoffs.screenshots).padStart(15, '0')}`,
    })) {
      const parts = k.split(SEP);
      const e = { deviceId: parts[2] as string, blobId: parts[3] as string };
      if (hold.blobReason(e.deviceId, e.blobId) !== undefined) run.held.screenshots++;
      else expired.push(e);
    }
    const expiredSet = new Set(expired.map((e) => `${e.deviceId}/${e.blobId}`));
    for (const e of expired) {
      const meta = await store.blobs.meta(e.deviceId, e.blobId);
      const ops = await store.withLock(() => blobDeleteOps(store.engine, e.deviceId, e.blobId));
      await store.engine.batch(ops, { sync: true });
      run.blobsDeleted++;
      run.blobBytesDeleted += meta?.size ?? 0;
    }
    await this.purgeIncompleteUploads(run);
    // Alerts whose screenshots are gone keep a note saying so.
    if (expiredSet.size > 0) {
      for await (const [k] of store.engine.entries({
        gte: K.alertTimePrefix(),
        lt: K.alertTimePrefix() + HIGH,
      })) {
        const id = k.slice(k.lastIndexOf(SEP) + 1);
        const a = await store.alerts.get(id);
        if (!a) continue;
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
    await purgeAlerts(store, config.retention, now, run, hold);
    await purgeIncidents(store, config.retention, now, run, hold);
    // Last: this run's own audit record and purge record are written after it.
    await purgeLogs(store, config.retention, now, run);
    // Timeline months (PostgreSQL) that the deletes above emptied go back to the disk whole.
    const dropped = (await store.engine.reclaim?.(run.cutoffs.timeline)) ?? [];
    if (dropped.length > 0) run.partitionsDropped = dropped;
    await store.purges.append(run);
    for (const purged of run.retiredPurges ?? [])
      await this.o.audit(actor, 'device.purge', `device:${purged.deviceId}`, { runId: run.id, ...purged });
    await this.o.audit(actor, 'retention.purge', 'retention', {
      runId: run.id,
      timelineEventsDeleted: run.timelineEventsDeleted,
      blobsDeleted: run.blobsDeleted,
      incompleteUploadsDeleted: run.incompleteUploadsDeleted,
      alertsMarked: run.alertsMarked.length,
      alertsDeleted: run.alertsDeleted,
      incidentsDeleted: run.incidentsDeleted,
      auditRecordsDeleted: run.auditRecordsDeleted,
      notificationsDeleted: run.notificationsDeleted,
      purgeRecordsDeleted: run.purgeRecordsDeleted,
      held: run.held,
    });
    this.o.log.info(
      {
        runId: run.id,
        timelineEventsDeleted: run.timelineEventsDeleted,
        blobsDeleted: run.blobsDeleted,
        incompleteUploadsDeleted: run.incompleteUploadsDeleted,
        alertsMarked: run.alertsMarked.length,
      },
      'retention purge done',
    );
    return run;
  }

  /**
   * Chunks of an upload whose meta never came (the collector stopped mid-upload; a live session
   * deletes its own on failure). Found by the marker chunk 0 writes; an upload the agent resent
   * meanwhile has a fresh marker, and one that completed has meta, so neither is touched.
   */
  private async purgeIncompleteUploads(run: PurgeRun): Promise<void> {
    const { store } = this.o;
    const prefix = K.blobUploadPrefix();
    const stale: { deviceId: string; blobId: string }[] = [];
    for await (const [k, v] of store.engine.entries({ gte: prefix, lt: prefix + HIGH })) {
      if (fromJsonBytes<{ startedAt: number }>(v).startedAt >= run.cutoffs.incompleteUploads) continue;
      const parts = k.split(SEP);
      stale.push({ deviceId: parts[1] as string, blobId: parts[2] as string });
    }
    for (const { deviceId, blobId } of stale) {
      const marker = K.blobUpload(deviceId, blobId);
      const ops: KvOp[] = [{ type: 'del', key: marker }];
      // Re-read just before deleting: a resend rewrote the marker, or the upload completed.
      const raw = await store.engine.get(marker);
      if (!raw || fromJsonBytes<{ startedAt: number }>(raw).startedAt >= run.cutoffs.incompleteUploads)
        continue;
      const complete = (await store.blobs.meta(deviceId, blobId)) !== undefined;
      let chunks = 0;
      if (!complete) {
        const chunkPrefix = K.blobChunkPrefix(deviceId, blobId);
        for await (const [k] of store.engine.entries({ gte: chunkPrefix, lt: chunkPrefix + HIGH })) {
          ops.push({ type: 'del', key: k });
          chunks++;
        }
      }
      await store.engine.batch(ops, { sync: true });
      if (complete) continue;
      run.incompleteUploadsDeleted++;
      run.incompleteChunksDeleted += chunks;
    }
  }
}
