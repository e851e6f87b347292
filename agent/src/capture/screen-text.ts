// On-screen text (issue 14): OCR of the active window only, on a focus change and then at most
// every capture.screenScanSeconds, and only when the window's image changed (SHA-256 of the crop);
// then only the rows that are new since the last look, with the rows around them (screen-scan.ts).
// The image and the text live only in this function's locals (per window only a hash per pixel
// row is kept): the text is published as a text unit (capture matches it; only a match's context
// leaves the device) and dropped.
import { createHash } from 'node:crypto';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import { rowHashes, stackBands } from '../platform/gray-image.ts';
import { createScreenTextSource, type ScreenTextSource } from '../platform/ocr.ts';
import { decideScan, dueForCheck, NO_SCAN, type ScanState, spent } from './screen-scan.ts';
import type { TextUnitHub } from './text-source.ts';

export interface ScreenTextDeps {
  source?: ScreenTextSource;
  now?: () => number;
}

export class ScreenTextComponent implements AgentComponent {
  readonly name = 'screen-text';
  private readonly ctx: AgentContext;
  private readonly hub: TextUnitHub;
  private readonly deps: ScreenTextDeps;
  private source: ScreenTextSource | undefined;
  private capability: CapabilityStatus = { name: 'screen_text', available: false, reason: 'starting' };
  private state: ScanState = NO_SCAN;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = true;
  private focusKey = '';
  private unsubscribers: (() => void)[] = [];

  constructor(ctx: AgentContext, hub: TextUnitHub, deps: ScreenTextDeps = {}) {
    this.ctx = ctx;
    this.hub = hub;
    this.deps = deps;
  }

  capabilities(): CapabilityStatus[] {
    return [this.capability];
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.source = this.deps.source ?? (await createScreenTextSource());
    this.unsubscribers.push(
      this.ctx.windows.onChange((w) => {
        // A focus change (another app or process), not a title change of the same window: those
        // wait for the periodic scan.
        const key = w ? `${w.app}\n${w.pid}` : '';
        if (key === this.focusKey) return;
        this.focusKey = key;
        if (w) this.scanSoon();
      }),
      this.ctx.policy.onChange(() => {
        void this.probe().then(() => this.schedule());
      }),
    );
    await this.probe();
    this.schedule();
    if (this.ctx.windows.current()) this.scanSoon();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    clearTimeout(this.timer);
    await this.scanning;
  }

  private enabled(): boolean {
    const c = this.ctx.policy.current().capture;
    return !this.stopped && c.enabled && c.screenText;
  }

  private async probe(): Promise<void> {
    const cap: CapabilityStatus = this.enabled()
      ? await this.source!.probe()
      : { name: 'screen_text', available: false, reason: 'turned off by policy' };
    const changed = cap.available !== this.capability.available || cap.reason !== this.capability.reason;
    this.capability = cap;
    if (changed) this.ctx.capabilitiesChanged();
  }

  /** The next periodic scan, screenScanSeconds after the last one began. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.enabled()) return;
    this.timer = setTimeout(
      () => this.scanSoon(),
      this.ctx.policy.current().capture.screenScanSeconds * 1000,
    );
    this.timer.unref();
  }

  private scanSoon(): void {
    if (!this.enabled() || !this.capability.available || this.scanning) return;
    this.schedule();
    this.scanning = this.scan()
      .catch((err: unknown) =>
        this.ctx.log.warn('on-screen text scan failed', { err: (err as Error).message }),
      )
      .finally(() => {
        this.scanning = undefined;
      });
  }

  private async scan(): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    // Not while the screen is locked (the window monitor reports no window then).
    const window = this.ctx.windows.current();
    if (!window) return;
    const c = this.ctx.policy.current().capture;
    const focused = await this.source!.focusedWindow();
    if (!focused || !this.enabled()) return;
    // Looked at less than screenScanSeconds ago (a focus change back to it): nothing to do.
    if (!dueForCheck(this.state, focused.windowId, now, c.screenScanSeconds * 1000)) return;
    const image = await this.source!.windowImage(focused);
    const hash = createHash('sha256').update(image.pixels).digest('hex');
    const d = decideScan(
      this.state,
      { windowId: focused.windowId, hash, rows: rowHashes(image) },
      now,
      c.ocrCpuSecondsPerHour * 1000,
    );
    this.state = d.state;
    if (d.decision !== 'read') {
      this.ctx.log.info('on-screen text not read', { why: d.decision });
      return;
    }
    const part = d.bands ? stackBands(image, d.bands) : image;
    const { text, ms } = await this.source!.read(part);
    this.state = spent(this.state, ms);
    this.ctx.log.info('on-screen text read', {
      ms: Math.round(ms),
      chars: text.length,
      rows: part.height,
      of: image.height,
    });
    const cleaned = text.replace(/\s+/g, ' ').trim();
    if (!cleaned || this.stopped) return;
    this.hub.publish({
      origin: 'screen',
      text: cleaned,
      window: { title: window.title, url: window.url, app: window.app },
      time: now,
    });
  }
}

export function createScreenTextComponent(
  ctx: AgentContext,
  hub: TextUnitHub,
  deps: ScreenTextDeps = {},
): ScreenTextComponent {
  return new ScreenTextComponent(ctx, hub, deps);
}
