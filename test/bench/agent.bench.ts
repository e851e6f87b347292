// Agent footprint (issue 4, issue 12 §7): real agents, enrolled with a real collector, under Xvfb
// with the user switching windows every 5 s, measured in steady state next to a bare `node`
// idling in the same run.
// Measures: RSS and CPU of each agent's WHOLE process tree (the agent plus its live helpers:
// xprop -spy, udevadm monitor, findmnt --poll, and the short-lived ones — see proc-tree.ts),
// the agent process alone for attribution, and child processes spawned per minute (the agent
// counts its own spawns when CUSTODIAN_COUNT_SPAWNS=1). Baseline for spawns: get-windows called
// in this process, counted the same way.
// Statistics: RSS is the median of one sample per second; CPU and spawns are the median of
// equal windows (each long enough to hold every periodic task: lock probe 5 s, idle read 30 s,
// USB rescan 60 s). The bare node and every agent are sampled at the same moments and warm up
// for the same time; get-windows gets warm-up calls too.
// Leaves out: memory of the X server, the collector and the inventory child (it runs at start,
// inside the warm-up); pages shared between tree members are counted once per process (RSS
// sums are an upper bound); CPU of a helper's own short-lived children reaped by the helper.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { rewriteBuiltinImports } from '../../agent/bin/builtin-imports.ts';
import { BUNDLE_NODE_FLAGS } from '../../agent/src/service/service-spec.ts';
import { agentCli, enrolAgent, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { startX } from '../support/xvfb.ts';
import {
  ownCpuSeconds,
  persistentMembers,
  sampleTree,
  type TreeSample,
  treeCpuSeconds,
  treeDistinctBytes,
  treeRss,
} from './proc-tree.ts';
import { median } from './stats.ts';
import type { BenchResult } from './types.ts';

const WARMUP_MS = 20_000;
/** CPU and spawn windows: each holds one of every periodic task (the slowest is the 60 s USB rescan). */
const WINDOW_MS = 60_000;
const WINDOWS = 5;
const GET_WINDOWS_WARMUP = 3;
const GET_WINDOWS_CALLS = 15;
/** Every this many RSS samples, the tree's distinct pages too (reading pagemap takes ~35 ms a tree). */
const DISTINCT_EVERY = 10;

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

/** Spawns of one get-windows call (median of GET_WINDOWS_CALLS after warm-up), × 60 for a 1 s poll. */
async function getWindowsSpawnsPerMinute(env: NodeJS.ProcessEnv): Promise<number> {
  const { installSpawnCounter } = await import('../../agent/src/service/spawn-counter.ts');
  const counter = installSpawnCounter();
  const saved = process.env['DISPLAY'];
  process.env['DISPLAY'] = env['DISPLAY'];
  const { activeWindow } = await import('get-windows');
  const perCall: number[] = [];
  for (let i = 0; i < GET_WINDOWS_WARMUP + GET_WINDOWS_CALLS; i++) {
    const before = counter().total;
    await activeWindow().catch(() => undefined);
    if (i >= GET_WINDOWS_WARMUP) perCall.push(counter().total - before);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  process.env['DISPLAY'] = saved;
  return median(perCall) * 60;
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
    // As agent/bin/bundle.ts builds the installed bundle.
    plugins: [{ name: 'builtin-modules-without-namespaces', renderChunk: rewriteBuiltinImports }],
    output: {
      dir: dirname(CORE_ENTRY),
      format: 'esm',
      entryFileNames: 'core-agent.mjs',
      comments: false,
      charset: 'ascii',
    },
    logLevel: 'silent',
  });
}

type Who = 'bundle' | 'ts' | 'core' | 'bare';
const WHO: readonly Who[] = ['bundle', 'ts', 'core', 'bare'];

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
    // Warm-up, the same for every side: the agents and the bare node run side by side throughout.
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const pids: Record<Who, number> = {
      bundle: agents[0]!.pid,
      ts: agents[1]!.pid,
      core: agents[2]!.pid,
      bare: bare.pid!,
    };
    const sampleAll = () =>
      Object.fromEntries(WHO.map((w) => [w, sampleTree(pids[w])])) as Record<Who, TreeSample>;
    const rss: Record<Who, number[]> = { bundle: [], ts: [], core: [], bare: [] };
    const ownRss: Record<Who, number[]> = { bundle: [], ts: [], core: [], bare: [] };
    const treeCpu: Record<Who, number[]> = { bundle: [], ts: [], core: [], bare: [] };
    const ownCpu: Record<Who, number[]> = { bundle: [], ts: [], core: [], bare: [] };
    const spawnRate = { bundle: [] as number[], core: [] as number[] };
    /** Whole tree with each physical page once (bundled agent), and RSS per helper command. */
    const distinct: number[] = [];
    const byComm = new Map<string, number[]>();
    let samples = 0;
    const first = sampleAll();
    const spawns0 = spawnsOf(enrolled[0]!.dataDir);
    const coreSpawns0 = spawnsOf(enrolled[2]!.dataDir);
    let windowStart = first;
    let spawnsAt = { bundle: spawns0, core: coreSpawns0 };
    let last = first;
    for (let w = 0; w < WINDOWS; w++) {
      const t0 = Date.now();
      while (Date.now() - t0 < WINDOW_MS) {
        await new Promise((r) => setTimeout(r, 1_000));
        last = sampleAll();
        for (const who of WHO) {
          rss[who].push(treeRss(last[who]));
          ownRss[who].push(last[who].root.rssBytes);
        }
        const comms = new Map<string, number>();
        for (const m of last.bundle.members.values())
          comms.set(m.comm, (comms.get(m.comm) ?? 0) + m.rssBytes);
        for (const [c, b] of comms) byComm.set(c, [...(byComm.get(c) ?? []), b]);
        if (samples++ % DISTINCT_EVERY === 0) {
          const d = treeDistinctBytes(last.bundle);
          if (d !== undefined) distinct.push(d);
        }
      }
      for (const who of WHO) {
        const secs = (last[who].at - windowStart[who].at) / 1000;
        treeCpu[who].push((treeCpuSeconds(windowStart[who], last[who]) / secs) * 100);
        ownCpu[who].push((ownCpuSeconds(windowStart[who], last[who]) / secs) * 100);
      }
      const secs = (last.bundle.at - windowStart.bundle.at) / 1000;
      const now = { bundle: spawnsOf(enrolled[0]!.dataDir), core: spawnsOf(enrolled[2]!.dataDir) };
      spawnRate.bundle.push(((now.bundle.total - spawnsAt.bundle.total) / secs) * 60);
      spawnRate.core.push(((now.core.total - spawnsAt.core.total) / secs) * 60);
      spawnsAt = now;
      windowStart = last;
    }
    clearInterval(activity);
    const elapsed = (last.bundle.at - first.bundle.at) / 1000;
    const windowEvents = (await agentCli(['status', '--json', '--data-dir', enrolled[0]!.dataDir])).stdout;
    const getWindowsPerMin = await getWindowsSpawnsPerMinute(x.env);

    const mib = (xs: number[]) => median(xs) / 2 ** 20;
    const n = rss.bare.length;
    const rssBase = { baseline: mib(rss.bare), baselineLabel: `bare node idling, median of ${n}` };
    const cpuBase = {
      baseline: median(treeCpu.bare),
      baselineLabel: `bare node idling, median of ${WINDOWS} windows`,
    };
    const rssRow = (metric: string, xs: number[], target?: string) => ({
      metric: `${metric} (median of ${xs.length} samples)`,
      value: mib(xs),
      unit: 'MiB',
      ...rssBase,
      ratio: mib(xs) / rssBase.baseline,
      ...(target ? { target } : {}),
    });
    const cpuRow = (metric: string, xs: number[], target?: string) => ({
      metric: `${metric} (median of ${xs.length} × ${WINDOW_MS / 1000} s)`,
      value: median(xs),
      unit: '% of one core',
      ...cpuBase,
      ...(target ? { target } : {}),
    });
    const spawnBase = {
      baseline: getWindowsPerMin,
      baselineLabel: `get-windows polled every 1 s (window only; median of ${GET_WINDOWS_CALLS} calls × 60)`,
    };

    return {
      title: 'Agent footprint (steady state, Xvfb, whole process tree)',
      rows: [
        rssRow(
          'agent RSS, whole tree, bundled JS + --lite-mode (as installed)',
          rss.bundle,
          '≤ 1.5× bare node',
        ),
        rssRow('agent RSS, agent process alone, bundled (attribution)', ownRss.bundle),
        ...(distinct.length > 0
          ? [rssRow('agent memory, whole tree, bundled, each resident page once (attribution)', distinct)]
          : []),
        rssRow('agent RSS, whole tree, bundled, core components only (attribution)', rss.core),
        rssRow('agent RSS, whole tree, TypeScript sources (dev)', rss.ts),
        cpuRow('agent CPU, whole tree, bundled (as installed)', treeCpu.bundle, '≤ 1%'),
        cpuRow('agent CPU, agent process alone, bundled (attribution)', ownCpu.bundle),
        cpuRow('agent CPU, whole tree, bundled, core components only', treeCpu.core),
        cpuRow('agent CPU, whole tree, TypeScript sources (dev)', treeCpu.ts),
        {
          metric: `process spawns, all components (median of ${WINDOWS} × ${WINDOW_MS / 1000} s)`,
          value: median(spawnRate.bundle),
          unit: 'per minute',
          ...spawnBase,
        },
        {
          metric: `process spawns, core components only (median of ${WINDOWS} × ${WINDOW_MS / 1000} s)`,
          value: median(spawnRate.core),
          unit: 'per minute',
          ...spawnBase,
        },
      ],
      notes: [
        `Whole tree = the agent and every live descendant, found through /proc/PID/task/*/children at each 1 s sample; RSS is summed (VmRSS per process: pages shared between them count once per process, an upper bound), CPU is utime+stime of live members plus the cutime+cstime of those the agent reaped (test/bench/proc-tree.ts). Earlier runs counted the agent process alone (+ reaped children for CPU), which left out the long-running helpers.`,
        `Each resident page once = the distinct page frames of the tree's members (/proc/PID/pagemap, as root), every ${DISTINCT_EVERY}th sample: a page of the node binary or libc mapped by the agent and a helper counts once, unlike the RSS sum.`,
        `RSS by helper command (bundled agent, median over the samples it ran in; a sum when several run): ${[
          ...byComm,
        ]
          .filter(([, xs]) => xs.length >= samples / 2)
          .map(([c, xs]) => `${c === 'MainThread' ? 'node (keyboard helper)' : c} ${mib(xs).toFixed(1)} MiB`)
          .join(', ')}.`,
        `Long-running helpers held through the whole measurement: bundled ${persistentMembers(first.bundle, last.bundle) || 'none'}; core only ${persistentMembers(first.core, last.core) || 'none'}.`,
        `Measured for ${elapsed.toFixed(0)} s after ${WARMUP_MS / 1000} s warm-up; the three agents and the bare node run side by side and are sampled at the same moments. Window CPU figures in order (bundled whole tree, % of a core): ${treeCpu.bundle.map((v) => v.toFixed(2)).join(', ')}; bare node: ${treeCpu.bare.map((v) => v.toFixed(2)).join(', ')}.`,
        'All components run (window, inventory, heartbeat, idle lock, USB control, capture); the user switches between two windows every 5 s.',
        `The installed service runs the bundle (pnpm --filter @custodian/agent build) with node ${BUNDLE_NODE_FLAGS.join(' ')}; the TypeScript row is the dev command (pnpm exec node agent/bin/custodian-agent.js).`,
        `Spawns per minute by command over the whole run (bundled agent): ${perMinute(spawns0, spawnsAt.bundle, elapsed)}; core components only: ${perMinute(coreSpawns0, spawnsAt.core, elapsed) || 'none'}.`,
        'Core components only = outbox, link, inventory, window monitor, heartbeat (the first three factories of components.ts), built for this bench into agent/dist/bench-core; the full rows add idle lock, USB control and capture.',
        'Window reading is event-driven (xprop -spy): one xprop per focus change, none per sample. The lock-state probe (X11: xwininfo) is asked at most every 5 s; idle time (xprintidle) is read only when the warning could be due (at least every 30 s). USB: one udevadm monitor (udev and kernel events) and findmnt --poll drive the scans; the full rescan runs every 60 s while they are up.',
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
