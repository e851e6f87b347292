// Power-loss style campaign (issue 21 §1, last part): the collector's data directory lives on a
// small tmpfs. While the real agent streams a backlog of events and screenshots, the filesystem is
// filled to the last byte for a while (seeded), then freed. (Read-only mid-run is readonly.ts: a
// plain remount read-only is refused while the collector holds files open for writing.) A collector that exits on a storage error is started again on the same data
// dir, as its service manager would (Restart=always). Afterwards: every event exactly once, every
// screenshot stored, no Gap, the agent's outbox empty: nothing was acked that was not durable.
// Needs root (mount); without it the campaign says so and does nothing.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1 } from '@custodian/protocol';
import type { TimelineRecord } from '../../collector/src/store/types.ts';
import { type AgentProcess, agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { storedTimeline } from '../support/collector-store.ts';
import { rng } from '../support/rng.ts';
import { waitFor } from '../support/wait-for.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

const HEADLESS = { DISPLAY: '', WAYLAND_DISPLAY: '' };

export interface DiskOptions {
  seed: number;
  rounds: number;
  eventsPerRound: number;
  screenshotsPerRound: number;
  /** How long the filesystem stays full / read-only each time. */
  holdMs: number;
  tmpfsMiB: number;
  recoverTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface DiskReport {
  seed: number;
  rounds: number;
  events: number;
  screenshots: number;
  fullEpisodes: number;
  collectorExits: number;
  storageCloses: number;
  /** Times the collector stayed up but refused every agent after the disk had room again. */
  wedged: number;
  /** Collector log lines naming ENOSPC. */
  storageErrors: number;
  durationMs: number;
  problems: string[];
}

function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    // The last partial MiB too: the filesystem is full to the byte.
    try {
      for (;;) writeSync(fd, chunk, 0, 4096);
    } catch {
      // full
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

export async function diskCampaign(o: DiskOptions): Promise<DiskReport> {
  const log = o.log ?? (() => undefined);
  const r = rng(o.seed);
  const started = Date.now();
  const report: DiskReport = {
    seed: o.seed,
    rounds: o.rounds,
    events: 0,
    screenshots: 0,
    fullEpisodes: 0,
    collectorExits: 0,
    storageCloses: 0,
    wedged: 0,
    storageErrors: 0,
    durationMs: 0,
    problems: [],
  };
  if (process.getuid?.() !== 0) {
    report.problems.push('needs root to mount a tmpfs: not run');
    return report;
  }
  const mnt = mkdtempSync(join(tmpdir(), 'custodian-soak-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${o.tmpfsMiB}m,mode=0700`, 'tmpfs', mnt]);
  let collector: CollectorProcess | undefined;
  let agent: AgentProcess | undefined;
  const titles = new Set<string>();
  const blobs = new Set<string>();
  try {
    collector = await startCollector({ dataDir: join(mnt, 'data'), env: { CUSTODIAN_LOG_LEVEL: 'warn' } });
    const c = collector;
    const enrolled = await enrolAgent({ collector: c });
    /** A collector that exited (a storage error it would not carry on with) starts again. */
    const ensureUp = async () => {
      const alive = await fetch(`${c.url}/api/v1/health`).then(
        () => true,
        () => false,
      );
      if (alive) return;
      report.collectorExits++;
      log('disk: the collector exited; starting it again (as Restart=always would)');
      await c.restart();
    };
    const blobDir = join(enrolled.dataDir, 'blobs');
    for (let round = 1; round <= o.rounds; round++) {
      await queueBacklog(
        enrolled.dataDir,
        `disk${round}`,
        o.eventsPerRound,
        o.screenshotsPerRound,
        titles,
        blobs,
      );
      report.events += o.eventsPerRound;
      report.screenshots += o.screenshotsPerRound;
      agent = await startAgent({ dataDir: enrolled.dataDir, env: HEADLESS });
      await new Promise((res) => setTimeout(res, r() * 300));
      const filler = fillUp(mnt);
      report.fullEpisodes++;
      await new Promise((res) => setTimeout(res, o.holdMs * (0.5 + r())));
      rmSync(filler);
      await ensureUp();
      // Delivery resumes; a collector that exits on its way back is started again.
      const delivered = waitFor(
        async () => {
          await ensureUp();
          const st = JSON.parse(await readFile(join(enrolled.dataDir, 'status.json'), 'utf8'));
          const pending = (await readdir(blobDir)).filter((n) => n.endsWith('.json'));
          return st.outbox?.depth === 0 && pending.length === 0 && st.link?.status === 'connected';
        },
        `round ${round}: the backlog delivered after the disk came back`,
        o.recoverTimeoutMs ?? 60_000,
        500,
      );
      try {
        await delivered;
      } catch (err) {
        // Wedged: up, but refusing every agent although the disk has room again. Record it
        // precisely, restart it (what an operator would have to do) and carry on.
        const health = await fetch(`${c.url}/api/v1/health`).then(
          (res) => res.status,
          () => 'no answer',
        );
        const st = await readFile(join(enrolled.dataDir, 'status.json'), 'utf8').catch(() => '{}');
        const link = (JSON.parse(st) as { link?: { lastError?: string } }).link;
        const lastStoreError = c
          .logs()
          .filter((l) => l.includes('store I/O failed'))
          .at(-1)
          ?.match(/"message":"([^"]{0,200})/)?.[1];
        report.wedged++;
        report.problems.push(
          `round ${round}: ${(err as Error).message}; the disk had room again, health answered ${health}, the agent's last error "${link?.lastError ?? '?'}", the collector's last store error "${lastStoreError ?? '?'}"; restarted by hand`,
        );
        await c.restart();
        await waitFor(
          async () => {
            const st2 = JSON.parse(await readFile(join(enrolled.dataDir, 'status.json'), 'utf8'));
            const pending = (await readdir(blobDir)).filter((n) => n.endsWith('.json'));
            return st2.outbox?.depth === 0 && pending.length === 0 && st2.link?.status === 'connected';
          },
          `round ${round}: the backlog delivered after a restart`,
          120_000,
          500,
        );
      }
      await agent.stop();
      agent = undefined;
      log(`disk: round ${round}/${o.rounds} delivered`);
    }
    report.storageCloses = c.logs().filter((l) => l.includes('"closeCode":4008')).length;
    report.storageErrors = c.logs().filter((l) => /ENOSPC|no space/i.test(l)).length;
    if (report.storageErrors === 0 && report.storageCloses === 0)
      report.problems.push(
        'the full disk never reached the collector (nothing proven): raise eventsPerRound',
      );
    const st = JSON.parse((await agentCli(['status', '--json', '--data-dir', enrolled.dataDir])).stdout) as {
      outboxDepth: number;
    };
    if (st.outboxDepth !== 0) report.problems.push(`outbox holds ${st.outboxDepth} events at the end`);
    if ((await c.stop()) !== 0) report.problems.push('collector did not exit 0 on SIGTERM');
    const records = await storedTimeline({ dataDir: c.dataDir, keyFile: c.keyFile }, enrolled.deviceId);
    report.problems.push(...checkStoredOnce(records, titles, blobs, report.screenshots));
    await enrolled.cleanup();
  } finally {
    await agent?.kill9();
    await collector?.cleanup();
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      // already gone
    }
    rmSync(mnt, { recursive: true, force: true });
    report.durationMs = Date.now() - started;
  }
  return report;
}

/**
 * Queues one round's backlog in a stopped agent's outbox (`emit-test-events`): records each
 * diagnostic title in `titles` and each new screenshot blob in `blobs`, for checkStoredOnce.
 */
export async function queueBacklog(
  dataDir: string,
  tag: string,
  events: number,
  screenshots: number,
  titles: Set<string>,
  blobs: Set<string>,
): Promise<void> {
  const blobDir = join(dataDir, 'blobs');
  const before = new Set(await readdir(blobDir).catch(() => [] as string[]));
  await agentCli([
    'emit-test-events',
    String(events),
    '--tag',
    tag,
    '--screenshots',
    String(screenshots),
    '--data-dir',
    dataDir,
  ]);
  for (let i = 1; i <= events; i++) titles.add(`diagnostic event ${i} of ${events} [${tag}]`);
  for (const n of await readdir(blobDir))
    if (n.endsWith('.json') && !before.has(n)) blobs.add(n.slice(0, -5));
}

/**
 * What must hold of one device's stored timeline after a storage failure: every diagnostic
 * title in `titles` exactly once, no seq twice or missing, no Gap event, one flag per screenshot,
 * each referencing a known blob. Returns the problems found.
 */
export function checkStoredOnce(
  records: TimelineRecord[],
  titles: Set<string>,
  blobs: Set<string>,
  screenshots: number,
): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const seqs = new Set<number>();
  let flags = 0;
  for (const rec of records) {
    if (seqs.has(rec.seq)) problems.push(`seq ${rec.seq} stored twice`);
    seqs.add(rec.seq);
    const e = v1.Event.decode(rec.event);
    if (e.gap) problems.push(`Gap event: ${JSON.stringify(e.gap)}`);
    if (e.flaggedActivity) {
      flags++;
      for (const b of e.flaggedActivity.screenshotBlobIds ?? [])
        if (!blobs.has(b)) problems.push(`unknown blob ${b}`);
    }
    const t = e.activeWindow?.app === 'custodian-diagnostic' ? e.activeWindow.title : undefined;
    if (t) seen.set(t, (seen.get(t) ?? 0) + 1);
  }
  const max = [...seqs].reduce((m, s) => Math.max(m, s), 0);
  if (max !== seqs.size) problems.push(`${max - seqs.size} seqs missing below ${max}`);
  const missing = [...titles].filter((t) => seen.get(t) !== 1);
  if (missing.length) problems.push(`${missing.length} events not stored exactly once, e.g. ${missing[0]}`);
  if (flags !== screenshots) problems.push(`${flags} flags stored for ${screenshots}`);
  return problems;
}

/** `pnpm soak disk`: the data directory full mid-stream. */
export const diskSoak: SoakCampaign = {
  name: 'disk',
  defaults: { rounds: 10, eventsPerRound: 20_000, screenshotsPerRound: 4, holdMs: 3_000, tmpfsMiB: 96 },
  async run(p, log) {
    const r = await diskCampaign({
      seed: p.seed,
      rounds: p['rounds']!,
      eventsPerRound: p['eventsPerRound']!,
      screenshotsPerRound: p['screenshotsPerRound']!,
      holdMs: p['holdMs']!,
      tmpfsMiB: p['tmpfsMiB']!,
      log,
    });
    return diskOutcome(r);
  },
};

export function diskOutcome(r: DiskReport): SoakOutcome {
  return {
    title: "Soak: the collector's disk full mid-stream (issue 21 §1, power-loss style)",
    rows: [
      { metric: 'rounds (a backlog streaming while the disk fails)', value: r.rounds, unit: '' },
      { metric: 'filesystem filled to the last byte', value: r.fullEpisodes, unit: 'times' },
      { metric: 'diagnostic events', value: r.events, unit: '' },
      { metric: 'screenshots', value: r.screenshots, unit: '' },
      { metric: 'agent sessions closed STORAGE_UNAVAILABLE', value: r.storageCloses, unit: '' },
      { metric: 'collector log lines naming ENOSPC', value: r.storageErrors, unit: '' },
      {
        metric: 'collector exits on a storage error (restarted, as Restart=always would)',
        value: r.collectorExits,
        unit: '',
      },
      {
        metric: 'problems (lost, duplicated, Gap, outbox not empty)',
        value: r.problems.length,
        unit: '',
        target: '0',
      },
    ],
    notes: [
      "The data directory is a tmpfs of its own. Every round fills it to the byte while the agent streams, holds it full (0.5–1.5 × holdMs, seeded), then deletes the filler. Read-only mid-run is the readonly campaign (a plain remount read-only is refused, EBUSY, while the collector holds files open for writing; there ext4 turns read-only itself, as after a disk error). The agent keeps everything not acked and resends it; checked in the stopped collector's store: every event once, no seq missing, no Gap, one flag per screenshot.",
      'A tmpfs loses its content on power loss; this is the storage-error half of power loss, not a torn write on a real disk.',
      `Whole campaign ${(r.durationMs / 1000).toFixed(0)} s.`,
    ],
    problems: r.problems,
  };
}
