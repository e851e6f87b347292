// Text units (browser page text, typed text, tab URLs) through the capture component: matched by
// the same matcher, emitted with their source and the tab as the window, and bounded while a
// capture is slow (a page cannot queue unbounded work). A unit-test screenshot source stands in
// for the display (the e2e tests use the real one).
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CaptureComponent,
  createCaptureComponent,
  MAX_PENDING_UNITS,
} from '../../src/capture/capture-component.ts';
import { type TextUnit, TextUnitHub } from '../../src/capture/text-source.ts';
import type { ScreenshotSource } from '../../src/platform/screenshot.ts';
import { createCaptureContext, flagged } from './harness.ts';

let capture: CaptureComponent | undefined;
afterEach(async () => {
  await capture?.stop();
  capture = undefined;
});

const unit = (origin: TextUnit['origin'], text: string, url = 'https://forum.test/t/1'): TextUnit => ({
  origin,
  text,
  window: { title: 'Forum', url, app: 'chromium' },
  time: Date.now(),
});

function gatedScreenshots() {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const source: ScreenshotSource = {
    probe: async () => ({ name: 'screenshot', available: true, reason: '' }),
    capture: async () => {
      await gate;
      return new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    },
  };
  return { source, open: () => open() };
}

describe('capture: text units', () => {
  it('a page unit becomes FlaggedActivity with source page and the tab as the window', async () => {
    const ctx = createCaptureContext();
    const hub = new TextUnitHub(ctx.log);
    const shots = gatedScreenshots();
    shots.open();
    capture = createCaptureComponent(ctx, { screenshots: shots.source, textUnits: hub });
    await capture.start();
    hub.publish(unit('page', 'nobody would notice if I worked out how to tie a noose tonight'));
    hub.publish(unit('typed', 'homework help please'));
    await capture.idle();
    expect(flagged(ctx)).toEqual([
      expect.objectContaining({
        matchedTerm: 'how to tie a noose',
        source: 'page',
        context: 'nobody would notice if I worked out how to tie a noose tonight',
        window: { app: 'chromium', title: 'Forum', url: 'https://forum.test/t/1', pid: 0 },
      }),
    ]);
    expect(flagged(ctx)[0]!.screenshotBlobIds).toHaveLength(1);
  });

  it(`holds at most ${MAX_PENDING_UNITS} units while a capture is slow, and says so in the log`, async () => {
    const ctx = createCaptureContext();
    const hub = new TextUnitHub(ctx.log);
    const shots = gatedScreenshots();
    capture = createCaptureComponent(ctx, { screenshots: shots.source, textUnits: hub });
    await capture.start();
    const extra = 50;
    // Page text: one frame per capture (typed text takes a burst of frames one second apart).
    for (let i = 0; i < MAX_PENDING_UNITS + extra; i++)
      hub.publish(unit('page', 'how to tie a noose', `https://forum.test/t/${i}`));
    const dropped = ctx.logs.filter((l) => l.msg === 'text unit dropped: capture queue full');
    expect(dropped).toHaveLength(extra);
    shots.open();
    await capture.idle();
    // Every accepted unit was captured (each URL is a new window for repeat suppression).
    expect(flagged(ctx)).toHaveLength(MAX_PENDING_UNITS);
    // Room again once the queue has drained.
    hub.publish(unit('page', 'how to tie a noose', 'https://forum.test/t/after'));
    await capture.idle();
    expect(flagged(ctx)).toHaveLength(MAX_PENDING_UNITS + 1);
  });
});
