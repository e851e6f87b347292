// End-to-end capture latency: from a window title change on a real X server to the alert stored
// at a real collector (agent process: window sampling, keyword match, screenshot in a child
// process, outbox, blob upload, ingest). The baseline, measured on the same title changes in the
// same run, is the plain ActiveWindow event reaching the collector's timeline: the difference is
// what capture itself costs.
import type { ChildProcess } from 'node:child_process';
import { type CaptureRig, startCaptureRig } from '../e2e/capture-helpers.ts';
import type { BenchResult } from './types.ts';

const FLAGS = 50;
const PHRASES = [
  'how to tie a noose',
  'send nudes',
  'how to make a bomb',
  'pro ana tips',
  'zombie knife for sale',
  'kill the kuffar',
  'buy xanax online',
  'csgo gambling sites',
  'how to hide cuts',
  'go kill yourself',
];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

async function windowReceivedAt(rig: CaptureRig, title: string): Promise<number | undefined> {
  // As the DSL: these titles match the safeguarding library, so nobody else sees them.
  const res = await rig.get(`/api/v1/devices/${rig.enrolled.deviceId}/timeline?kinds=activeWindow&limit=200`);
  if (!res.ok) throw new Error(`timeline: HTTP ${res.status}`);
  const body = (await res.json()) as {
    events: { receivedAt: number; event: { activeWindow?: { title?: string } } }[];
  };
  return body.events.find((e) => e.event.activeWindow?.title === title)?.receivedAt;
}

export async function run(): Promise<BenchResult> {
  const rig = await startCaptureRig();
  const alertMs: number[] = [];
  const windowMs: number[] = [];
  let screenshots = 0;
  let previous: ChildProcess | undefined;
  try {
    for (let i = 0; i < FLAGS; i++) {
      const title = `${PHRASES[i % PHRASES.length]} - result ${i + 1} - Google Search`;
      const t0 = Date.now();
      const win = await rig.x.openWindow(title);
      previous?.kill('SIGKILL'); // keep the screen to one or two windows
      previous = win;
      const deadline = Date.now() + 60_000;
      let alert: { createdAt: number; screenshotCount: number } | undefined;
      while (!alert) {
        alert = (await rig.alerts()).find((a) => a.windowTitle === title);
        if (!alert) {
          if (Date.now() > deadline) throw new Error(`no alert for "${title}" within 60 s`);
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      alertMs.push(alert.createdAt - t0);
      screenshots += alert.screenshotCount;
      const received = await windowReceivedAt(rig, title);
      if (received !== undefined) windowMs.push(received - t0);
    }
  } finally {
    previous?.kill('SIGKILL');
    await rig.stop();
  }
  alertMs.sort((a, b) => a - b);
  windowMs.sort((a, b) => a - b);
  const p50 = percentile(alertMs, 50);
  const p95 = percentile(alertMs, 95);
  const w50 = percentile(windowMs, 50);
  const w95 = percentile(windowMs, 95);
  return {
    title: 'Capture latency: window title change → alert stored at the collector',
    rows: [
      {
        metric: `p50 over ${alertMs.length} flags`,
        value: p50,
        unit: 'ms',
        baseline: w50,
        baselineLabel: 'ActiveWindow event stored, same title changes',
        ratio: p50 / w50,
      },
      {
        metric: `p95 over ${alertMs.length} flags`,
        value: p95,
        unit: 'ms',
        baseline: w95,
        baselineLabel: 'ActiveWindow event stored, same title changes',
        ratio: p95 / w95,
      },
      { metric: 'max', value: alertMs[alertMs.length - 1] ?? Number.NaN, unit: 'ms' },
    ],
    notes: [
      `Each flag is a new xterm with a distinct should-flag title (so repeat suppression does not apply); ${screenshots} screenshots arrived with ${alertMs.length} alerts.`,
      "Times start just before the window is opened and end at the collector's createdAt (alert) / receivedAt (window event); one machine, one clock.",
      'The window monitor samples every 200 ms in this run (policy windowSampleMs); the default is 1 s.',
    ],
  };
}
