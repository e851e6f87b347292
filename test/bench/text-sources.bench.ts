// Footprint of the text sources (issue 14): the installed agent (bundle, --lite-mode) with typed
// and on-screen text on, next to the same agent with both off and a bare `node` idling, all in the
// same run on one Xvfb. The user types 200 characters a minute and changes window every 10 s;
// OCR runs at the default interval. Figures: agent RSS, the keyboard helper's RSS, CPU of the
// agent plus its children (reaped OCR/import children and the live keyboard helper), OCR
// runs per hour and CPU-seconds per run.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUNDLE_NODE_FLAGS } from '../../agent/src/service/service-spec.ts';
import { type AgentProcess, enrolAgent, startAgent } from '../support/agent-process.ts';
import { startCollector } from '../support/collector-process.ts';
import { startX } from '../support/xvfb.ts';
import { distinctBytes } from './proc-tree.ts';
import type { BenchResult } from './types.ts';

const WARMUP_MS = 20_000;
const MEASURE_MS = 150_000;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const BUNDLE = fileURLToPath(new URL('../../agent/dist/lib/custodian-agent.mjs', import.meta.url));

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** utime+stime of the process and of its reaped children, seconds. */
function cpu(pid: number): { self: number; children: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i - 3]);
  return { self: (n(14) + n(15)) / CLK_TCK, children: (n(16) + n(17)) / CLK_TCK };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** The keyboard helper below an agent (setpriv execs node keyboard-child). */
function helperPid(agentPid: number): number | undefined {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m && Number(m[2]) === agentPid && m[3]!.includes('keyboard-child')) return Number(m[1]);
  }
  return undefined;
}

/** OCR runs logged by the agent from `from` on: their duration (ms, the child's wall time). */
function ocrRuns(agent: AgentProcess, from: number): number[] {
  return [
    ...agent
      .logs()
      .slice(from)
      .matchAll(/"msg":"on-screen text read"[^\n]*?"ms":(\d+)/g),
  ].map((m) => Number(m[1]));
}

export async function run(): Promise<BenchResult> {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../agent/bin/bundle.ts', import.meta.url))], {
    stdio: 'ignore',
  });
  const collector = await startCollector();
  const x = await startX();
  const on = await enrolAgent({ collector });
  const off = await enrolAgent({ collector });
  const put = await fetch(`${collector.url}/api/v1/devices/${off.deviceId}/policy`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      policy: { capture: { typedText: false, screenText: false } },
      reason: 'bench: text sources off',
    }),
  });
  if (!put.ok) throw new Error(`policy PUT: HTTP ${put.status}`);
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const agents: AgentProcess[] = [];
  let activity: NodeJS.Timeout | undefined;
  try {
    for (const e of [on, off])
      agents.push(
        await startAgent({ dataDir: e.dataDir, env: x.env, entry: BUNDLE, nodeArgs: [...BUNDLE_NODE_FLAGS] }),
      );
    const [agentOn, agentOff] = agents as [AgentProcess, AgentProcess];
    // Two windows with a screenful of ordinary text each (what OCR reads), the pupil types into them.
    const page = Array.from(
      { length: 18 },
      (_, i) => `line ${i + 1}: the quick brown fox jumps over the lazy dog`,
    ).join('\\n');
    for (const n of ['one', 'two'])
      await x.openWindow(`Bench text ${n}`, {
        command: ['sh', '-c', `printf '${page}\\n'; exec sleep 3600`],
      });
    const ids = ['one', 'two'].map((n) =>
      execFileSync('xdotool', ['search', '--name', `^Bench text ${n}$`], {
        env: x.env,
        encoding: 'utf8',
      }).trim(),
    );
    // 200 characters a minute: 10 every 3 s; a window change every 10 s.
    let tick = 0;
    activity = setInterval(() => {
      tick++;
      if (tick % 10 === 0)
        execFileSync('xdotool', ['windowactivate', ids[(tick / 10) % 2]!], { env: x.env, stdio: 'ignore' });
      if (tick % 3 === 0)
        execFileSync('xdotool', ['type', '--delay', '30', 'hello you '], { env: x.env, stdio: 'ignore' });
    }, 1_000);
    await new Promise((r) => setTimeout(r, WARMUP_MS));

    const helper = helperPid(agentOn.pid);
    if (!helper) throw new Error('the keyboard helper of the agent is not running');
    const logFrom = agentOn.logs().length;
    const c0 = { on: cpu(agentOn.pid), off: cpu(agentOff.pid), bare: cpu(bare.pid!), helper: cpu(helper) };
    const rss = { on: [] as number[], off: [] as number[], bare: [] as number[], helper: [] as number[] };
    /** Pages of the helper that the agent does not map too (the node binary, libc: shared), every 10 s. */
    const helperOwn: number[] = [];
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < MEASURE_MS; i++) {
      if (i % 10 === 0) {
        const both = distinctBytes([agentOn.pid, helper]);
        const agentAlone = distinctBytes([agentOn.pid]);
        if (both !== undefined && agentAlone !== undefined) helperOwn.push(both - agentAlone);
      }
      rss.on.push(rssBytes(agentOn.pid));
      rss.off.push(rssBytes(agentOff.pid));
      rss.bare.push(rssBytes(bare.pid!));
      rss.helper.push(rssBytes(helper));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const elapsed = (Date.now() - t0) / 1000;
    const c1 = { on: cpu(agentOn.pid), off: cpu(agentOff.pid), bare: cpu(bare.pid!), helper: cpu(helper) };
    clearInterval(activity);
    activity = undefined;
    const runs = ocrRuns(agentOn, logFrom);
    const ocrCpu0 = c0.on.children;
    const ocrCpu1 = c1.on.children;

    const pct = (secs: number) => (secs / elapsed) * 100;
    const mib = (xs: number[]) => median(xs) / 2 ** 20;
    const bareRss = mib(rss.bare);
    const bareCpu = pct(c1.bare.self - c0.bare.self);
    const onOwn = pct(c1.on.self - c0.on.self);
    const onAll = pct(
      c1.on.self - c0.on.self + (c1.on.children - c0.on.children) + (c1.helper.self - c0.helper.self),
    );
    const offAll = pct(c1.off.self - c0.off.self + (c1.off.children - c0.off.children));
    const bareBase = { baseline: bareRss, baselineLabel: 'bare node idling' };
    return {
      title: 'Text sources footprint (typed + on-screen text on, installed bundle, Xvfb)',
      rows: [
        {
          metric: 'agent RSS, all text sources on',
          value: mib(rss.on),
          unit: 'MiB',
          ...bareBase,
          ratio: mib(rss.on) / bareRss,
          target: '≤ 1.5× bare node',
        },
        {
          metric: 'agent RSS, text sources off (today)',
          value: mib(rss.off),
          unit: 'MiB',
          ...bareBase,
          ratio: mib(rss.off) / bareRss,
        },
        {
          metric: 'keyboard helper RSS (separate process, as the user)',
          value: mib(rss.helper),
          unit: 'MiB',
          ...bareBase,
          ratio: mib(rss.helper) / bareRss,
        },
        ...(helperOwn.length > 0
          ? [
              {
                metric: 'keyboard helper, pages not shared with the agent (each page once)',
                value: mib(helperOwn),
                unit: 'MiB',
                ...bareBase,
                ratio: mib(helperOwn) / bareRss,
              },
            ]
          : []),
        {
          metric: 'agent CPU, sources on (own)',
          value: onOwn,
          unit: '% of one core',
          baseline: bareCpu,
          baselineLabel: 'bare node idling',
        },
        {
          metric: 'agent CPU, sources on, incl. children (OCR, import, keyboard helper)',
          value: onAll,
          unit: '% of one core',
          baseline: offAll,
          baselineLabel: 'same agent, text sources off, incl. children',
          target: '≤ 1%',
        },
        {
          metric: 'OCR runs',
          value: (runs.length / elapsed) * 3600,
          unit: 'per hour',
        },
        {
          metric: 'OCR CPU per run (reaped children of the agent / runs)',
          value: runs.length ? (ocrCpu1 - ocrCpu0) / runs.length : Number.NaN,
          unit: 'CPU-s',
          baseline: runs.length ? runs.reduce((a, b) => a + b, 0) / runs.length / 1000 : Number.NaN,
          baselineLabel: 'wall time of the tesseract child, as the hourly budget counts it',
        },
      ],
      notes: [
        `Measured over ${elapsed.toFixed(0)} s after ${WARMUP_MS / 1000} s warm-up; both agents and the bare node at the same time on one Xvfb (1024×768) with openbox; RSS median of 1 s samples from /proc, CPU from /proc/PID/stat (children = reaped cutime+cstime; the keyboard helper is alive, its own utime+stime is added).`,
        `Activity: "hello you " typed every 3 s (200 characters a minute) into the focused xterm, focus switched between two xterms showing 18 lines of text every 10 s; OCR at the default screenScanSeconds (60); ${runs.length} OCR runs in the window (run times ${runs.join(', ') || 'none'} ms).`,
        'The "incl. children" CPU of the agent with sources on also holds the window crop (import) per look at a window (the focused window itself is read over the agent’s own X connection, no child); the baseline is the same bundle with capture.typedText and capture.screenText off.',
        'The keyboard helper is a separate Node process (uiohook-napi) running as the session user; its RSS is not part of the agent RSS row. Most of its RSS is the node binary and libraries the agent maps too (the same physical pages): "pages not shared with the agent" is what it adds, from the page frame numbers in /proc/PID/pagemap (median of one reading every 10 s).',
      ],
    };
  } finally {
    if (activity) clearInterval(activity);
    for (const a of agents) await a.stop();
    bare.kill('SIGKILL');
    await on.cleanup();
    await off.cleanup();
    await x.stop();
    await collector.cleanup();
  }
}
