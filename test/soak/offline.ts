// Offline campaign (issue 21 §3), the single-device part: a laptop offline for simulated school
// days. Its outbox is filled by the agent's own Outbox and BlobStore code with a simulated clock
// (08:30–15:30 each day: a window change on average every `windowEverySec`, a heartbeat a minute,
// `flagsPerDay` flags each with a screenshot), then the real agent process starts and delivers the
// backlog to a real collector. Two devices: one with the default outbox bound (nothing may be
// dropped), one whose outbox was filled with a small bound (drops only in the documented order:
// oldest window changes first, heartbeats only when no window change is left, flags never while
// anything else can go, and a Gap event for every drop). Reported: the catch-up delivery rate and
// the collector's CPU while it ingests.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { v1 } from '@custodian/protocol';
import { silentLogger } from '../../agent/src/config/logger.ts';
import { BlobStore } from '../../agent/src/outbox/blob-store.ts';
import { Outbox } from '../../agent/src/outbox/outbox.ts';
import { enrolAgent, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { storedTimeline } from '../support/collector-store.ts';
import { rng } from '../support/rng.ts';
import { waitFor } from '../support/wait-for.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

const DAY = 86_400_000;
const HEADLESS = { DISPLAY: '', WAYLAND_DISPLAY: '' };

export interface OfflineOptions {
  seed: number;
  days: number;
  windowEverySec: number;
  flagsPerDay: number;
  /** maxEvents of the second device's outbox while it fills (below what the days produce). */
  smallBound: number;
  log?: (line: string) => void;
}

export interface OfflineReport {
  seed: number;
  days: number;
  events: number;
  windows: number;
  heartbeats: number;
  flags: number;
  catchUpMs: number;
  deliveryRate: number;
  collectorCpuPercent: number;
  boundedDropped: number;
  boundedDroppedByKind: Record<string, number>;
  boundedGaps: number;
  boundedCatchUpMs: number;
  durationMs: number;
  problems: string[];
}

type Kind = 'window' | 'heartbeat' | 'flag';
interface Planned {
  at: number;
  kind: Kind;
  label: string;
}

/** The events of `days` school days ending before `end`, in time order. */
function plan(o: OfflineOptions, end: number): Planned[] {
  const r = rng(o.seed);
  const out: Planned[] = [];
  const firstDay = Math.floor(end / DAY) * DAY - o.days * DAY;
  for (let d = 0; d < o.days; d++) {
    const open = firstDay + d * DAY + 8.5 * 3_600_000;
    const close = open + 7 * 3_600_000;
    for (let t = open, i = 0; t < close; t += 60_000, i++)
      out.push({ at: t, kind: 'heartbeat', label: `offline heartbeat d${d} #${i}` });
    for (let t = open, i = 0; t < close; i++) {
      t += Math.max(1_000, Math.round(-Math.log(1 - r()) * o.windowEverySec * 1_000));
      out.push({ at: t, kind: 'window', label: `offline window d${d} #${i}` });
    }
    for (let f = 0; f < o.flagsPerDay; f++)
      out.push({
        at: open + Math.floor(r() * 7 * 3_600_000),
        kind: 'flag',
        label: `offline flag d${d} #${f}`,
      });
  }
  return out.sort((a, b) => a.at - b.at);
}

async function fill(dataDir: string, events: Planned[], maxEvents?: number): Promise<void> {
  let clock = 0;
  const outbox = await Outbox.open({
    dir: join(dataDir, 'outbox'),
    log: silentLogger,
    now: () => clock,
    ...(maxEvents ? { maxEvents } : {}),
  });
  const blobs = new BlobStore({ dir: join(dataDir, 'blobs'), log: silentLogger });
  try {
    for (const e of events) {
      clock = e.at;
      if (e.kind === 'heartbeat')
        await outbox.emit({ heartbeat: { uptimeSeconds: 1, loggedInUser: e.label, outboxDepth: 0 } });
      else if (e.kind === 'window')
        await outbox.emit({ activeWindow: { app: 'browser', title: e.label, url: '', pid: 1 } });
      else {
        const blobId = await blobs.putBlob(
          Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.alloc(40_000, 7)]),
          'image/png',
        );
        await outbox.emit({
          flaggedActivity: {
            category: 'custodian-diagnostic',
            severity: 1,
            matchedTerm: 'diagnostic',
            context: e.label,
            window: { app: 'browser', title: e.label, url: '', pid: 1 },
            screenshotBlobIds: [blobId],
            source: 'title',
          },
        });
      }
    }
  } finally {
    await outbox.close();
  }
}

function cpuTicks(pid: number): number {
  const f = readFileSyncSafe(`/proc/${pid}/stat`).split(') ')[1]?.split(' ') ?? [];
  return Number(f[11] ?? 0) + Number(f[12] ?? 0);
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function offlineCampaign(o: OfflineOptions): Promise<OfflineReport> {
  const started = Date.now();
  const log = o.log ?? (() => undefined);
  const collector = await startCollector({ env: { CUSTODIAN_LOG_LEVEL: 'warn' } });
  const free = await enrolAgent({ collector });
  const bounded = await enrolAgent({ collector });
  const events = plan(o, Date.now() - 3_600_000);
  const report: OfflineReport = {
    seed: o.seed,
    days: o.days,
    events: events.length,
    windows: events.filter((e) => e.kind === 'window').length,
    heartbeats: events.filter((e) => e.kind === 'heartbeat').length,
    flags: events.filter((e) => e.kind === 'flag').length,
    catchUpMs: 0,
    deliveryRate: 0,
    collectorCpuPercent: 0,
    boundedDropped: 0,
    boundedDroppedByKind: {},
    boundedGaps: 0,
    boundedCatchUpMs: 0,
    durationMs: 0,
    problems: [],
  };
  const agents: { kill9(): Promise<void>; stop(): Promise<void> }[] = [];
  try {
    log(`offline: filling two outboxes with ${events.length} events of ${o.days} simulated school days`);
    await fill(free.dataDir, events);
    await fill(bounded.dataDir, events, o.smallBound);

    const deliver = async (dataDir: string) => {
      const t0 = Date.now();
      const cpu0 = cpuTicks(collector.pid);
      const agent = await startAgent({ dataDir, env: HEADLESS });
      agents.push(agent);
      await waitFor(
        async () => {
          const st = JSON.parse(await readFile(join(dataDir, 'status.json'), 'utf8'));
          const blobs = (await readdir(join(dataDir, 'blobs'))).filter((n) => n.endsWith('.json'));
          return st.outbox?.depth === 0 && st.outbox?.pendingGaps === 0 && blobs.length === 0;
        },
        'the backlog delivered',
        600_000,
        100,
      );
      const ms = Date.now() - t0;
      const cpu = ((cpuTicks(collector.pid) - cpu0) / 100 / (ms / 1000)) * 100;
      await agent.stop();
      return { ms, cpu };
    };
    const a = await deliver(free.dataDir);
    report.catchUpMs = a.ms;
    report.deliveryRate = events.length / (a.ms / 1000);
    report.collectorCpuPercent = a.cpu;
    log(`offline: ${events.length} events delivered in ${a.ms} ms, collector CPU ${a.cpu.toFixed(0)}%`);
    report.boundedCatchUpMs = (await deliver(bounded.dataDir)).ms;
    if ((await collector.stop()) !== 0) report.problems.push('collector did not exit 0 on SIGTERM');

    // The unbounded device: every planned event once, in the agent's time, no Gap.
    const got = await readDevice(collector.dataDir, free.deviceId);
    for (const e of events)
      if (got.labels.get(e.label) !== 1)
        report.problems.push(`free device: ${e.label} stored ${got.labels.get(e.label) ?? 0} times`);
    if (got.gaps.length) report.problems.push(`free device: ${got.gaps.length} Gap events`);
    if (got.seqProblems.length) report.problems.push(...got.seqProblems.map((p) => `free device: ${p}`));
    if (got.timeMismatches)
      report.problems.push(`free device: ${got.timeMismatches} events not ordered by the agent's clock`);

    // The bounded device: only the oldest window changes dropped, each drop inside a Gap.
    const b = await readDevice(collector.dataDir, bounded.deviceId);
    if (b.seqProblems.length) report.problems.push(...b.seqProblems.map((p) => `bounded device: ${p}`));
    const dropped = events.filter((e) => !b.labels.has(e.label));
    report.boundedDropped = dropped.length;
    for (const e of dropped)
      report.boundedDroppedByKind[e.kind] = (report.boundedDroppedByKind[e.kind] ?? 0) + 1;
    report.boundedGaps = b.gaps.length;
    const windows = events.filter((e) => e.kind === 'window');
    const droppedWindows = dropped.filter((e) => e.kind === 'window').length;
    const others = events.length - windows.length;
    if (others < o.smallBound && dropped.some((e) => e.kind !== 'window'))
      report.problems.push(
        `bounded device: ${dropped.filter((e) => e.kind !== 'window').length} heartbeats/flags dropped while window changes could go`,
      );
    if (!windows.slice(0, droppedWindows).every((e) => !b.labels.has(e.label)))
      report.problems.push('bounded device: dropped window changes are not the oldest ones');
    for (const [label, n] of b.labels)
      if (n > 1) report.problems.push(`bounded device: ${label} stored ${n} times`);
    const gapDropped = b.gaps.reduce((n, g) => n + Number(g.dropped ?? 0), 0);
    if (gapDropped !== dropped.length)
      report.problems.push(
        `bounded device: Gap events count ${gapDropped} drops, ${dropped.length} events are missing`,
      );
    if (b.gaps.some((g) => g.reason !== 'outbox-full'))
      report.problems.push(
        `bounded device: Gap reasons ${[...new Set(b.gaps.map((g) => g.reason))].join(', ')}`,
      );
    if (dropped.length === 0)
      report.problems.push('bounded device: the small bound dropped nothing (the test proves nothing)');
  } finally {
    for (const a of agents) await a.kill9();
    await free.cleanup();
    await bounded.cleanup();
    await collector.cleanup();
    report.durationMs = Date.now() - started;
  }
  return report;
}

async function readDevice(dataDir: string, deviceId: string) {
  const records = await storedTimeline(dataDir, deviceId);
  const labels = new Map<string, number>();
  const gaps: { fromSeq?: unknown; toSeq?: unknown; reason?: string | null; dropped?: number | null }[] = [];
  const seqs = new Map<string, Set<number>>();
  const seqProblems: string[] = [];
  let timeMismatches = 0;
  for (const r of records) {
    const s = seqs.get(r.streamId) ?? new Set<number>();
    if (s.has(r.seq)) seqProblems.push(`seq ${r.seq} stored twice`);
    s.add(r.seq);
    seqs.set(r.streamId, s);
    const e = v1.Event.decode(r.event);
    const label =
      e.activeWindow?.title ||
      e.heartbeat?.loggedInUser ||
      (e.flaggedActivity ? e.flaggedActivity.context : '');
    if (label?.startsWith('offline ')) {
      labels.set(label, (labels.get(label) ?? 0) + 1);
      if (r.time !== r.agentTimeMs) timeMismatches++;
    }
    if (e.gap) gaps.push(e.gap);
  }
  return { labels, gaps, seqProblems, timeMismatches };
}

/** `pnpm soak offline`: 7 simulated school days. */
export const offlineSoak: SoakCampaign = {
  name: 'offline',
  defaults: { days: 7, windowEverySec: 30, flagsPerDay: 3, smallBound: 4_000 },
  async run(p, log) {
    const r = await offlineCampaign({
      seed: p.seed,
      days: p['days']!,
      windowEverySec: p['windowEverySec']!,
      flagsPerDay: p['flagsPerDay']!,
      smallBound: p['smallBound']!,
      log,
    });
    return offlineOutcome(r, p['smallBound']!);
  },
};

export function offlineOutcome(r: OfflineReport, bound: number): SoakOutcome {
  return {
    title: 'Soak: offline campaign (issue 21 §3, one device offline for simulated school days)',
    rows: [
      { metric: 'simulated school days offline', value: r.days, unit: '', target: '7' },
      { metric: 'events in the backlog (window changes + heartbeats + flags)', value: r.events, unit: '' },
      {
        metric: 'catch-up: agent process start → backlog delivered and acked',
        value: r.catchUpMs / 1000,
        unit: 's',
      },
      { metric: 'catch-up delivery rate', value: Math.round(r.deliveryRate), unit: 'events/s' },
      { metric: 'collector CPU during the catch-up', value: r.collectorCpuPercent, unit: '% of one core' },
      {
        metric: `bounded outbox (${bound.toLocaleString('en-GB')} events): events dropped`,
        value: r.boundedDropped,
        unit: '',
      },
      { metric: 'bounded outbox: Gap events at the collector', value: r.boundedGaps, unit: '' },
      {
        metric: 'problems (lost below the bound, wrong drop order, missing Gap, duplicate)',
        value: r.problems.length,
        unit: '',
        target: '0',
      },
    ],
    notes: [
      `Backlog: ${r.windows} window changes, ${r.heartbeats} heartbeats, ${r.flags} flags with a 40 KB screenshot each, timestamped 08:30–15:30 on each simulated day (the outbox's clock is simulated; delivery is the real agent process to the real collector).`,
      `Bounded outbox: dropped by kind ${JSON.stringify(r.boundedDroppedByKind)}; checked that only the oldest window changes went while anything of lower priority was left, that each drop is counted in an outbox-full Gap event, and that nothing is stored twice. Its catch-up took ${(r.boundedCatchUpMs / 1000).toFixed(1)} s.`,
      'Not covered here: the agent clock jumping while it runs (the simulated clock only timestamps the backlog); 500 agents reconnecting at once is the reconnect campaign.',
      `Whole campaign ${(r.durationMs / 1000).toFixed(0)} s.`,
    ],
    problems: r.problems,
  };
}
