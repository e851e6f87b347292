// Typed and on-screen text end to end (issue 14): a real collector process, a real agent process
// as root on a real X server (Xvfb + openbox). `xdotool type` into an xterm gives one `typed`
// alert with a 3-frame burst; look-alikes give nothing; a secret typed before the matched words is
// masked; the agent's data dir, logs and the collector's store hold nothing else that was typed.
// Killing the agent mid-burst leaves no process of its behind. On an X server without RECORD,
// typed text is "unavailable" with the reason while the rest runs, and an xterm whose harmless
// title hides a should-flag body gives a `screen` alert; an unchanged window is not OCR'd again.
// On a gb layout (set with setxkbmap before the agent starts) Shift+3 reaches the alert as £; the
// layout changed to es while the agent runs is followed, and its dead acute + e reaches it as é; on
// gb,fr with the second layout locked as a panel switcher does, fr's keys reach it as fr, and after
// the layout's Alt+Shift toggle the same keys reach it as gb.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { storedTimeline } from '../support/collector-store.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { lockGroup, pressChord, pressKeycodes } from '../support/xkb-keys.ts';
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
  'xset',
  'setxkbmap',
  'xkbcomp',
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

/** xdotool key names for plain lower-case text and spaces. */
const keyNames = (s: string) => [...s].map((c) => (c === ' ' ? 'space' : c));

function setxkbmap(env: NodeJS.ProcessEnv, args: string[]): void {
  const res = spawnSync('setxkbmap', args, { env, encoding: 'utf8', timeout: 30_000 });
  if (res.status !== 0) throw new Error(`setxkbmap ${args.join(' ')}: ${res.stderr}`);
}

/** Waits until the agent reported this window as the active one (keys typed before would go elsewhere). */
async function activeWindow(r: CaptureRig, title: string): Promise<void> {
  await waitFor(
    async () =>
      (await timeline(r.collector, r.enrolled.deviceId, ['activeWindow'])).some(
        (i) => i.event.activeWindow?.title === title,
      ),
    `${title} as the active window`,
    30_000,
  );
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
    await activeWindow(r, 'chat with Sam');

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

  it('non-US layouts: £ typed on gb; setxkbmap es while running, a dead acute typed é; gb,fr switched to fr by a group lock, back by Alt+Shift', async () => {
    const r = await startCaptureRig({
      // One frame per typed match: this test is about the characters, not the burst.
      policy: { capture: { screenText: false, typedFrames: 1 } },
      // Layouts set while openbox holds the display (Xvfb resets its keymap when its last client leaves).
      beforeAgent: async (x) => setxkbmap(x.env, ['-layout', 'gb']),
    });
    rigs.push(r);
    await waitFor(
      async () => ((await capability(r, 'typed_text'))?.reason === 'keyboard layout gb' ? true : undefined),
      'typed_text with the gb layout',
      30_000,
    );
    await r.x.openWindow('chat with Sam');
    await activeWindow(r, 'chat with Sam');
    // Key names, as a pupil presses them: on gb `sterling` is Shift+3 (on us that key gives #).
    xdotool(r, [
      'key',
      '--delay',
      '20',
      ...keyNames('can i get '),
      'sterling',
      '2',
      '0',
      ...keyNames(' of weed'),
    ]);
    xdotool(r, ['key', 'Return']);
    const pound = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.category === 'drugs'),
      'the £ line alert',
      60_000,
    );
    expect(pound).toMatchObject({ term: 'Buying a quantity of drugs', context: 'can i get £20 of weed' });

    // The layout changes under the running agent; a focus change (or the 30 s check) reads it again.
    setxkbmap(r.x.env, ['-layout', 'es']);
    await r.x.openWindow('chat with Alex');
    await activeWindow(r, 'chat with Alex');
    await waitFor(
      async () => ((await capability(r, 'typed_text'))?.reason === 'keyboard layout es' ? true : undefined),
      'typed_text with the es layout',
      30_000,
    );
    // es: dead_acute is the key right of ñ; then e. Without dead keys this would read "muerete".
    xdotool(r, ['key', '--delay', '20', 'm', 'u', 'dead_acute', 'e', ...keyNames('rete')]);
    xdotool(r, ['key', 'Return']);
    const acute = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.category === 'bullying'),
      'the dead-key line alert',
      60_000,
    );
    expect(acute).toMatchObject({ term: 'muerete', windowTitle: 'chat with Alex', context: 'muérete' });

    // Two layouts in one keymap, the second chosen the way a panel's layout menu does it (a group
    // lock, no key): only the X server's state, which the keyboard helper reports, says so. The keys
    // go in by keycode through XTEST (xdotool re-locks the group around each key it types).
    setxkbmap(r.x.env, ['-layout', 'gb,fr', '-option', 'grp:alt_shift_toggle']);
    await r.x.openWindow('chat with Kim');
    await activeWindow(r, 'chat with Kim');
    await waitFor(
      async () =>
        (await capability(r, 'typed_text'))?.reason === 'keyboard layout gb,fr' ? true : undefined,
      'typed_text with the gb,fr layouts',
      30_000,
    );
    await lockGroup(r.x.env, 1);
    // fr (AZERTY) keys <AC10> <AD07> <AE02> <AD04> <AD03> <AD05> <AD03>: "muérete"; on gb ";u2rete".
    await pressKeycodes(r.x.env, [47, 30, 11, 27, 26, 28, 26]);
    xdotool(r, ['key', 'Return']);
    const groups = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.windowTitle === 'chat with Kim'),
      'the second-layout line alert',
      60_000,
    );
    expect(groups).toMatchObject({ term: 'muerete', context: 'muérete' });

    // The layout's own toggle (Alt+Shift) back to gb: the same keys now type gb (on fr: "i zqnt to die").
    await pressChord(r.x.env, [64, 50]);
    await pressKeycodes(r.x.env, [31, 65, 25, 38, 57, 28, 65, 28, 32, 65, 40, 31, 26]);
    xdotool(r, ['key', 'Return']);
    const toggled = await waitFor(
      async () => (await r.alerts()).find((a) => a.source === 'typed' && a.category === 'suicide'),
      'the line typed after the toggle',
      60_000,
    );
    expect(toggled).toMatchObject({ windowTitle: 'chat with Kim', context: 'i want to die' });
  }, 180_000);

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
