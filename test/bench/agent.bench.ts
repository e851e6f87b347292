// Agent footprint (issue 4): a real agent, enrolled with a real collector, under Xvfb with
// 1 s window sampling, measured in steady state for 60 s next to a bare `node` idling in the
// same run: RSS and CPU% (from /proc), and child processes spawned per minute (the agent
// counts its own spawns when CUSTODIAN_COUNT_SPAWNS=1). Baseline for spawns: get-windows
// polled once a second in this process, counted the same way.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLE_NODE_FLAGS } from '../../agent/src/service/service-spec.ts';
import { agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { startX } from '../support/xvfb.ts';
import type { BenchResult } from './types.ts';

const WARMUP_MS = 15_000;
const MEASURE_MS = 60_000;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** utime+stime of the process, and of its reaped children, in seconds. */
function cpuSeconds(pid: number): { self: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17
  const f = (n: number) => Number(fields[n - 3]);
  return { self: (f(14) + f(15)) / CLK_TCK, children: (f(16) + f(17)) / CLK_TCK };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

interface Spawns {
  total: number;
  byCommand: Record<string, number>;
}

function spawnsOf(dataDir: string): Spawns {
  return (JSON.parse(readFileSync(`${dataDir}/status.json`, 'utf8')) as { spawns: Spawns }).spawns;
}

function perMinute(a: Spawns, b: Spawns, seconds: number): string {
  return Object.entries(b.byCommand)
    .map(([cmd, n]) => [cmd, ((n - (a.byCommand[cmd] ?? 0)) / seconds) * 60] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1])
    .map(([cmd, n]) => `${cmd} ${n.toFixed(1)}`)
    .join(', ');
}

async function getWindowsSpawnsPerMinute(env: NodeJS.ProcessEnv): Promise<number> {
  const { installSpawnCounter } = await import('../../agent/src/service/spawn-counter.ts');
  const counter = installSpawnCounter();
  const count = () => counter().total;
  const saved = process.env['DISPLAY'];
  process.env['DISPLAY'] = env['DISPLAY'];
  const { activeWindow } = await import('get-windows');
  const before = count();
  const samples = 10;
  for (let i = 0; i < samples; i++) {
    await activeWindow().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  process.env['DISPLAY'] = saved;
  return ((count() - before) / samples) * 60;
}

const BUNDLE = fileURLToPath(new URL('../../agent/dist/lib/custodian-agent.mjs', import.meta.url));
const AGENT_DIR = fileURLToPath(new URL('../../agent/', import.meta.url));
const CORE_ENTRY = join(AGENT_DIR, 'dist', 'bench-core', 'core-agent.mjs');

/**
 * For attribution only: the same bundle with just the core components (inventory, window,
 * heartbeat — the first three factories), built into dist/bench-core. The difference to the
 * full bundle is what enforcement and capture add.
 */
async function buildCoreOnly(): Promise<void> {
  const entry = join(AGENT_DIR, 'dist', 'bench-core', 'entry.ts');
  mkdirSync(dirname(entry), { recursive: true });
  writeFileSync(
    entry,
    [
      `import { startAgent } from '${join(AGENT_DIR, 'src/agent.ts')}';`,
      `import { componentFactories } from '${join(AGENT_DIR, 'src/components.ts')}';`,
      `import { createLogger } from '${join(AGENT_DIR, 'src/config/logger.ts')}';`,
      `import { installSpawnCounter } from '${join(AGENT_DIR, 'src/service/spawn-counter.ts')}';`,
      'const countSpawns = installSpawnCounter();',
      'const dataDir = process.argv[process.argv.indexOf("--data-dir") + 1];',
      `const agent = await startAgent({ dataDir, version: 'bench', log: createLogger(), demo: false, enforce: false, factories: componentFactories.slice(0, 3), helperScript: '${BUNDLE}', countSpawns });`,
      "process.once('SIGTERM', () => void agent.stop('SIGTERM'));",
    ].join('\n'),
  );
  const rolldown = createRequire(join(AGENT_DIR, 'package.json')).resolve('rolldown');
  const { build } = (await import(pathToFileURL(rolldown).href)) as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  await build({
    input: entry,
    platform: 'node',
    cwd: AGENT_DIR,
    external: [/^node:/, 'level', 'get-windows', 'screenshot-desktop', 'bufferutil', 'utf-8-validate'],
    output: { dir: dirname(CORE_ENTRY), format: 'esm', entryFileNames: 'core-agent.mjs' },
    logLevel: 'silent',
  });
}

export async function run(): Promise<BenchResult> {
  // What an installed device runs is the bundle; build it fresh (dist/ is not checked in).
  execFileSync(process.execPath, [fileURLToPath(new URL('../../agent/bin/bundle.ts', import.meta.url))], {
    stdio: 'ignore',
  });
  await buildCoreOnly();
  const collector = await startCollector();
  const x = await startX();
  const enrolled = [
    await enrolAgent({ collector }),
    await enrolAgent({ collector }),
    await enrolAgent({ collector }),
  ];
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const agents: Awaited<ReturnType<typeof startAgent>>[] = [];
  try {
    const env = { ...x.env, CUSTODIAN_COUNT_SPAWNS: '1' };
    agents.push(
      await startAgent({
        dataDir: enrolled[0]!.dataDir,
        env,
        entry: BUNDLE,
        nodeArgs: [...BUNDLE_NODE_FLAGS],
      }),
    );
    agents.push(await startAgent({ dataDir: enrolled[1]!.dataDir, env }));
    agents.push(
      await startAgent({
        dataDir: enrolled[2]!.dataDir,
        env,
        entry: CORE_ENTRY,
        nodeArgs: [...BUNDLE_NODE_FLAGS],
      }),
    );
    await x.openWindow('Bench window one');
    await x.openWindow('Bench window two');
    const ids = ['one', 'two'].map((n) =>
      execFileSync('xdotool', ['search', '--name', `^Bench window ${n}$`], {
        env: x.env,
        encoding: 'utf8',
      }).trim(),
    );
    // Light, realistic activity: the user switches window every 5 s.
    let flip = 0;
    const activity = setInterval(() => {
      execFileSync('xdotool', ['windowactivate', ids[flip++ % 2]!], { env: x.env, stdio: 'ignore' });
    }, 5_000);
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const pids = { bundle: agents[0]!.pid, ts: agents[1]!.pid, core: agents[2]!.pid, bare: bare.pid! };
    const cpu0 = {
      bundle: cpuSeconds(pids.bundle),
      ts: cpuSeconds(pids.ts),
      core: cpuSeconds(pids.core),
      bare: cpuSeconds(pids.bare),
    };
    const coreSpawns0 = spawnsOf(enrolled[2]!.dataDir);
    const spawns0 = spawnsOf(enrolled[0]!.dataDir);
    const t0 = Date.now();
    const rss = { bundle: [] as number[], ts: [] as number[], core: [] as number[], bare: [] as number[] };
    while (Date.now() - t0 < MEASURE_MS) {
      rss.bundle.push(rssBytes(pids.bundle));
      rss.core.push(rssBytes(pids.core));
      rss.ts.push(rssBytes(pids.ts));
      rss.bare.push(rssBytes(pids.bare));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const elapsed = (Date.now() - t0) / 1000;
    const cpu1 = {
      bundle: cpuSeconds(pids.bundle),
      ts: cpuSeconds(pids.ts),
      core: cpuSeconds(pids.core),
      bare: cpuSeconds(pids.bare),
    };
    const spawns1 = spawnsOf(enrolled[0]!.dataDir);
    const coreSpawns1 = spawnsOf(enrolled[2]!.dataDir);
    clearInterval(activity);
    const windowEvents = (await agentCli(['status', '--json', '--data-dir', enrolled[0]!.dataDir])).stdout;

    const pct = (a: number, b: number) => ((b - a) / elapsed) * 100;
    const bareCpu = pct(cpu0.bare.self, cpu1.bare.self);
    const mib = (xs: number[]) => median(xs) / 2 ** 20;
    const bareRss = mib(rss.bare);
    const spawnsPerMin = ((spawns1.total - spawns0.total) / elapsed) * 60;
    const getWindowsPerMin = await getWindowsSpawnsPerMinute(x.env);
    const bundleCpu = pct(cpu0.bundle.self, cpu1.bundle.self);
    const bundleChildren = pct(cpu0.bundle.children, cpu1.bundle.children);
    const tsCpu = pct(cpu0.ts.self, cpu1.ts.self);
    const coreCpu = pct(cpu0.core.self, cpu1.core.self);
    const coreSpawnsPerMin = ((coreSpawns1.total - coreSpawns0.total) / elapsed) * 60;
    const base = { baseline: bareRss, baselineLabel: 'bare node idling' };

    return {
      title: 'Agent footprint (steady state, 1 s window sampling, Xvfb, all components)',
      rows: [
        {
          metric: 'agent RSS, bundled JS + --lite-mode (as installed)',
          value: mib(rss.bundle),
          unit: 'MiB',
          ...base,
          ratio: mib(rss.bundle) / bareRss,
          target: '≤ 1.5× bare node',
        },
        {
          metric: 'agent RSS, bundled, core components only (attribution)',
          value: mib(rss.core),
          unit: 'MiB',
          ...base,
          ratio: mib(rss.core) / bareRss,
          target: '≤ 1.5× bare node',
        },
        {
          metric: 'agent RSS, TypeScript sources (dev)',
          value: mib(rss.ts),
          unit: 'MiB',
          ...base,
          ratio: mib(rss.ts) / bareRss,
          target: '≤ 1.5× bare node',
        },
        {
          metric: 'agent CPU, bundled (own)',
          value: bundleCpu,
          unit: '% of one core',
          baseline: bareCpu,
          baselineLabel: 'bare node idling',
          target: '≤ 1%',
        },
        {
          metric: 'agent CPU, bundled, incl. child processes',
          value: bundleCpu + bundleChildren,
          unit: '% of one core',
          baseline: bareCpu,
          baselineLabel: 'bare node idling',
        },
        {
          metric: 'agent CPU, TypeScript sources (own)',
          value: tsCpu,
          unit: '% of one core',
          baseline: bareCpu,
          baselineLabel: 'bare node idling',
          target: '≤ 1%',
        },
        {
          metric: 'agent CPU, bundled, core components only (own)',
          value: coreCpu,
          unit: '% of one core',
          baseline: bareCpu,
          baselineLabel: 'bare node idling',
          target: '≤ 1%',
        },
        {
          metric: 'process spawns, core components only',
          value: coreSpawnsPerMin,
          unit: 'per minute',
          baseline: getWindowsPerMin,
          baselineLabel: 'get-windows polled every 1 s (window only)',
        },
        {
          metric: 'process spawns (all components)',
          value: spawnsPerMin,
          unit: 'per minute',
          baseline: getWindowsPerMin,
          baselineLabel: 'get-windows polled every 1 s (window only)',
        },
      ],
      notes: [
        `Measured over ${elapsed.toFixed(0)} s after ${WARMUP_MS / 1000} s warm-up, all three agents and the bare node at the same time; RSS sampled every second from /proc/PID/status (median), CPU from /proc/PID/stat (utime+stime; children = reaped cutime+cstime).`,
        'All components run (window, inventory, heartbeat, idle lock, USB control, capture); the user switches between two windows every 5 s.',
        `The installed service runs the bundle (pnpm --filter @custodian/agent build) with node ${BUNDLE_NODE_FLAGS.join(' ')}; the TypeScript row is the dev command (pnpm exec node agent/bin/custodian-agent.js).`,
        `Spawns per minute by command (bundled agent): ${perMinute(spawns0, spawns1, elapsed)}; core components only: ${perMinute(coreSpawns0, coreSpawns1, elapsed) || 'none'}.`,
        'Core components only = outbox, link, inventory, window monitor, heartbeat (the first three factories of components.ts), built for this bench into agent/dist/bench-core; the full rows add idle lock, USB control and capture.',
        'Window reading itself is event-driven (xprop -spy): one xprop per focus change, none per sample. The lock-state probe (X11: xwininfo) is asked at most every 5 s by the window monitor; the idle-lock enforcer shares its answers (agent/src/platform/lock-state.ts) and reads idle time (xprintidle) only when the warning could be due (at least every 30 s). USB: udevadm monitor (udev events, and kernel events that stand in where udevd is not running) and findmnt --poll drive the scans; the full lsblk/findmnt rescan runs every 60 s while they are all up, every 5 s otherwise.',
        `Outbox at the end: ${JSON.parse(windowEvents).outboxDepth} events waiting.`,
      ],
    };
  } finally {
    for (const a of agents) await a.stop();
    bare.kill('SIGKILL');
    for (const e of enrolled) await e.cleanup();
    await x.stop();
    await collector.cleanup();
  }
}
