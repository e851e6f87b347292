// Flagged-activity capture end to end (issue 6 "Done when"): a real collector process, a real
// agent process on a real X server (Xvfb + openbox). A window with a should-flag title gives an
// alert at the collector whose screenshot (encrypted at rest, decrypted by the DSL endpoint) is a
// PNG that shows the window; a look-alike gives nothing; the same title coming back gives one alert.
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { type CaptureRig, startCaptureRig } from './capture-helpers.ts';

const tools = allInstalled(['Xvfb', 'openbox', 'xterm', 'xdotool', 'xprop', 'xrandr', 'import']);

let rig: CaptureRig | undefined;
afterAll(async () => {
  await rig?.stop();
});

describe.skipIf(!tools)('capture: window title → alert with screenshot at the collector', () => {
  it('alerts on a should-flag title with a decryptable PNG, ignores look-alikes, does not repeat', async () => {
    rig = await startCaptureRig();
    const r = rig;
    const flaggedTitle = 'how to tie a noose - Google Search';
    await r.x.openWindow(flaggedTitle);
    const first = await r.withAgentLog(
      waitFor(
        async () => (await r.alerts()).find((a) => a.windowTitle === flaggedTitle && a.screenshotCount > 0),
        'alert for the should-flag window',
        60_000,
        100,
      ),
    );
    expect(first).toMatchObject({
      category: 'suicide',
      severity: 5,
      term: 'how to tie a noose',
      screenshotCount: 1,
    });

    // The screenshot, through the safeguarding endpoint: a PNG of this X screen showing the xterm.
    // The alert is opened with the event; its screenshot is uploaded after it: wait until stored.
    const detail = await waitFor(
      async () => {
        const d = (await (await r.get(`/api/v1/alerts/${first.id}`)).json()) as {
          screenshots: { blobId: string; url: string | null }[];
        };
        return d.screenshots.every((s) => s.url !== null) ? d : undefined;
      },
      'the alert screenshot stored',
      60_000,
      100,
    );
    expect(detail.screenshots).toHaveLength(1);
    const shot = await r.get(detail.screenshots[0]!.url!);
    expect(shot.status).toBe(200);
    expect(shot.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(await shot.arrayBuffer()));
    expect([png.width, png.height]).toEqual([1024, 768]);
    const px = (x: number, y: number) => {
      const i = (y * png.width + x) * 4;
      return [png.data[i], png.data[i + 1], png.data[i + 2]].join(',');
    };
    expect(px(200, 150)).toBe('255,255,255'); // inside the xterm
    expect(px(1000, 740)).toBe('0,0,0'); // Xvfb's bare root
    // Without a credential the screenshot is refused.
    const anonymous = await fetch(`${r.collector.url}${detail.screenshots[0]!.url!}`);
    expect([401, 403]).toContain(anonymous.status);

    // Look-alikes and identity words, then the flagged title again (twice, with other windows between),
    // then a different should-flag title as a marker: capture handles windows in order, so once the
    // marker's alert is there, anything the earlier windows would have raised is there too.
    await r.x.openWindow('Scunthorpe vs Essex - cocktail therapist analysis');
    await r.x.openWindow('LGBT history month assembly - autism support group');
    await r.x.openWindow(flaggedTitle);
    await r.x.openWindow('Google Classroom - Year 8 Maths');
    await r.x.openWindow(flaggedTitle);
    const marker = 'send nudes - Snapchat';
    await r.x.openWindow(marker);
    await r.withAgentLog(
      waitFor(
        async () => (await r.alerts()).find((a) => a.windowTitle === marker),
        'alert for the marker window',
        60_000,
        100,
      ),
    );

    const all = await r.alerts();
    expect(all.map((a) => a.windowTitle).sort()).toEqual([flaggedTitle, marker].sort());
  });
});
