// Installers (issue 17): the size of every release artefact, and the agent as installed — the
// single executable (packaging/) against the bundle under `node --lite-mode`, the same run, the
// same collector and X server: start time (spawn → its agentStarted event stored at the collector)
// and steady RSS. Reads dist/release/ (`pnpm package`), building it when it is missing.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_NODE_FLAGS } from '../../agent/src/service/service-spec.ts';
import { buildRelease, ROOT, VERSION } from '../../packaging/src/build.ts';
import { AGENT_EXEC_ARGV } from '../../packaging/src/sea.ts';
import { timeline } from '../e2e/agent-harness.ts';
import { linuxBuild } from '../e2e/package-build.ts';
import { type AgentProcess, enrolAgent, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { startX } from '../support/xvfb.ts';
import type { BenchResult, BenchRow } from './types.ts';

const BUNDLE = fileURLToPath(new URL('../../agent/dist/lib/custodian-agent.mjs', import.meta.url));
const RUNS = 3;
const WARMUP_MS = 15_000;
const MEASURE_MS = 45_000;
const MiB = 2 ** 20;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function sizeRows(): Promise<BenchRow[]> {
  const rel = join(ROOT, 'dist', 'release');
  if (!existsSync(rel)) {
    const work = mkdtempSync(join(tmpdir(), 'custodian-bench-package-'));
    try {
      await buildRelease({ releaseDir: rel, work, compression: 'gzip', log: () => {} });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const rows: BenchRow[] = [];
  for (const e of readdirSync(rel, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(rel, e.name);
    if (e.isFile() && /\.(deb|msi)$/.test(e.name))
      rows.push({ metric: `size: ${e.name}`, value: statSync(p).size / MiB, unit: 'MiB' });
    if (e.isDirectory() && e.name.startsWith(`custodian-agent-${VERSION}-`)) {
      const exe = readdirSync(p).find((f) => f.startsWith('custodian-agent'))!;
      rows.push({ metric: `size: ${e.name}/${exe}`, value: statSync(join(p, exe)).size / MiB, unit: 'MiB' });
    }
  }
  return rows;
}

export async function run(): Promise<BenchResult> {
  const sizes = await sizeRows();
  execFileSync(process.execPath, [fileURLToPath(new URL('../../agent/bin/bundle.ts', import.meta.url))], {
    stdio: 'ignore',
  });
  const build = await linuxBuild();
  const collector = await startCollector();
  const x = await startX();
  const kinds = {
    executable: { entry: build.agentExecutable, nodeArgs: [] as string[] },
    bundle: { entry: BUNDLE, nodeArgs: [...BUNDLE_NODE_FLAGS] },
  };
  const enrolled = {
    executable: await enrolAgent({ collector }),
    bundle: await enrolAgent({ collector }),
  };
  const starts: Record<keyof typeof kinds, number[]> = { executable: [], bundle: [] };
  const launch = (k: keyof typeof kinds): Promise<AgentProcess> =>
    k === 'executable'
      ? startAgent({ dataDir: enrolled[k].dataDir, env: x.env, exe: kinds[k].entry })
      : startAgent({
          dataDir: enrolled[k].dataDir,
          env: x.env,
          entry: kinds[k].entry,
          nodeArgs: kinds[k].nodeArgs,
        });
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const k of ['executable', 'bundle'] as const) {
        const before = (await timeline(collector, enrolled[k].deviceId, ['agentStarted'])).length;
        const t0 = Date.now();
        const a = await launch(k);
        for (;;) {
          const t = await timeline(collector, enrolled[k].deviceId, ['agentStarted']);
          if (t.length > before) {
            starts[k].push(Math.max(...t.map((e) => e.receivedAt)) - t0);
            break;
          }
          if (Date.now() - t0 > 60_000) throw new Error(`${k} did not start:\n${a.logs()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        await a.stop();
      }
    }
    const agents = { executable: await launch('executable'), bundle: await launch('bundle') };
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const rss: Record<keyof typeof kinds, number[]> = { executable: [], bundle: [] };
    const end = Date.now() + MEASURE_MS;
    while (Date.now() < end) {
      for (const k of ['executable', 'bundle'] as const) rss[k].push(rssBytes(agents[k].pid));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await agents.executable.stop();
    await agents.bundle.stop();
    const startExe = median(starts.executable);
    const startBundle = median(starts.bundle);
    const rssExe = median(rss.executable) / MiB;
    const rssBundle = median(rss.bundle) / MiB;
    return {
      title: 'Installers: artefact sizes, the agent executable vs the bundle (issue 17)',
      rows: [
        ...sizes,
        {
          metric: 'agent start → agentStarted stored at the collector, single executable',
          value: startExe,
          unit: 'ms',
          baseline: startBundle,
          baselineLabel: 'bundle, node --lite-mode',
          ratio: startExe / startBundle,
        },
        {
          metric: 'agent steady RSS, single executable (installed .deb)',
          value: rssExe,
          unit: 'MiB',
          baseline: rssBundle,
          baselineLabel: 'bundle, node --lite-mode',
          ratio: rssExe / rssBundle,
        },
      ],
      notes: [
        `Sizes from dist/release/ (pnpm package, gzip .debs, unsigned Windows files); the executables are the official Node ${process.versions.node === '24.11.1' ? '' : '24.11.1 '}binaries from npm with the blob injected (Linux stripped).`,
        `Start: median of ${RUNS} alternating starts each, spawn to the agentStarted event's receivedAt at the collector (one machine, one clock); a start includes loading the outbox and connecting.`,
        `RSS: both agents at once, all components, Xvfb, median of /proc/PID/status VmRSS sampled every second for ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up.`,
        `The executable runs with V8 flags baked into its blob (packaging/src/sea.ts AGENT_EXEC_ARGV: ${AGENT_EXEC_ARGV.join(' ')}), not --lite-mode, which implies jitless and so no WebAssembly (the executable also enrols, and fetch needs wasm).`,
      ],
    };
  } finally {
    await enrolled.executable.cleanup();
    await enrolled.bundle.cleanup();
    await x.stop();
    await collector.cleanup();
  }
}
