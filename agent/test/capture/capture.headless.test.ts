// The capture component without a usable display (a service before anyone logs in, a broken X
// server), and its policy handling. Windows are fed through the real WindowFeedHub.
import { isCustodianError } from '@custodian/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type CaptureComponent, createCaptureComponent } from '../../src/capture/capture-component.ts';
import { X11ScreenshotSource } from '../../src/platform/screenshot.linux.ts';
import { captureInChild } from '../../src/platform/screenshot-process.ts';
import { type CaptureTestContext, createCaptureContext, flagged } from './harness.ts';

const NO_DISPLAY: NodeJS.ProcessEnv = { PATH: process.env['PATH'] };
const BROKEN_DISPLAY: NodeJS.ProcessEnv = { PATH: process.env['PATH'], DISPLAY: ':987' };

let capture: CaptureComponent | undefined;
afterEach(async () => {
  await capture?.stop();
  capture = undefined;
});

async function start(ctx: CaptureTestContext, env = NO_DISPLAY) {
  capture = createCaptureComponent(ctx, { screenshots: new X11ScreenshotSource(env, 10_000) });
  await capture.start();
  return capture;
}

async function show(ctx: CaptureTestContext, title: string, url = '') {
  ctx.hub.publish({ app: 'Chromium', title, url, pid: 1234 });
  await capture!.idle();
}

describe.skipIf(process.platform !== 'linux')('capture without a display', () => {
  it('still reports the match, with the reason the screenshot is missing', async () => {
    const ctx = createCaptureContext();
    await start(ctx);
    expect(capture!.capabilities()).toEqual([
      { name: 'screenshot', available: false, reason: 'no X display' },
    ]);
    expect(ctx.capabilityChanges).toBe(1);
    await show(ctx, 'Chromium', 'https://www.google.com/search?q=how+to+tie+a+noose&hl=en');
    expect(flagged(ctx)).toEqual([
      expect.objectContaining({
        category: 'suicide',
        severity: 5,
        matchedTerm: 'how to tie a noose',
        source: 'url',
        context: 'search: how to tie a noose',
        screenshotBlobIds: [],
        screenshotUnavailableReason: 'no X display',
      }),
    ]);
    expect(ctx.blobStore.size).toBe(0);
  });

  it('names an unreachable X server, and a crashing screenshot stays in its child process', async () => {
    const ctx = createCaptureContext();
    await start(ctx, BROKEN_DISPLAY);
    expect(capture!.capabilities()[0]).toEqual({
      name: 'screenshot',
      available: false,
      reason: 'X display :987 not reachable',
    });
    // screenshot-desktop's unhandled rejection (platform-notes §0.2) kills only the child:
    const err = await captureInChild(BROKEN_DISPLAY, 10_000).catch((e: unknown) => e);
    expect(isCustodianError(err)).toBe(true);
    expect((err as Error).message).toMatch(/^screenshot failed: .*xrandr/s);
    await show(ctx, 'kms - Instagram');
    expect(flagged(ctx)[0]?.screenshotUnavailableReason).toBe('X display :987 not reachable');
  });

  it('follows the policy: enabled, minSeverity, categories, custom terms, changes at run time', async () => {
    const ctx = createCaptureContext({ capture: { minSeverity: 4, repeatSuppressSeconds: 0 } });
    await start(ctx);
    await show(ctx, 'cannabis - Google Search'); // severity 2
    await show(ctx, 'pornhub'); // severity 3
    expect(flagged(ctx)).toEqual([]);
    await show(ctx, 'zombie knife for sale'); // severity 4
    expect(flagged(ctx).map((f) => f.matchedTerm)).toEqual(['zombie knife']);

    ctx.setPolicy({ capture: { categories: ['gambling'], minSeverity: 2 } });
    await show(ctx, 'kms');
    await show(ctx, 'bet365 - Sports Betting');
    expect(flagged(ctx).map((f) => f.category)).toEqual(['weapons', 'gambling']);

    ctx.setPolicy({
      capture: {
        categories: [],
        customTerms: [{ term: 'Mr Jones is a nonce', category: 'bullying', severity: 4 }],
      },
    });
    await show(ctx, 'lol mr jones is a nonce - Instagram');
    expect(flagged(ctx).at(-1)).toMatchObject({
      matchedTerm: 'Mr Jones is a nonce',
      category: 'bullying',
      severity: 4,
    });

    ctx.setPolicy({ capture: { enabled: false } });
    await show(ctx, 'how to kill myself');
    expect(flagged(ctx)).toHaveLength(3);
  });

  it('marks an educational page and keeps its lowered severity', async () => {
    const ctx = createCaptureContext({ capture: { minSeverity: 1 } });
    await start(ctx);
    await show(ctx, 'Knife crime - PSHE lesson plan KS3', 'https://www.bbc.co.uk/bitesize/guides/z123');
    expect(flagged(ctx)[0]).toMatchObject({
      matchedTerm: 'knife crime',
      educationalContext: true,
      severity: 1,
    });
  });

  it('handles the window already open when it starts, and ignores the locked state', async () => {
    const ctx = createCaptureContext();
    ctx.hub.publish({ app: 'xterm', title: 'i want to die', url: '', pid: 1 });
    await start(ctx);
    await capture!.idle();
    expect(flagged(ctx).map((f) => f.matchedTerm)).toEqual(['i want to die']);
    ctx.hub.publish(undefined); // locked / no window
    await capture!.idle();
    expect(flagged(ctx)).toHaveLength(1);
  });
});
