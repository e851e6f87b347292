// Crash campaign (issue 21 §1): a real collector and a real agent process, each killed with
// SIGKILL once per cycle at a seeded random moment while the agent's outbox holds diagnostic
// events and flags with screenshots (`custodian-agent emit-test-events N --tag T --screenshots K`),
// with DSL grades and notes and policy pushes made just before some collector kills. Afterwards:
// every event the agent created is in the timeline exactly once (read from the stopped
// collector's store), every screenshot an alert references is served and matches the hash the
// agent computed, no alert lost a grade or note, the agent applied the last policy, and its
// outbox and blob store are empty.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { v1 } from '@custodian/protocol';
import { createStaff } from '../e2e/console-helpers.ts';
import { type AgentProcess, agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { storedTimeline } from '../support/collector-store.ts';
import { rng } from '../support/rng.ts';
import { waitFor } from '../support/wait-for.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

export interface CrashOptions {
  seed: number;
  cycles: number;
  eventsPerCycle: number;
  screenshotsPerCycle: number;
  /** Longest seeded wait before each kill (default 1,500 ms). */
  maxKillDelayMs?: number;
  /** The collector's group-commit tick (default 250 ms: acks, and blob acks, pace the agent). */
  commitTickMs?: number;
  /** How long the final catch-up may take (default 10 min). */
  settleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface CrashReport {
  seed: number;
  cycles: number;
  collectorKills: number;
  agentKills: number;
  events: number;
  screenshots: number;
  /** Kills that found the agent's blob store non-empty (a screenshot not yet acked STORED). */
  collectorKillsWithBlobsPending: number;
  agentKillsWithBlobsPending: number;
  /** Kills that found events waiting in the outbox (agent's status.json, up to 5 s old). */
  collectorKillsWithEventsPending: number;
  agentKillsWithEventsPending: number;
  grades: number;
  notes: number;
  policyPushes: number;
  timelineRecords: number;
  durationMs: number;
  /** From the last kill to an empty outbox and blob store. */
  settleMs: number;
  /** Everything found wrong; empty when nothing was lost, duplicated or damaged. */
  problems: string[];
}

const HEADLESS = { DISPLAY: '', WAYLAND_DISPLAY: '' };

interface Expected {
  titles: Set<string>;
  /** blob id → sha256 hex, as the agent computed it when the screenshot was taken. */
  blobs: Map<string, string>;
  grades: Map<string, number>;
  notes: Map<string, string[]>;
}

export async function crashCampaign(o: CrashOptions): Promise<CrashReport> {
  const log = o.log ?? (() => undefined);
  const r = rng(o.seed);
  const maxDelay = o.maxKillDelayMs ?? 1_500;
  const started = Date.now();
  const collector = await startCollector({
    env: { CUSTODIAN_COMMIT_TICK_MS: String(o.commitTickMs ?? 250), CUSTODIAN_LOG_LEVEL: 'warn' },
  });
  const enrolled = await enrolAgent({ collector });
  const report: CrashReport = {
    seed: o.seed,
    cycles: o.cycles,
    collectorKills: 0,
    agentKills: 0,
    events: 0,
    screenshots: 0,
    collectorKillsWithBlobsPending: 0,
    agentKillsWithBlobsPending: 0,
    collectorKillsWithEventsPending: 0,
    agentKillsWithEventsPending: 0,
    grades: 0,
    notes: 0,
    policyPushes: 0,
    timelineRecords: 0,
    durationMs: 0,
    settleMs: 0,
    problems: [],
  };
  const expected: Expected = { titles: new Set(), blobs: new Map(), grades: new Map(), notes: new Map() };
  let agent: AgentProcess | undefined;
  let dsl: Record<string, string> | undefined;
  let dslAccount: { username: string; password: string } | undefined;
  /** Signs the DSL in (the account is made once): session cookie and CSRF token. */
  const dslLogin = async (): Promise<Record<string, string>> => {
    dslAccount ??= await createStaff(collector, 'soak-dsl', 'dsl');
    const res = await fetch(`${collector.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(dslAccount),
    });
    if (!res.ok) throw new Error(`DSL login: HTTP ${res.status}: ${await res.text()}`);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const { csrfToken } = (await res.json()) as { csrfToken: string };
    return { cookie, 'x-csrf-token': csrfToken };
  };
  const blobDir = join(enrolled.dataDir, 'blobs');
  const pendingBlobs = async () =>
    (await readdir(blobDir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  const outboxDepth = async () => {
    try {
      const st = JSON.parse(await readFile(join(enrolled.dataDir, 'status.json'), 'utf8'));
      return Number(st.outbox?.depth ?? 0);
    } catch {
      return 0;
    }
  };
  /** A DSL request; a session lost with a restart is signed in again. */
  const asDsl = async (method: string, path: string, body?: unknown): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      dsl ??= await dslLogin();
      const res = await fetch(`${collector.url}${path}`, {
        method,
        headers: { ...dsl, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (res.status !== 401 || attempt > 0) return res;
      dsl = undefined;
    }
  };
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${collector.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

  try {
    for (let c = 1; c <= o.cycles; c++) {
      // 1. The agent is down: its outbox gets this cycle's events and screenshots.
      const tag = `c${c}`;
      const before = new Set(await pendingBlobs());
      await agentCli([
        'emit-test-events',
        String(o.eventsPerCycle),
        '--tag',
        tag,
        '--screenshots',
        String(o.screenshotsPerCycle),
        '--data-dir',
        enrolled.dataDir,
      ]);
      for (let i = 1; i <= o.eventsPerCycle; i++)
        expected.titles.add(`diagnostic event ${i} of ${o.eventsPerCycle} [${tag}]`);
      for (const name of await pendingBlobs()) {
        if (before.has(name)) continue;
        const meta = JSON.parse(await readFile(join(blobDir, name), 'utf8')) as {
          id: string;
          sha256: string;
        };
        expected.blobs.set(meta.id, meta.sha256);
      }
      report.events += o.eventsPerCycle;
      report.screenshots += o.screenshotsPerCycle;

      // 2. The agent starts streaming; at a random moment the collector dies, sometimes just
      //    after a DSL decision or a policy push was answered.
      agent = await startAgent({ dataDir: enrolled.dataDir, env: HEADLESS });
      await sleep(r() * maxDelay);
      const action = r();
      if (action < 0.4) await decideOnAnAlert(c);
      else if (action < 0.6) await pushPolicy(c);
      await sleep(r() * 50);
      if ((await pendingBlobs()).length > 0) report.collectorKillsWithBlobsPending++;
      if ((await outboxDepth()) > 0) report.collectorKillsWithEventsPending++;
      await collector.kill9();
      report.collectorKills++;
      await sleep(r() * 300);
      await collector.restart();

      // 3. The agent reconnects and resends; at a random moment it dies too.
      await sleep(r() * maxDelay);
      if ((await pendingBlobs()).length > 0) report.agentKillsWithBlobsPending++;
      if ((await outboxDepth()) > 0) report.agentKillsWithEventsPending++;
      await agent.kill9();
      agent = undefined;
      report.agentKills++;
      if (c % 10 === 0 || c === o.cycles)
        log(
          `crash: cycle ${c}/${o.cycles}, ${report.events} events, ${report.screenshots} screenshots, ${Math.round((Date.now() - started) / 1000)} s`,
        );
    }

    // Catch-up: the agent runs until its outbox and blob store are empty.
    const settleFrom = Date.now();
    agent = await startAgent({ dataDir: enrolled.dataDir, env: HEADLESS });
    const targetPolicy = await policyVersion();
    await waitFor(
      async () => {
        const st = JSON.parse(await readFile(join(enrolled.dataDir, 'status.json'), 'utf8'));
        return (
          st.outbox?.depth === 0 &&
          (await pendingBlobs()).length === 0 &&
          st.policyVersion >= targetPolicy &&
          st.link?.status === 'connected'
        );
      },
      'the agent to deliver everything',
      o.settleTimeoutMs ?? 600_000,
      500,
    );
    report.settleMs = Date.now() - settleFrom;
    await agent.stop();
    agent = undefined;
    const st = JSON.parse((await agentCli(['status', '--json', '--data-dir', enrolled.dataDir])).stdout) as {
      outboxDepth: number;
      policyVersion?: number;
    };
    if (st.outboxDepth !== 0) report.problems.push(`outbox holds ${st.outboxDepth} events after the run`);

    await checkAlerts();
    const code = await collector.stop();
    if (code !== 0) report.problems.push(`collector exited ${code} on SIGTERM`);
    await checkTimeline();
  } finally {
    await agent?.kill9();
    await enrolled.cleanup();
    await collector.cleanup();
    report.durationMs = Date.now() - started;
  }
  return report;

  async function decideOnAnAlert(cycle: number): Promise<void> {
    const q = new URLSearchParams({ deviceId: enrolled.deviceId, status: 'new', limit: '1' });
    const list = await asDsl('GET', `/api/v1/alerts?${q}`);
    if (!list.ok) throw new Error(`alerts: HTTP ${list.status}`);
    const first = ((await list.json()) as { alerts: { id: string }[] }).alerts[0];
    if (!first) return;
    const grade = 1 + Math.floor(r() * 5);
    const g = await asDsl('POST', `/api/v1/alerts/${first.id}/grade`, { grade });
    if (!g.ok) throw new Error(`grade: HTTP ${g.status}: ${await g.text()}`);
    expected.grades.set(first.id, grade);
    report.grades++;
    const text = `soak note, cycle ${cycle}`;
    const n = await asDsl('POST', `/api/v1/alerts/${first.id}/notes`, { text });
    if (!n.ok) throw new Error(`note: HTTP ${n.status}: ${await n.text()}`);
    expected.notes.set(first.id, [...(expected.notes.get(first.id) ?? []), text]);
    report.notes++;
  }

  async function pushPolicy(cycle: number): Promise<void> {
    const res = await admin('PUT', `/api/v1/devices/${enrolled.deviceId}/policy`, {
      policy: { heartbeatSeconds: 30 + (cycle % 60) },
      reason: `soak cycle ${cycle}`,
    });
    if (!res.ok) throw new Error(`policy push: HTTP ${res.status}: ${await res.text()}`);
    report.policyPushes++;
  }

  async function policyVersion(): Promise<number> {
    const res = await waitFor(async () => {
      const r = await admin('GET', `/api/v1/devices/${enrolled.deviceId}/policy`);
      return r.ok ? ((await r.json()) as { effective: { version: number } }) : undefined;
    }, 'the device policy');
    return res.effective.version;
  }

  async function checkAlerts(): Promise<void> {
    const alerts: { id: string }[] = [];
    for (let offset = 0; ; ) {
      const q = new URLSearchParams({ deviceId: enrolled.deviceId, limit: '200', offset: String(offset) });
      const res = await asDsl('GET', `/api/v1/alerts?${q}`);
      if (!res.ok) throw new Error(`alerts: HTTP ${res.status}`);
      const page = (await res.json()) as { alerts: { id: string }[]; nextOffset: number | null };
      alerts.push(...page.alerts);
      if (page.nextOffset === null || page.alerts.length === 0) break;
      offset = page.nextOffset;
    }
    if (alerts.length !== report.screenshots)
      report.problems.push(`${alerts.length} alerts for ${report.screenshots} flags`);
    const seenBlobs = new Map<string, number>();
    for (const { id } of alerts) {
      const res = await asDsl('GET', `/api/v1/alerts/${id}`);
      if (!res.ok) throw new Error(`alert ${id}: HTTP ${res.status}`);
      const a = (await res.json()) as {
        alert: { grade?: number; notes: { text: string }[]; screenshotBlobIds: string[] };
        screenshots: { blobId: string; available: boolean; url: string | null }[];
      };
      const grade = expected.grades.get(id);
      if (grade !== undefined && a.alert.grade !== grade)
        report.problems.push(`alert ${id}: grade ${a.alert.grade} instead of ${grade}`);
      const notes = a.alert.notes.map((n) => n.text);
      const want = expected.notes.get(id) ?? [];
      if (JSON.stringify(notes) !== JSON.stringify(want))
        report.problems.push(
          `alert ${id}: notes ${JSON.stringify(notes)} instead of ${JSON.stringify(want)}`,
        );
      for (const blobId of a.alert.screenshotBlobIds) {
        seenBlobs.set(blobId, (seenBlobs.get(blobId) ?? 0) + 1);
        const img = await asDsl('GET', `/api/v1/alerts/${id}/screenshots/${blobId}`);
        if (!img.ok) {
          report.problems.push(`alert ${id}: screenshot ${blobId} HTTP ${img.status}`);
          continue;
        }
        const sha = createHash('sha256')
          .update(Buffer.from(await img.arrayBuffer()))
          .digest('hex');
        if (sha !== expected.blobs.get(blobId))
          report.problems.push(`alert ${id}: screenshot ${blobId} hash ${sha} is not the agent's`);
      }
    }
    for (const blobId of expected.blobs.keys())
      if (seenBlobs.get(blobId) !== 1)
        report.problems.push(`screenshot ${blobId} referenced by ${seenBlobs.get(blobId) ?? 0} alerts`);
  }

  async function checkTimeline(): Promise<void> {
    const records = await storedTimeline(
      { dataDir: collector.dataDir, keyFile: collector.keyFile },
      enrolled.deviceId,
    );
    report.timelineRecords = records.length;
    const byStream = new Map<string, number[]>();
    const titles = new Map<string, number>();
    let flags = 0;
    for (const rec of records) {
      const seqs = byStream.get(rec.streamId) ?? [];
      seqs.push(rec.seq);
      byStream.set(rec.streamId, seqs);
      const e = v1.Event.decode(rec.event);
      if (e.gap) report.problems.push(`gap event at seq ${rec.seq}: ${JSON.stringify(e.gap)}`);
      if (e.flaggedActivity) flags++;
      const t = e.activeWindow?.app === 'custodian-diagnostic' ? e.activeWindow.title : undefined;
      if (t) titles.set(t, (titles.get(t) ?? 0) + 1);
    }
    for (const [stream, seqs] of byStream) {
      const set = new Set(seqs);
      if (set.size !== seqs.length)
        report.problems.push(`${stream}: ${seqs.length - set.size} duplicate seqs`);
      const max = seqs.reduce((m, s) => Math.max(m, s), 0);
      if (max !== set.size) report.problems.push(`${stream}: ${max - set.size} seqs missing below ${max}`);
    }
    const dupes = [...titles].filter(([, n]) => n > 1);
    if (dupes.length)
      report.problems.push(`${dupes.length} events stored more than once, e.g. ${dupes[0]![0]}`);
    const missing = [...expected.titles].filter((t) => !titles.has(t));
    if (missing.length) report.problems.push(`${missing.length} events missing, e.g. ${missing[0]}`);
    const extra = [...titles.keys()].filter((t) => !expected.titles.has(t));
    if (extra.length) report.problems.push(`${extra.length} unexpected diagnostic events, e.g. ${extra[0]}`);
    if (flags !== report.screenshots)
      report.problems.push(`${flags} flag events for ${report.screenshots} flags`);
  }
}

/** `pnpm soak crash`: ≥ 100 kills of each side, ≥ 100,000 events and ≥ 200 screenshots. */
export const crashSoak: SoakCampaign = {
  name: 'crash',
  defaults: {
    cycles: 100,
    eventsPerCycle: 1_000,
    screenshotsPerCycle: 2,
    maxKillDelayMs: 1_500,
    commitTickMs: 250,
  },
  async run(p, log) {
    const r = await crashCampaign({
      seed: p.seed,
      cycles: p['cycles']!,
      eventsPerCycle: p['eventsPerCycle']!,
      screenshotsPerCycle: p['screenshotsPerCycle']!,
      maxKillDelayMs: p['maxKillDelayMs']!,
      commitTickMs: p['commitTickMs']!,
      log,
    });
    return crashOutcome(r);
  },
};

export function crashOutcome(r: CrashReport): SoakOutcome {
  return {
    title: 'Soak: crash campaign (issue 21 §1, kill -9 of collector and agent)',
    rows: [
      { metric: 'collector kill -9 cycles', value: r.collectorKills, unit: '', target: '≥ 100' },
      { metric: 'agent kill -9 cycles', value: r.agentKills, unit: '', target: '≥ 100' },
      { metric: 'diagnostic events created by the agent', value: r.events, unit: '', target: '≥ 100,000' },
      {
        metric: 'screenshots (flags with one screenshot each)',
        value: r.screenshots,
        unit: '',
        target: '≥ 200',
      },
      {
        metric: 'collector kills with a screenshot not yet acked (agent blob store non-empty)',
        value: r.collectorKillsWithBlobsPending,
        unit: '',
      },
      {
        metric: 'agent kills with a screenshot not yet acked',
        value: r.agentKillsWithBlobsPending,
        unit: '',
      },
      {
        metric: 'collector kills with events in the outbox (status.json, ≤ 5 s old)',
        value: r.collectorKillsWithEventsPending,
        unit: '',
      },
      {
        metric: 'agent kills with events in the outbox (status.json)',
        value: r.agentKillsWithEventsPending,
        unit: '',
      },
      {
        metric: 'DSL grades + notes answered just before a collector kill',
        value: r.grades + r.notes,
        unit: '',
      },
      { metric: 'policy pushes answered just before a collector kill', value: r.policyPushes, unit: '' },
      { metric: 'timeline records of the device at the end', value: r.timelineRecords, unit: '' },
      {
        metric: 'final catch-up (last kill → outbox and blob store empty)',
        value: r.settleMs / 1000,
        unit: 's',
      },
      { metric: 'problems (lost, duplicated, damaged)', value: r.problems.length, unit: '', target: '0' },
    ],
    notes: [
      `Each cycle: the stopped agent's outbox gets ${r.cycles ? r.events / r.cycles : 0} diagnostic events and ${r.cycles ? r.screenshots / r.cycles : 0} flags with a 300 KiB screenshot (emit-test-events --tag --screenshots), the agent starts, after a seeded random wait the collector is killed (SIGKILL; in 40% of cycles just after a DSL grade and note were answered, in 20% just after a policy push), restarted after a seeded wait, and after another seeded wait the agent is killed (SIGKILL).`,
      "Checked at the end: every diagnostic event once in the stopped collector's store (titles carry the cycle), every (stream, seq) once with none missing, no Gap event; one alert per flag, each screenshot served to a DSL session with the SHA-256 the agent computed; every grade and note answered before a kill is on its alert; the agent applied the last policy version; outbox and blob store empty (`custodian-agent status`).",
      'Not covered here: kills during enrolment (the enrol-crash campaign) and the power-loss case (the disk and readonly campaigns).',
      `Whole campaign ${(r.durationMs / 1000).toFixed(0)} s.`,
    ],
    problems: r.problems,
  };
}
