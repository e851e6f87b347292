// HTTP and console under load (issue 21 §4): one real collector with `agents` connected agents
// (protocol clients, each sending a heartbeat every `heartbeatEverySec`, staggered) and
// `consoles` console users holding the live feed (SSE, /api/v1/live, IT accounts, at most 4 feeds
// per account as the collector allows). Measured twice on the same collector, same devices and
// alerts: idle (only the probe device connected, one feed) and under that load: p95 of the device
// list (IT) and of the alert queue (DSL), and the SSE delivery lag (probe event sent → seen on a
// feed). The agents, the feeds and the measuring client all run in this one process, which
// shares the machine's cores with the collector: its own work is part of the lag measured.
import type { IEvent } from '@custodian/protocol';
import { AgentClient, flagged, heartbeat } from '../../collector/test/helpers/agent-client.ts';
import { createStaff } from '../e2e/console-helpers.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { enrolMany } from '../support/enrol-many.ts';
import { type LiveFeed, openLiveFeed } from '../support/live-feed.ts';
import { cpuPercent, procSample } from '../support/proc-stat.ts';
import { rng } from '../support/rng.ts';
import type { SoakCampaign, SoakOutcome } from './types.ts';

export interface ConsoleLoadOptions {
  seed: number;
  agents: number;
  consoles: number;
  heartbeatEverySec: number;
  /** Requests per measured route and probe events per phase. */
  samples: number;
  log?: (line: string) => void;
}

interface Phase {
  devicesP95: number;
  alertsP95: number;
  lagP50: number;
  lagP95: number;
  lagSamples: number;
  collectorCpu: number;
  collectorRssMiB: number;
}

export interface ConsoleLoadReport {
  seed: number;
  agents: number;
  connected: number;
  consoles: number;
  feedsOpen: number;
  idle: Phase;
  loaded: Phase;
  durationMs: number;
  problems: string[];
}

/** Live feeds one account may hold open (the collector's default cap). */
const FEEDS_PER_ACCOUNT = 4;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN;
};

async function signIn(c: CollectorProcess, who: { username: string; password: string }): Promise<string> {
  const res = await fetch(`${c.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  if (!res.ok) throw new Error(`login: HTTP ${res.status}: ${await res.text()}`);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

export async function consoleLoadCampaign(o: ConsoleLoadOptions): Promise<ConsoleLoadReport> {
  const log = o.log ?? (() => undefined);
  const r = rng(o.seed);
  const started = Date.now();
  const collector = await startCollector({ env: { CUSTODIAN_LOG_LEVEL: 'error' } });
  const report: ConsoleLoadReport = {
    seed: o.seed,
    agents: o.agents,
    connected: 0,
    consoles: o.consoles,
    feedsOpen: 0,
    idle: undefined as unknown as Phase,
    loaded: undefined as unknown as Phase,
    durationMs: 0,
    problems: [],
  };
  const clients: AgentClient[] = [];
  const feeds: LiveFeed[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const devices = await enrolMany(collector.url, collector.enrolSecret, o.agents, {
      prefix: 'load',
      tag: o.seed,
    });
    const [probeDevice] = await enrolMany(collector.url, collector.enrolSecret, 1, {
      prefix: 'load-probe',
      tag: o.seed,
    });
    if (!probeDevice) throw new Error('probe device not enrolled');
    const itAccounts = await Promise.all(
      Array.from({ length: Math.ceil(o.consoles / FEEDS_PER_ACCOUNT) }, (_, i) =>
        createStaff(collector, `load-it-${i}`, 'it'),
      ),
    );
    const dsl = await createStaff(collector, 'load-dsl', 'dsl');
    const dslCookie = await signIn(collector, dsl);
    const itCookies: string[] = [];
    for (const a of itAccounts) itCookies.push(await signIn(collector, a));
    log(`console-load: ${o.agents} devices, ${itAccounts.length} IT accounts`);

    // The probe device: a queue of 100 alerts for the DSL, then probe heartbeats for the lag.
    const probe = new AgentClient(collector.wsUrl);
    const probeStream = crypto.randomUUID();
    await probe.hello(probeDevice.deviceId, probeDevice.deviceKey, probeStream);
    let probeSeq = 0;
    const flags: IEvent[] = Array.from({ length: 100 }, () => flagged(++probeSeq, 'knife'));
    await probe.batch(probeStream, flags);
    clients.push(probe);

    const sentAt = new Map<number, number>();
    const lags: number[] = [];
    const onEvent = (e: { deviceId: string; seq: number }) => {
      if (e.deviceId !== probeDevice.deviceId) return;
      const t = sentAt.get(e.seq);
      if (t !== undefined) lags.push(Date.now() - t);
    };
    const timed = async (url: string, cookie: string) => {
      const t0 = performance.now();
      const res = await fetch(`${collector.url}${url}`, { headers: { cookie } });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      return performance.now() - t0;
    };
    const measure = async (): Promise<Phase> => {
      lags.length = 0;
      const s0 = procSample(collector.pid);
      const t0 = Date.now();
      const devicesMs: number[] = [];
      const alertsMs: number[] = [];
      // Warm-up, not counted: the first requests of a phase pay for cold caches.
      for (let i = 0; i < 3; i++) {
        await timed('/api/v1/devices', itCookies[0]!);
        await timed('/api/v1/alerts?limit=50', dslCookie);
      }
      for (let i = 0; i < o.samples; i++) {
        devicesMs.push(await timed('/api/v1/devices', itCookies[0]!));
        alertsMs.push(await timed('/api/v1/alerts?limit=50', dslCookie));
        const seq = ++probeSeq;
        sentAt.set(seq, Date.now());
        probe.send({ batch: { streamId: probeStream, events: [heartbeat(seq)] } });
        await new Promise((res) => setTimeout(res, 100));
      }
      await new Promise((res) => setTimeout(res, 2_000));
      const s1 = procSample(collector.pid);
      return {
        devicesP95: pct(devicesMs, 0.95),
        alertsP95: pct(alertsMs, 0.95),
        lagP50: pct(lags, 0.5),
        lagP95: pct(lags, 0.95),
        lagSamples: lags.length,
        collectorCpu: cpuPercent(s0, s1, Date.now() - t0),
        collectorRssMiB: s1.rssMiB,
      };
    };

    // Idle: one feed, only the probe connected.
    const first = openLiveFeed(collector.url, { cookie: itCookies[0]! }, onEvent);
    feeds.push(first);
    await first.ready;
    report.idle = await measure();
    log(`console-load: idle ${JSON.stringify(report.idle)}`);

    // Load: the agents connect (with retries past the cap on unauthenticated connections) and
    // heartbeat; the other feeds open.
    await Promise.all(
      devices.map(async (d) => {
        for (let attempt = 0; attempt < 12; attempt++) {
          const c = new AgentClient(collector.wsUrl);
          try {
            const stream = crypto.randomUUID();
            await c.hello(d.deviceId, d.deviceKey, stream);
            clients.push(c);
            report.connected++;
            let seq = 0;
            const beat = () => {
              if (c.ws.readyState === c.ws.OPEN)
                c.send({ batch: { streamId: stream, events: [heartbeat(++seq)] } });
              c.messages.length = 0;
            };
            const start = setTimeout(
              () => {
                beat();
                timers.push(setInterval(beat, o.heartbeatEverySec * 1_000));
              },
              r() * o.heartbeatEverySec * 1_000,
            );
            timers.push(start);
            return;
          } catch {
            c.close();
            await new Promise((res) =>
              setTimeout(res, 500 * 2 ** Math.min(attempt, 4) * (0.5 + Math.random())),
            );
          }
        }
      }),
    );
    for (let i = 1; i < o.consoles; i++)
      feeds.push(
        openLiveFeed(collector.url, { cookie: itCookies[Math.floor(i / FEEDS_PER_ACCOUNT)]! }, onEvent),
      );
    const opened = await Promise.allSettled(feeds.map((f) => f.ready));
    report.feedsOpen = opened.filter((x) => x.status === 'fulfilled').length;
    const why = new Set(opened.flatMap((x) => (x.status === 'rejected' ? [String(x.reason)] : [])));
    if (why.size) log(`console-load: feeds refused: ${[...why].join('; ')}`);
    log(`console-load: ${report.connected} agents connected, ${report.feedsOpen} feeds open; measuring`);
    // One heartbeat period so every agent is beating before the measurement.
    await new Promise((res) => setTimeout(res, o.heartbeatEverySec * 1_000));
    report.loaded = await measure();
    log(`console-load: loaded ${JSON.stringify(report.loaded)}`);
    if (report.connected !== o.agents)
      report.problems.push(`${o.agents - report.connected} agents never connected`);
    if (report.feedsOpen !== o.consoles)
      report.problems.push(`${o.consoles - report.feedsOpen} feeds did not open`);
    const dropped = feeds.filter((f) => f.ended()).length;
    if (dropped) report.problems.push(`${dropped} feeds ended during the measurement`);
    if (report.loaded.lagSamples < o.samples * 0.9 * report.feedsOpen)
      report.problems.push(
        `${report.loaded.lagSamples} probe events seen on the feeds, expected ${o.samples} on each of ${report.feedsOpen}`,
      );
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const f of feeds) f.close();
    for (const c of clients) c.close();
    await collector.cleanup();
    report.durationMs = Date.now() - started;
  }
  return report;
}

export const consoleLoadSoak: SoakCampaign = {
  name: 'console-load',
  defaults: { agents: 2_000, consoles: 200, heartbeatEverySec: 30, samples: 40 },
  async run(p, log) {
    const r = await consoleLoadCampaign({
      seed: p.seed,
      agents: p['agents']!,
      consoles: p['consoles']!,
      heartbeatEverySec: p['heartbeatEverySec']!,
      samples: p['samples']!,
      log,
    });
    return consoleLoadOutcome(r);
  },
};

export function consoleLoadOutcome(r: ConsoleLoadReport): SoakOutcome {
  const row = (metric: string, idle: number, loaded: number, unit: string) => [
    { metric: `${metric}, idle collector`, value: idle, unit },
    { metric: `${metric}, under load`, value: loaded, unit },
  ];
  return {
    title: `Soak: HTTP and console under load (issue 21 §4, ${r.connected} agents, ${r.feedsOpen} live feeds)`,
    rows: [
      ...row('device list p95 (IT, GET /api/v1/devices)', r.idle.devicesP95, r.loaded.devicesP95, 'ms'),
      ...row('alert queue p95 (DSL, GET /api/v1/alerts)', r.idle.alertsP95, r.loaded.alertsP95, 'ms'),
      ...row(
        'SSE delivery lag p50 (probe event sent → seen on a feed)',
        r.idle.lagP50,
        r.loaded.lagP50,
        'ms',
      ),
      ...row('SSE delivery lag p95', r.idle.lagP95, r.loaded.lagP95, 'ms'),
      ...row('collector CPU while measuring', r.idle.collectorCpu, r.loaded.collectorCpu, '% of one core'),
      ...row(
        'collector RSS',
        Math.round(r.idle.collectorRssMiB),
        Math.round(r.loaded.collectorRssMiB),
        'MiB',
      ),
      {
        metric: 'problems (agents not connected, feeds not opened or dropped, events missing)',
        value: r.problems.length,
        unit: '',
        target: '0',
      },
    ],
    notes: [
      `The same collector and data in both phases (${r.agents} devices enrolled, 100 alerts): idle = only the probe device connected and one feed; load = ${r.connected} agents heartbeating (protocol clients, staggered) and ${r.feedsOpen} IT live feeds (4 per account, the collector's default cap). Each phase: the same number of sequential requests of each route and as many probe heartbeats, 100 ms apart; lags over every feed.`,
      'Agents, feeds and the measuring client run in one Node process on the same 2 cores as the collector: the harness parsing every feed is part of the lag under load.',
      `Whole campaign ${(r.durationMs / 1000).toFixed(0)} s.`,
    ],
    problems: r.problems,
  };
}
