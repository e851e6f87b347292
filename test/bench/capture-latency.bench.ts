// End-to-end capture latency: from a window title change on a real X server to the alert stored
// at a real collector (agent process: window sampling, keyword match, screenshot in a child
// process, outbox, blob upload, ingest). The baseline, measured on the same title changes in the
// same run, is the plain ActiveWindow event reaching the collector's timeline: the difference is
// what capture itself costs.
// Statistics: the median (and p95) of FLAGS title changes for the alert and for its baseline,
// the same changes on both sides, after WARMUP untimed changes that warm both paths alike.
// Leaves out: the DSL seeing the alert (console polling/SSE), screenshot encryption at rest
// beyond what ingest does before createdAt, and the default 1 s window sampling (this run
// samples every 200 ms, see the notes).
import type { ChildProcess } from 'node:child_process';
import { type CaptureRig, startCaptureRig } from '../e2e/capture-helpers.ts';
import { median, percentile } from './stats.ts';
import type { BenchResult } from './types.ts';

const FLAGS = 50;
const WARMUP = 3;
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
    for (let i = 0; i < WARMUP + FLAGS; i++) {
      const warm = i < WARMUP;
      const title = `${PHRASES[i % PHRASES.length]} - ${warm ? 'warm-up' : 'result'} ${i + 1} - Google Search`;
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
      const received = await windowReceivedAt(rig, title);
      if (warm) continue;
      if (received === undefined) throw new Error(`no ActiveWindow event for "${title}" at the collector`);
      alertMs.push(alert.createdAt - t0);
      screenshots += alert.screenshotCount;
      windowMs.push(received - t0);
    }
  } finally {
    previous?.kill('SIGKILL');
    await rig.stop();
  }
  alertMs.sort((a, b) => a - b);
  windowMs.sort((a, b) => a - b);
  const p50 = median(alertMs);
  const p95 = percentile(alertMs, 95);
  const w50 = median(windowMs);
  const w95 = percentile(windowMs, 95);
  return {
    title: 'Capture latency: window title change → alert stored at the collector',
    rows: [
      {
        metric: `median (p50) of ${alertMs.length} flags`,
        value: p50,
        unit: 'ms',
        baseline: w50,
        baselineLabel: `ActiveWindow event stored, same ${windowMs.length} title changes, median`,
        ratio: p50 / w50,
      },
      {
        metric: `p95 of ${alertMs.length} flags`,
        value: p95,
        unit: 'ms',
        baseline: w95,
        baselineLabel: `ActiveWindow event stored, same ${windowMs.length} title changes, p95`,
        ratio: p95 / w95,
      },
      {
        metric: `max of ${alertMs.length} flags`,
        value: alertMs[alertMs.length - 1] ?? Number.NaN,
        unit: 'ms',
        baseline: windowMs[windowMs.length - 1] ?? Number.NaN,
        baselineLabel: 'ActiveWindow event stored, max',
      },
    ],
    notes: [
      `Each flag is a new xterm with a distinct should-flag title (so repeat suppression does not apply); ${screenshots} screenshots arrived with ${alertMs.length} alerts. ${WARMUP} more flags before them warmed up both paths and are not counted.`,
      "Times start just before the window is opened and end at the collector's createdAt (alert) / receivedAt (window event); one machine, one clock.",
      'The window monitor samples every 200 ms in this run (policy windowSampleMs); the default is 1 s.',
    ],
  };
}
