// Typed and on-screen text end to end (issue 14): a real collector process, a real agent process
// as root on a real X server (Xvfb + openbox). `xdotool type` into an xterm gives one `typed`
// alert with a 3-frame burst; look-alikes give nothing; a secret typed before the matched words is
// masked; the agent's data dir, logs and the collector's store hold nothing else that was typed.
// Killing the agent mid-burst leaves no process of its behind. On an X server without RECORD,
// typed text is "unavailable" with the reason while the rest runs, and an xterm whose harmless
// title hides a should-flag body gives a `screen` alert; an unchanged window is not OCR'd again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { storedTimeline } from '../support/collector-store.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { timeline } from './agent-harness.ts';
import { type CaptureRig, startCaptureRig } from './capture-helpers.ts';

const tools = allInstalled([
  'Xvfb',
  'openbox',
  'xterm',
  'xdotool',
  'xprop',
  'xrandr',
  'import',
  'xdpyinfo',
  'xmodmap',
  'setxkbmap',
  'xwininfo',
  'tesseract',
]);

const rigs: CaptureRig[] = [];
afterAll(async () => {
  for (const r of rigs) await r.stop();
});

interface Cap {
  name: string;
  available?: boolean;
  reason: string;
}
async function capability(r: CaptureRig, name: string): Promise<Cap | undefined> {
  const st = (await r.agent.status()) as { capabilities?: Cap[] };
  return st.capabilities?.find((c) => c.name === name);
}

/** Every file under dir, as bytes decoded latin1 (finds ASCII text in any file). */
function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .map((p) => ({ path: p, text: readFileSync(p).toString('latin1') }));
}

/** Pids of every process below `pid` (from /proc). */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const out = spawnSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  const rows = out
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), cmd: m[3]! }));
  const found: { pid: number; cmd: string }[] = [];
  const walk = (p: number) => {
    for (const r of rows.filter((x) => x.ppid === p)) {
      found.push({ pid: r.pid, cmd: r.cmd });
      walk(r.pid);
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Types a line and presses Enter (a real Return key; xdotool types "\n" on a spare keycode). */
function typeLine(r: CaptureRig, line: string): void {
  xdotool(r, ['type', '--delay', '20', line]);
  xdotool(r, ['key', 'Return']);
}

function xdotool(r: CaptureRig, args: string[]): void {
  const res = spawnSync('xdotool', args, { env: r.x.env, encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) throw new Error(`xdotool ${args[0]}: ${res.stderr}`);
}

describe.skipIf(!tools)('capture: typed and on-screen text → alerts at the collector', () => {
  it('typed: one alert with a 3-frame burst, look-alikes none, secrets masked, nothing else kept; kill -9 mid-burst leaves no process', async () => {
    const r = await startCaptureRig({
      // OCR off: the xterm below shows nothing, but this test is about the keyboard.
      policy: { capture: { screenText: false } },
      agentEnv: { CUSTODIAN_LOG_LEVEL: 'debug' },
    });
    rigs.push(r);
    const cap = await waitFor(
      async () => ((await capability(r, 'typed_text'))?.available ? capability(r, 'typed_text') : undefined),
      'typed_text available',
      30_000,
    );
    expect(cap?.reason).toBe('keyboard layout us');
    await r.x.openWindow('chat with Sam');
    // The window monitor must have the xterm as the focused window before the keys go in.
    await waitFor(
      async () =>
        (await timeline(r.collector, r.enrolled.deviceId, ['activeWindow'])).some(
          (i) => i.event.activeWindow?.title === 'chat with Sam',
        ),
      'the xterm as the active window',
      30_000,
    );

    const harmless = 'zebra quartz lantern 4417 crossing';
    const secret = 'Tr0ub4dor&3xQ';
    typeLine(r, harmless);
    typeLine(r, 'Scunthorpe vs Essex, a cocktail therapist analysis');
    xdotool(r, ['type', '--delay', '20', `pw ${secret} ok i want to kill myselg`]);
    xdotool(r, ['key', 'BackSpace']);
    typeLine(r, 'f tonight');

    const typed = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.screenshotCount === 3),
      'typed alert with a 3-frame burst',
      60_000,
    );
    expect(typed).toMatchObject({
      category: 'suicide',
      severity: 5,
      // The library's rule for a stated time or plan (keywords v2) reports its description.
      term: 'Suicide with a time or plan',
      windowTitle: 'chat with Sam',
      context: 'pw [masked] ok i want to kill myself tonight',
    });
    expect((await r.alerts()).filter((a) => a.source === 'typed')).toHaveLength(1);

    // The burst: three PNGs of this screen, each showing the xterm.
    // The frames are uploaded after the alert opens: wait until all three are stored.
    const detail = await waitFor(
      async () => {
        const d = (await (await r.get(`/api/v1/alerts/${typed.id}`)).json()) as {
          screenshots: { url: string | null }[];
        };
        return d.screenshots.every((s) => s.url !== null) ? d : undefined;
      },
      'the burst stored',
      60_000,
    );
    expect(detail.screenshots).toHaveLength(3);
    for (const s of detail.screenshots) {
      const png = PNG.sync.read(Buffer.from(await (await r.get(s.url!)).arrayBuffer()));
      expect([png.width, png.height]).toEqual([1024, 768]);
      const i = (150 * png.width + 200) * 4;
      expect([png.data[i], png.data[i + 1], png.data[i + 2]]).toEqual([255, 255, 255]); // inside the xterm
    }

    // A marker: once its alert is there, everything typed before it has been matched.
    typeLine(r, 'nobody would miss me');
    const marker = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.term === 'nobody would miss me'),
      'marker alert',
      60_000,
    );
    expect(marker.context).toBe('nobody would miss me');
    expect((await r.alerts()).map((a) => a.term).sort()).toEqual([
      'Suicide with a time or plan',
      'nobody would miss me',
    ]);

    // Kill -9 mid-burst: a third should-flag line, killed while its frames are being taken.
    typeLine(r, 'i am going to end my life');
    const during = await waitFor(
      async () => {
        const d = descendants(r.agent.pid);
        return d.some((p) => p.cmd.includes('screenshot-child')) ? d : undefined;
      },
      'a burst screenshot child',
      30_000,
      20,
    );
    expect(during.some((p) => p.cmd.includes('keyboard-child'))).toBe(true);
    await r.agent.kill9();
    await waitFor(
      async () => during.every((p) => !alive(p.pid)),
      'every child of the killed agent gone',
      20_000,
    );

    // Nothing typed outside a match's context is kept: the data dir, the agent's log, the store.
    const agentFiles = filesUnder(r.agent.dataDir);
    const logs = r.agent.logs();
    await r.collector.kill9();
    // Each record with its event's protobuf bytes as text (strings are stored as UTF-8 in them).
    const records = (
      await storedTimeline(
        { dataDir: r.collector.dataDir, keyFile: r.collector.keyFile },
        r.enrolled.deviceId,
      )
    )
      .map(
        (rec) =>
          JSON.stringify({ ...rec, event: null }) + Buffer.from(rec.event as Uint8Array).toString('latin1'),
      )
      .join('\n');
    // The search finds what is there: the context.
    expect(records.includes('pw [masked] ok i want to kill myself tonight')).toBe(true);
    expect(agentFiles.some((f) => f.text.includes('ok i want to kill myself'))).toBe(true); // the outbox
    for (const needle of [harmless, 'zebra', secret, 'Tr0ub4dor', 'Scunthorpe', 'cocktail']) {
      expect(
        agentFiles.filter((f) => f.text.includes(needle)).map((f) => f.path),
        needle,
      ).toEqual([]);
      expect(logs.includes(needle), `${needle} in the agent log`).toBe(false);
      expect(records.includes(needle), `${needle} in the collector store`).toBe(false);
    }
    expect(logs).not.toContain('kill myself');
  }, 240_000);

  it('no RECORD: typed text unavailable with the reason, the rest runs; on-screen text alerts once per image, a new line is read alone', async () => {
    const r = await startCaptureRig({
      x: { xvfbArgs: ['-extension', 'RECORD'] },
      policy: { capture: { screenScanSeconds: 10 } },
    });
    rigs.push(r);
    const typedCap = await waitFor(
      async () => {
        const c = await capability(r, 'typed_text');
        return c && c.reason !== 'starting' ? c : undefined;
      },
      'typed_text reported',
      30_000,
    );
    expect(typedCap).toMatchObject({
      reason: 'the X server has no RECORD extension (needed to read key events)',
    });
    expect(typedCap.available).toBeFalsy();

    // The rest keeps running: the screenshot and window capabilities, and OCR of the active window.
    const body = 'nobody would miss me if i was gone';
    const later = 'i want to kill myself';
    // The second line appears when the test says so (a file), after the first has been read, five
    // lines lower (beyond the rows read above a new line, so its alert is not the first one's).
    const go = join(mkdtempSync(join(tmpdir(), 'custodian-ocr-')), 'go');
    await r.x.openWindow('notes', {
      xtermArgs: ['-fa', 'DejaVu Sans Mono', '-fs', '16'],
      command: [
        'sh',
        '-c',
        `printf '%s\\n' '${body}'; while [ ! -e '${go}' ]; do sleep 0.2; done; printf '\\n\\n\\n\\n\\n%s\\n' '${later}'; exec sleep 3600`,
      ],
    });
    const screen = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'screen'),
      'screen alert',
      90_000,
    );
    // The library's rule for this intent (keywords v2) reports its description as the term.
    expect(screen).toMatchObject({
      category: 'suicide',
      term: 'Belief nobody would care if they died',
      windowTitle: 'notes',
    });
    expect(screen.context).toContain('nobody would miss me');
    expect(screen.screenshotCount).toBe(1);
    expect((await capability(r, 'active_window'))?.available).toBe(true);
    expect((await capability(r, 'screenshot'))?.available).toBe(true);
    expect((await capability(r, 'screen_text'))?.available).toBe(true);

    // The next periodic scan (10 s) finds the same image: not read again.
    await r.agent.waitForLog(/"msg":"on-screen text not read".*"why":"unchanged"/, 40_000);
    const reads = (r.agent.logs().match(/"msg":"on-screen text read"/g) ?? []).length;
    expect(reads).toBe(1);
    expect((await r.alerts()).filter((a) => a.source === 'screen')).toHaveLength(1);

    // A new line below it: only the new rows (and the rows around them) are read, and matched.
    writeFileSync(go, '');
    const second = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'screen' && a.context.includes('kill myself')),
      'screen alert for the new line',
      60_000,
    );
    expect(second).toMatchObject({ category: 'suicide', windowTitle: 'notes' });
    const partial = [...r.agent.logs().matchAll(/"msg":"on-screen text read".*"rows":(\d+),"of":(\d+)/g)];
    expect(partial).toHaveLength(2);
    const [, rows, of] = partial[1]!.map(Number);
    expect(rows).toBeLessThan(of! / 2);
    rmSync(dirname(go), { recursive: true, force: true });
  }, 180_000);
});
