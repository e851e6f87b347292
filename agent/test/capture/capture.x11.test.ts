// The capture component on a real X server (Xvfb + openbox): real xterm windows, the real window
// monitor (xprop), real screenshots (screenshot-desktop + ImageMagick in a child process),
// decoded with pngjs and checked pixel by pixel.
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { allInstalled } from '../../../test/support/tools.ts';
import { startX, type XSession } from '../../../test/support/xvfb.ts';
import { type CaptureComponent, createCaptureComponent } from '../../src/capture/capture-component.ts';
import { WindowMonitor } from '../../src/monitors/window-monitor.ts';
import { X11ScreenshotSource } from '../../src/platform/screenshot.linux.ts';
import { X11WindowSource } from '../../src/platform/window.linux.ts';
import { waitUntil } from '../support/wait.ts';
import { type CaptureTestContext, createCaptureContext, flagged } from './harness.ts';

const haveTools = allInstalled(['Xvfb', 'openbox', 'xterm', 'xdotool', 'xprop', 'xrandr', 'import']);

let x: XSession | undefined;
let monitor: WindowMonitor | undefined;
let capture: CaptureComponent | undefined;
afterEach(async () => {
  await capture?.stop();
  capture = undefined;
  await monitor?.stop();
  monitor = undefined;
  await x?.stop();
  x = undefined;
});

async function setup(policy: Parameters<typeof createCaptureContext>[0] = {}, clock?: () => number) {
  x = await startX({ width: 1024, height: 768 });
  const ctx = createCaptureContext({ windowSampleMs: 150, ...policy });
  monitor = new WindowMonitor(ctx, new X11WindowSource(ctx.log, x.env), ctx.hub);
  capture = createCaptureComponent(ctx, {
    screenshots: new X11ScreenshotSource(x.env, 20_000),
    frameGapMs: 100,
    ...(clock ? { now: clock } : {}),
  });
  await capture.start();
  await monitor.start();
  ctx.recordPublished();
  return ctx;
}

/** Opens a window and waits until capture has handled the change to it. */
async function show(ctx: CaptureTestContext, title: string): Promise<void> {
  const before = ctx.published.length;
  await x!.openWindow(title);
  await waitUntil(
    () => ctx.published.slice(before).some((w) => w?.title === title),
    `window "${title}" published`,
  );
  await capture!.idle();
}

describe.skipIf(!haveTools)('flagged-activity capture on X11 (Xvfb)', () => {
  it('captures a should-flag window: event, PNG burst that shows the window, nothing sensitive logged', async () => {
    const ctx = await setup({ capture: { frames: 2 } });
    expect(capture!.capabilities()).toEqual([{ name: 'screenshot', available: true, reason: '' }]);
    const title = 'how to kill myself - Google Search';
    await show(ctx, title);

    const events = flagged(ctx);
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    expect(ev).toMatchObject({
      category: 'suicide',
      severity: 5,
      matchedTerm: 'how to kill myself',
      context: title,
      source: 'title',
      educationalContext: false,
      repeatCount: 0,
      screenshotUnavailableReason: '',
    });
    expect(ev.window).toMatchObject({ title, app: 'XTerm' });
    expect(ev.screenshotBlobIds).toHaveLength(2);

    for (const id of ev.screenshotBlobIds!) {
      const blob = ctx.blobStore.get(id)!;
      expect(blob.contentType).toBe('image/png');
      const png = PNG.sync.read(Buffer.from(blob.data));
      expect([png.width, png.height]).toEqual([1024, 768]);
      const px = (x0: number, y0: number) => {
        const i = (y0 * png.width + x0) * 4;
        return [png.data[i], png.data[i + 1], png.data[i + 2]].join(',');
      };
      // The xterm (opened at +50+50, 80x20 characters) is white inside; Xvfb's bare root is black.
      expect(px(200, 150)).toBe('255,255,255');
      expect(px(1000, 740)).toBe('0,0,0');
      const colours = new Set<string>();
      for (let y0 = 0; y0 < png.height; y0 += 8)
        for (let x0 = 0; x0 < png.width; x0 += 8) colours.add(px(x0, y0));
      expect(colours.size).toBeGreaterThan(1);
    }

    const logged = JSON.stringify(ctx.logs);
    expect(logged).not.toContain('kill myself');
    expect(logged).not.toContain('iVBOR'); // base64 PNG
    expect(ctx.logs.some((l) => l.msg === 'flagged activity captured')).toBe(true);
  });

  it('a look-alike window produces nothing', async () => {
    const ctx = await setup();
    await show(ctx, 'Scunthorpe vs Essex - cocktail therapist analysis - Sussex grapes');
    await show(ctx, 'LGBT history month assembly - Islam RE homework');
    expect(flagged(ctx)).toEqual([]);
    expect(ctx.emitted.filter((e) => e.activeWindow).length).toBeGreaterThanOrEqual(2);
  });

  it('the same window coming back gives one capture; the repeat count travels on the next one', async () => {
    let now = 1_000_000;
    const ctx = await setup({ capture: { repeatSuppressSeconds: 600 } }, () => now);
    const title = 'send nudes - Snapchat';
    await show(ctx, title);
    await show(ctx, 'Google Classroom - Year 8 Maths');
    await show(ctx, title);
    await show(ctx, 'Google Classroom - Year 8 Maths');
    await show(ctx, title);
    expect(flagged(ctx)).toHaveLength(1);
    expect(ctx.emitted.filter((e) => e.activeWindow?.title === title)).toHaveLength(3);

    now += 601_000; // past repeatSuppressSeconds
    await show(ctx, 'Google Classroom - Year 8 Maths');
    await show(ctx, title);
    const events = flagged(ctx);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ matchedTerm: 'send nudes', category: 'grooming', repeatCount: 2 });
    expect(events[1]!.screenshotBlobIds).toHaveLength(1);
  });
});
