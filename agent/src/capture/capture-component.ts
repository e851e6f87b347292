// Flagged-activity capture (issue 6 §2): on every active-window change (and every text unit from
// text-source.ts: browser page text, typed text, tab URLs), match the title and URL
// against the keyword library; at or above the policy's minimum severity take a screenshot (in a
// child process) and emit a FlaggedActivity event. Repeats of the same term in the same window
// within repeatSuppressSeconds give one capture and a count. Screenshots and window text are
// never written to the log. Bulk text (page text, a window of on-screen text) is matched in the
// keyword worker thread, short text on this thread (keyword-worker.ts).
import { normalise } from '@custodian/keywords';
import type { Policy } from '@custodian/policy';
import type {
  ActiveWindowInfo,
  AgentComponent,
  AgentContext,
  CapabilityStatus,
  EventPayload,
} from '../core/contracts.ts';
import { createScreenshotSource, type ScreenshotSource } from '../platform/screenshot.ts';
import { KeywordMatching } from './keyword-worker.ts';
import { RepeatSuppressor, repeatKey } from './repeat-suppressor.ts';
import { maskSecretsInPlace, showMasks } from './secret-mask.ts';
import { flagTextUnit, type TextFlag, unitText } from './text-match.ts';
import type { TextUnit, TextUnitFeed } from './text-source.ts';
import { flagWindow, windowText } from './window-match.ts';

export interface CaptureDeps {
  /** Default: the platform's screenshot source (child process). */
  screenshots?: ScreenshotSource;
  /** Clock for repeat suppression. Default Date.now. */
  now?: () => number;
  /** Pause between the frames of a burst (policy capture.frames > 1). Default 500 ms. */
  frameGapMs?: number;
  /** Pause between the frames of a typed-text burst (policy capture.typedFrames). Default 1 s. */
  typedFrameGapMs?: number;
  /** Text units from other sources (browser extension, OCR, keyboard), matched like windows. */
  textUnits?: TextUnitFeed;
}

type CaptureSettings = Policy['capture'];

/** Text units waiting for capture at most; more are dropped (a page cannot queue unbounded work). */
export const MAX_PENDING_UNITS = 200;

/**
 * The matcher settings for these capture settings. A custom term with nothing matchable in it
 * ("!!!") passes policy validation but cannot be matched: it is left out and named in the log,
 * the rest still apply.
 */
function matcherSettings(c: CaptureSettings, log: AgentContext['log']) {
  const usable = c.customTerms.filter((t, i) => {
    if (normalise(t.term).text !== '') return true;
    log.warn('custom keyword term has no letters or digits; ignored', { index: i });
    return false;
  });
  return { ageBand: c.ageBand, categories: c.categories, customTerms: usable };
}

function matcherSettingsChanged(a: CaptureSettings, b: CaptureSettings): boolean {
  return (
    a.ageBand !== b.ageBand ||
    JSON.stringify(a.categories) !== JSON.stringify(b.categories) ||
    JSON.stringify(a.customTerms) !== JSON.stringify(b.customTerms)
  );
}

export class CaptureComponent implements AgentComponent {
  readonly name = 'capture';
  private readonly ctx: AgentContext;
  private readonly deps: CaptureDeps;
  private screenshots: ScreenshotSource | undefined;
  private capability: CapabilityStatus = { name: 'screenshot', available: false, reason: 'starting' };
  private matcher: KeywordMatching | undefined;
  private readonly repeats = new RepeatSuppressor();
  /** Window changes are handled one at a time, in order (a capture takes a while). */
  private queue: Promise<void> = Promise.resolve();
  /** Text units in `queue` (bounded by MAX_PENDING_UNITS). */
  private pendingUnits = 0;
  private unsubscribers: (() => void)[] = [];
  private stopped = true;

  constructor(ctx: AgentContext, deps: CaptureDeps = {}) {
    this.ctx = ctx;
    this.deps = deps;
  }

  capabilities(): CapabilityStatus[] {
    return [this.capability];
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.screenshots = this.deps.screenshots ?? (await createScreenshotSource());
    this.matcher = new KeywordMatching(
      matcherSettings(this.ctx.policy.current().capture, this.ctx.log),
      this.ctx.log,
    );
    await this.probe();
    this.unsubscribers.push(
      this.ctx.policy.onChange((p, prev) => {
        if (matcherSettingsChanged(p.capture, prev.capture))
          this.matcher?.configure(matcherSettings(p.capture, this.ctx.log));
      }),
      this.ctx.windows.onChange((w) => {
        if (w) this.enqueue(w);
      }),
    );
    if (this.deps.textUnits) this.unsubscribers.push(this.deps.textUnits.onUnit((u) => this.enqueueUnit(u)));
    // A window already open when capture starts counts as a change.
    const current = this.ctx.windows.current();
    if (current) this.enqueue(current);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    await this.queue;
    await this.matcher?.close();
  }

  /** Resolves when every window change seen so far has been handled (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(window: ActiveWindowInfo): void {
    this.queue = this.queue
      .then(() => this.handle(window))
      .catch((err: unknown) => {
        this.ctx.log.error('flagged-activity capture failed', { err: (err as Error).message });
      });
  }

  private enqueueUnit(unit: TextUnit): void {
    if (this.pendingUnits >= MAX_PENDING_UNITS) {
      this.ctx.log.warn('text unit dropped: capture queue full', { origin: unit.origin });
      return;
    }
    this.pendingUnits++;
    this.queue = this.queue
      .then(() => this.handleUnit(unit))
      .finally(() => {
        this.pendingUnits--;
      })
      .catch((err: unknown) => {
        this.ctx.log.error('flagged-activity capture failed', {
          origin: unit.origin,
          err: (err as Error).message,
        });
      });
  }

  private async handleUnit(unit: TextUnit): Promise<void> {
    if (this.stopped) return;
    const settings = this.ctx.policy.current().capture;
    if (!settings.enabled || !this.matcher) return;
    // Typed and on-screen text: secret-looking tokens are masked before the context is cut.
    const masked = unit.origin === 'typed' || unit.origin === 'screen';
    const seen = masked ? { ...unit, text: maskSecretsInPlace(unit.text) } : unit;
    const flag = flagTextUnit(await this.matcher.match(unitText(seen)), seen, settings.minSeverity);
    if (!flag) return;
    await this.record(masked ? { ...flag, context: showMasks(flag.context) } : flag, {
      ...unit.window,
      pid: 0,
    });
  }

  private async probe(): Promise<void> {
    const cap = await this.screenshots!.probe();
    const changed = cap.available !== this.capability.available || cap.reason !== this.capability.reason;
    this.capability = cap;
    if (changed) this.ctx.capabilitiesChanged();
  }

  private async handle(window: ActiveWindowInfo): Promise<void> {
    if (this.stopped) return;
    const settings = this.ctx.policy.current().capture;
    if (!settings.enabled || !this.matcher) return;
    const flag = flagWindow(await this.matcher.match(windowText(window)), window, settings.minSeverity);
    if (flag) await this.record(flag, window);
  }

  /** Repeat suppression, screenshots and the FlaggedActivity event for one match. */
  private async record(flag: TextFlag, window: ActiveWindowInfo): Promise<void> {
    const settings = this.ctx.policy.current().capture;
    const m = flag.match;
    const now = (this.deps.now ?? Date.now)();
    const decision = this.repeats.decide(
      repeatKey(m.term, m.category, window),
      now,
      settings.repeatSuppressSeconds * 1000,
    );
    if (!decision.capture) {
      this.ctx.log.debug('flagged activity repeated, capture suppressed', {
        source: flag.source,
        category: m.category,
        severity: m.severity,
      });
      return;
    }

    // A typed match gets a burst one second apart (what was typed may show a moment later).
    const typed = flag.source === 'typed';
    const { blobIds, unavailableReason } = await this.takeScreenshots(
      typed ? settings.typedFrames : settings.frames,
      typed ? (this.deps.typedFrameGapMs ?? 1_000) : (this.deps.frameGapMs ?? 500),
    );
    const payload: EventPayload = {
      flaggedActivity: {
        category: m.category,
        severity: m.severity,
        matchedTerm: m.term,
        context: flag.context,
        window: { app: window.app, title: window.title, url: window.url, pid: window.pid },
        screenshotBlobIds: blobIds,
        screenshotUnavailableReason: unavailableReason,
        repeatCount: decision.suppressedSince,
        source: flag.source,
        educationalContext: m.educational,
      },
    };
    await this.ctx.events.emit(payload);
    // Category and severity only: titles, terms and images stay out of logs.
    this.ctx.log.info('flagged activity captured', {
      source: flag.source,
      category: m.category,
      severity: m.severity,
      screenshots: blobIds.length,
      screenshotUnavailable: unavailableReason !== '',
    });
  }

  private async takeScreenshots(
    frames: number,
    gapMs: number,
  ): Promise<{ blobIds: string[]; unavailableReason: string }> {
    // The display may have come (user logged in) or gone since the last probe.
    if (!this.capability.available) await this.probe();
    if (!this.capability.available) return { blobIds: [], unavailableReason: this.capability.reason };
    const blobIds: string[] = [];
    for (let i = 0; i < frames; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
      let png: Uint8Array;
      try {
        png = await this.screenshots!.capture();
      } catch (err) {
        const reason = (err as Error).message;
        this.ctx.log.warn('screenshot failed', { reason });
        await this.probe();
        // Frames already taken are still evidence; say why the rest are missing.
        return { blobIds, unavailableReason: reason };
      }
      blobIds.push(await this.ctx.blobs.putBlob(png, 'image/png'));
    }
    return { blobIds, unavailableReason: '' };
  }
}

/** Component factory for agent/src/components.ts: `(ctx) => createCaptureComponent(ctx)`. */
export function createCaptureComponent(ctx: AgentContext, deps: CaptureDeps = {}): CaptureComponent {
  return new CaptureComponent(ctx, deps);
}
