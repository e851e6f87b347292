// Kills during enrolment (issue 21 §1): a real collector and real `custodian-agent enrol`
// processes, one of them killed with SIGKILL at a seeded random moment of each enrolment: a
// first enrolment with the school secret, a BYOD enrolment with a one-time code, a replacement
// with proof of the old key (--replace), and a reinstall that lost its key (queued for IT,
// approved, claimed). Kill moments: in some cycles a seeded wait from the process start, in the
// others the instant the collector logs that it committed the enrolment (plus a few ms), which
// is the window a half-enrolled device comes from. After a kill the collector restarts and the
// same enrol command runs again until it finishes, as a person or the service would.
// Checked: every agent holds an identity it can connect with; one live device per machine id,
// no live device that no agent holds (orphan), no request left pending, every code used once by
// the device it enrolled; the outbox is untouched by enrolment and delivered afterwards, every
// event once.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1 } from '@custodian/protocol';
import { AgentClient, heartbeat, newStreamId } from '../../collector/test/helpers/agent-client.ts';
import { AGENT_BIN, type AgentProcess, agentCli, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { openStoreAt, storedTimeline } from '../support/collector-store.ts';
import { rng } from '../support/rng.ts';
import { waitFor } from '../support/wait-for.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

export interface EnrolCrashOptions {
  seed: number;
  cycles: number;
  /** Longest seeded wait before a kill when it is not tied to the commit (default 1,500 ms). */
  maxKillDelayMs?: number;
  /** Diagnostic events put in the long-lived agent's outbox before each of its re-enrolments. */
  eventsPerReenrol?: number;
  log?: (line: string) => void;
}

type Path = 'school' | 'byod' | 'replace' | 'reinstall';

export interface EnrolCrashReport {
  seed: number;
  cycles: number;
  byPath: Record<Path, number>;
  collectorKills: number;
  agentKills: number;
  /** Kills the instant the collector logged its commit (the rest after a seeded wait). */
  killsAtCommit: number;
  /** The enrol process had finished before its kill moment came (nothing killed). */
  finishedBeforeKill: number;
  /** Enrol commands run again after the first (killed, or ended without an identity). */
  retries: number;
  /** Retries the collector answered from an attempt it had already committed (log lines). */
  resumed: number;
  devices: number;
  codesUsed: number;
  events: number;
  durationMs: number;
  problems: string[];
}

const HEADLESS = { DISPLAY: '', WAYLAND_DISPLAY: '' };
const COMMITTED =
  /"msg":"(device enrolled|replacement enrolment queued for approval|enrolment attempt resumed[^"]*)"/;

interface Agent {
  name: string;
  dataDir: string;
  machineId: string;
  /** Device ids this agent held, in order (the last is current). */
  held: string[];
  /** BYOD: the code it enrolled with and the device that spent it. */
  code?: { code: string; device: string };
}

export async function enrolCrashCampaign(o: EnrolCrashOptions): Promise<EnrolCrashReport> {
  const log = o.log ?? (() => undefined);
  const r = rng(o.seed);
  const maxDelay = o.maxKillDelayMs ?? 1_500;
  const eventsPer = o.eventsPerReenrol ?? 50;
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'custodian-enrol-crash-'));
  const collector = await startCollector({ env: { CUSTODIAN_LOG_LEVEL: 'info' } });
  const report: EnrolCrashReport = {
    seed: o.seed,
    cycles: o.cycles,
    byPath: { school: 0, byod: 0, replace: 0, reinstall: 0 },
    collectorKills: 0,
    agentKills: 0,
    killsAtCommit: 0,
    finishedBeforeKill: 0,
    retries: 0,
    resumed: 0,
    devices: 0,
    codesUsed: 0,
    events: 0,
    durationMs: 0,
    problems: [],
  };
  const agents: Agent[] = [];
  const titles = new Set<string>();
  let runner: AgentProcess | undefined;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${collector.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const creds = async (a: Agent) =>
    JSON.parse(await readFile(join(a.dataDir, 'credentials.json'), 'utf8').catch(() => 'null')) as {
      deviceId: string;
      deviceKey: string;
    } | null;
  const outboxDepth = async (a: Agent) =>
    (
      JSON.parse((await agentCli(['status', '--json', '--data-dir', a.dataDir])).stdout) as {
        outboxDepth: number;
      }
    ).outboxDepth;
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  const newAgent = async (name: string): Promise<Agent> => {
    const a: Agent = {
      name,
      dataDir: join(root, name),
      machineId: randomBytes(16).toString('hex'),
      held: [],
    };
    agents.push(a);
    return a;
  };
  const enrolArgs = async (a: Agent, path: Path): Promise<string[]> => {
    const base = ['enrol', '--server', collector.url, '--data-dir', a.dataDir];
    if (path === 'byod') {
      a.code ??= { code: String((await admin('POST', '/enrol/codes', { ttlHours: 2 }))['code']), device: '' };
      return [...base, '--code', a.code.code, '--name', `Pupil ${a.name}`, '--accept-agreement'];
    }
    return [...base, '--secret', collector.enrolSecret, ...(path === 'replace' ? ['--replace'] : [])];
  };
  const spawnEnrol = (a: Agent, args: string[]) => {
    const child: ChildProcess = spawn(process.execPath, [AGENT_BIN, ...args], {
      env: { ...process.env, CUSTODIAN_AGENT_MACHINE_ID: a.machineId },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    return { child, exited, output: () => out };
  };
  /** Runs enrol to the end (no kill): 0 enrolled, 4 waiting for approval, else failed. */
  const enrolToEnd = async (a: Agent, args: string[]) => {
    const p = spawnEnrol(a, args);
    const code = await p.exited;
    return { code, output: p.output() };
  };

  try {
    // The long-lived agent: re-enrolled (proof, or reinstall) in the cycles that replace.
    const veteran = await newAgent('veteran');
    const first = await enrolToEnd(veteran, await enrolArgs(veteran, 'school'));
    if (first.code !== 0) throw new Error(`the first enrolment failed: ${first.output}`);
    veteran.held.push((await creds(veteran))!.deviceId);

    for (let c = 1; c <= o.cycles; c++) {
      const pick = r();
      const path: Path = pick < 0.3 ? 'school' : pick < 0.55 ? 'byod' : pick < 0.8 ? 'replace' : 'reinstall';
      report.byPath[path]++;
      const a = path === 'replace' || path === 'reinstall' ? veteran : await newAgent(`a${c}`);
      let depthBefore = -1;
      if (a === veteran) {
        const tag = `c${c}`;
        await agentCli(['emit-test-events', String(eventsPer), '--tag', tag, '--data-dir', a.dataDir]);
        for (let i = 1; i <= eventsPer; i++) titles.add(`diagnostic event ${i} of ${eventsPer} [${tag}]`);
        report.events += eventsPer;
        depthBefore = await outboxDepth(a);
        // A reinstall lost its key (the outbox survives): the collector cannot tell it from a clone.
        if (path === 'reinstall') await rm(join(a.dataDir, 'credentials.json'), { force: true });
      }
      const heldBefore = a.held.at(-1);
      const args = await enrolArgs(a, path);

      // One enrolment with a kill at a seeded moment.
      const logsFrom = collector.logs().length;
      const p = spawnEnrol(a, args);
      const killCollector = r() < 0.5;
      const atCommit = r() < 0.6;
      let finished = false;
      void p.exited.then(() => {
        finished = true;
      });
      if (atCommit) {
        const deadline = Date.now() + 30_000;
        while (!finished && Date.now() < deadline) {
          if (
            collector
              .logs()
              .slice(logsFrom)
              .some((l) => COMMITTED.test(l))
          )
            break;
          await sleep(2);
        }
        await sleep(r() * 30);
      } else await sleep(r() * maxDelay);
      if (finished) report.finishedBeforeKill++;
      else {
        if (atCommit) report.killsAtCommit++;
        if (killCollector) {
          await collector.kill9();
          report.collectorKills++;
          await p.exited;
          await collector.restart();
        } else {
          p.child.kill('SIGKILL');
          await p.exited;
          report.agentKills++;
        }
      }

      // Then the same command again until it is done, as the person (or the service) would.
      for (let attempt = 0; ; attempt++) {
        const now = await creds(a);
        const done =
          path === 'reinstall'
            ? now !== null
            : path === 'replace'
              ? now !== null && now.deviceId !== heldBefore
              : now !== null;
        if (done) break;
        if (attempt >= 4) {
          report.problems.push(`cycle ${c} (${path}): not enrolled after ${attempt} runs`);
          break;
        }
        report.retries++;
        const res = await enrolToEnd(a, args);
        if (res.code === 4 && path === 'reinstall') {
          // Queued for IT (expected for a reinstall): approve it, then the same command claims it.
          const pending = JSON.parse(await readFile(join(a.dataDir, 'pending-enrolment.json'), 'utf8')) as {
            requestId: string;
          };
          await admin('POST', `/enrol/replacements/${pending.requestId}/approve`, {
            reason: `soak cycle ${c}: reinstall`,
          });
          continue;
        }
        if (res.code !== 0)
          report.problems.push(`cycle ${c} (${path}): enrol exited ${res.code}: ${res.output.slice(-400)}`);
      }
      report.resumed += collector
        .logs()
        .slice(logsFrom)
        .filter((l) => l.includes('enrolment attempt resumed')).length;
      const now = await creds(a);
      if (now && now.deviceId !== a.held.at(-1)) a.held.push(now.deviceId);
      if (path === 'byod' && a.code && now) a.code.device = now.deviceId;
      if (a === veteran) {
        const depth = await outboxDepth(a);
        if (depth !== depthBefore)
          report.problems.push(
            `cycle ${c} (${path}): outbox ${depthBefore} events before enrolment, ${depth} after`,
          );
      }
      if (c % 10 === 0 || c === o.cycles)
        log(
          `enrol-crash: cycle ${c}/${o.cycles}, kills ${report.collectorKills} collector + ${report.agentKills} agent, ${report.retries} retries, ${report.resumed} resumed, ${Math.round((Date.now() - started) / 1000)} s`,
        );
    }

    // Every identity an agent holds connects.
    for (const a of agents) {
      const k = await creds(a);
      if (!k) continue;
      const client = new AgentClient(collector.wsUrl);
      const stream = newStreamId();
      try {
        await client.hello(k.deviceId, k.deviceKey, stream);
        const ack = await client.batch(stream, [heartbeat(1)]);
        if (Number(ack.seq) !== 1) report.problems.push(`${a.name}: heartbeat acked ${ack.seq}`);
      } catch (err) {
        report.problems.push(`${a.name} (${k.deviceId}) cannot connect: ${(err as Error).message}`);
      } finally {
        client.close();
        await client.closed;
      }
    }

    // The veteran's outbox: everything put in it across the re-enrolments is delivered.
    runner = await startAgent({ dataDir: veteran.dataDir, env: HEADLESS });
    await waitFor(
      async () => {
        const st = JSON.parse(await readFile(join(veteran.dataDir, 'status.json'), 'utf8').catch(() => '{}'));
        return st.outbox?.depth === 0 && st.link?.status === 'connected';
      },
      'the veteran agent to deliver its outbox',
      300_000,
      500,
    );
    await runner.stop();
    runner = undefined;

    const code = await collector.stop();
    if (code !== 0) report.problems.push(`collector exited ${code} on SIGTERM`);
    await checkStore();
    await checkTimeline(veteran);
  } finally {
    await runner?.kill9();
    await collector.cleanup();
    await rm(root, { recursive: true, force: true });
    report.durationMs = Date.now() - started;
  }
  return report;

  async function checkStore(): Promise<void> {
    const store = await openStoreAt({ dataDir: collector.dataDir, keyFile: collector.keyFile });
    try {
      const devices = await store.devices.list();
      report.devices = devices.length;
      const current = new Map(agents.filter((a) => a.held.length).map((a) => [a.held.at(-1)!, a]));
      // The machine id as the collector holds it (the agent derives it from CUSTODIAN_AGENT_MACHINE_ID).
      const machineOf = (a: Agent) => devices.find((d) => d.id === a.held[0])?.machineId;
      for (const d of devices) {
        if (d.revokedAt !== undefined) {
          if (!d.replacedBy) report.problems.push(`device ${d.id} revoked without a replacement`);
          continue;
        }
        const a = current.get(d.id);
        if (!a) report.problems.push(`orphan: live device ${d.id} (${d.kind}) that no agent holds`);
        else if (machineOf(a) !== d.machineId)
          report.problems.push(`${d.id}: machine id differs from ${a.name}'s`);
      }
      for (const a of agents) {
        const live = devices.filter((d) => d.machineId === machineOf(a) && d.revokedAt === undefined);
        if (live.length !== 1 || live[0]!.id !== a.held.at(-1))
          report.problems.push(
            `${a.name}: ${live.length} live devices for its machine id (${live.map((d) => d.id).join(', ')}), holds ${a.held.at(-1)}`,
          );
      }
      const pending = await store.enrol.listReplacements({ state: 'pending' });
      if (pending.length) report.problems.push(`${pending.length} replacement requests left pending`);
      const codes = await store.enrol.listCodes();
      for (const a of agents.filter((x) => x.code)) {
        const spent = codes.filter((cd) => cd.usedByDevice === a.code!.device);
        const byCode = devices.filter(
          (d) => d.byod?.codeHash && spent.some((cd) => cd.codeHash === d.byod?.codeHash),
        );
        if (spent.length !== 1 || byCode.length !== 1)
          report.problems.push(
            `${a.name}: its code is spent by ${spent.length} records, ${byCode.length} devices carry it`,
          );
      }
      report.codesUsed = codes.filter((cd) => cd.usedAt !== undefined).length;
      const unusedOrOther = codes.filter((cd) => cd.usedAt === undefined);
      if (unusedOrOther.length)
        report.problems.push(`${unusedOrOther.length} codes were given out but never spent`);
    } finally {
      await store.close();
    }
  }

  async function checkTimeline(a: Agent): Promise<void> {
    const seen = new Map<string, number>();
    for (const id of new Set(a.held)) {
      const records = await storedTimeline({ dataDir: collector.dataDir, keyFile: collector.keyFile }, id);
      for (const rec of records) {
        const e = v1.Event.decode(rec.event);
        const t = e.activeWindow?.app === 'custodian-diagnostic' ? e.activeWindow.title : undefined;
        if (t) seen.set(t, (seen.get(t) ?? 0) + 1);
      }
    }
    const missing = [...titles].filter((t) => !seen.has(t));
    if (missing.length)
      report.problems.push(`${missing.length} outbox events never delivered, e.g. ${missing[0]}`);
    const dupes = [...seen].filter(([, n]) => n > 1);
    if (dupes.length)
      report.problems.push(`${dupes.length} outbox events stored twice, e.g. ${dupes[0]![0]}`);
  }
}

/** `pnpm soak enrol-crash`: kills of either side during every kind of enrolment. */
export const enrolCrashSoak: SoakCampaign = {
  name: 'enrol-crash',
  defaults: { cycles: 100, maxKillDelayMs: 1500, eventsPerReenrol: 50 },
  async run(p, log) {
    return enrolCrashOutcome(
      await enrolCrashCampaign({
        seed: p.seed,
        cycles: p['cycles']!,
        maxKillDelayMs: p['maxKillDelayMs']!,
        eventsPerReenrol: p['eventsPerReenrol']!,
        log,
      }),
    );
  },
};

export function enrolCrashOutcome(r: EnrolCrashReport): SoakOutcome {
  return {
    title: 'Soak: kills during enrolment (issue 21 §1, school secret, BYOD code, replacement, reinstall)',
    rows: [
      { metric: 'enrolments (cycles)', value: r.cycles, unit: '' },
      { metric: 'of which school secret (new machine)', value: r.byPath.school, unit: '' },
      { metric: 'of which BYOD code (new machine)', value: r.byPath.byod, unit: '' },
      {
        metric: 'of which replacement with proof of the old key (--replace)',
        value: r.byPath.replace,
        unit: '',
      },
      {
        metric: 'of which reinstall without the key (queued, approved, claimed)',
        value: r.byPath.reinstall,
        unit: '',
      },
      { metric: 'collector kill -9 during an enrolment', value: r.collectorKills, unit: '' },
      { metric: 'agent (enrol process) kill -9', value: r.agentKills, unit: '' },
      { metric: 'kills the instant the collector logged its commit', value: r.killsAtCommit, unit: '' },
      { metric: 'enrolments that finished before their kill moment', value: r.finishedBeforeKill, unit: '' },
      { metric: 'enrol commands run again after a kill', value: r.retries, unit: '' },
      { metric: 'retries answered from an attempt already committed (resumed)', value: r.resumed, unit: '' },
      { metric: 'devices in the store at the end (live and replaced)', value: r.devices, unit: '' },
      { metric: 'BYOD codes spent', value: r.codesUsed, unit: '' },
      { metric: 'outbox events across re-enrolments, delivered afterwards', value: r.events, unit: '' },
      {
        metric: 'problems (half-enrolled, orphan, code reused, pending left, outbox changed or lost)',
        value: r.problems.length,
        unit: '',
        target: '0',
      },
    ],
    notes: [
      'Each cycle runs `custodian-agent enrol` as a real process: a new machine with the school secret (30%) or a BYOD code and the agreement (25%), or the long-lived agent re-enrolling with proof of its key (--replace, 25%) or after a reinstall that lost its key (20%: queued, approved by IT through the API, claimed by running enrol again). The collector (50%) or the enrol process (50%) is killed with SIGKILL either after a seeded wait (40%) or the instant the collector logs that it committed the enrolment, plus 0-30 ms (60%); the collector restarts and the same command runs again until enrolled.',
      'The long-lived agent gets diagnostic events in its outbox before each of its re-enrolments: the outbox depth must be the same after the enrolment, and at the end the agent runs until its outbox is empty, every event once in the timelines of the identities it held.',
      "Checked at the end, in the stopped collector's store: every agent's identity connects (Hello, a heartbeat acked); per machine id exactly one live device, the agent's; no live device that no agent holds; every revoked device names its replacement; no replacement request left pending; every code spent exactly once, by the device that enrolled with it.",
      'Not covered: a kill while the approval itself is written (an admin action, retried by the admin), and a torn disk write (the store batch is atomic: LevelDB log or one PostgreSQL transaction).',
    ],
    problems: r.problems,
  };
}
