// Active window (issue 4 §5): sampled at the policy's windowSampleMs, an ActiveWindow event
// only when app, title or URL changed. While the screen is locked the active window does not
// change (platform-notes §2), so a locked screen is recorded as LOCKED_APP, not the last window.
import type { ActiveWindowInfo, AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import type { WindowReading, WindowSource } from '../platform/window.ts';
import type { WindowFeedHub } from './window-feed.ts';

/** `app` of the ActiveWindow event written while the screen is locked. */
export const LOCKED_APP = '(screen locked)';
/** `app` of the ActiveWindow event written when nothing has focus. */
export const NO_WINDOW_APP = '(no window)';
const REPROBE_MS = 60_000;
/**
 * The lock-state probe may spawn a process (X11: xwininfo), so it is asked at most this often.
 * A locker does not change the active window, so the cost of the cache is at most this long
 * during which a background title change under a fresh lock is recorded as a window.
 */
export const LOCK_CHECK_MS = 5_000;

export class WindowMonitor implements AgentComponent {
  readonly name = 'window-monitor';
  private readonly ctx: AgentContext;
  private readonly source: WindowSource;
  private readonly hub: WindowFeedHub;
  private capability: CapabilityStatus = { name: 'active_window', available: false, reason: 'starting' };
  private timer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private last: string | undefined;
  private sourceStarted = false;
  private stopped = false;
  private lockProbeFailed = false;
  private lockedCache: { locked: boolean; at: number } | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(ctx: AgentContext, source: WindowSource, hub: WindowFeedHub) {
    this.ctx = ctx;
    this.source = source;
    this.hub = hub;
  }

  capabilities(): CapabilityStatus[] {
    return [this.capability];
  }

  async start(): Promise<void> {
    // Restartable: the agent stops and starts it when the graphical session changes.
    this.stopped = false;
    this.last = undefined;
    this.lockedCache = undefined;
    await this.probe();
    this.unsubscribe = this.ctx.policy.onChange((p, prev) => {
      if (p.windowSampleMs !== prev.windowSampleMs) this.schedule();
    });
    this.schedule();
  }

  private async probe(): Promise<void> {
    const cap = await this.source.probe();
    const changed = cap.available !== this.capability.available || cap.reason !== this.capability.reason;
    this.capability = cap;
    if (cap.available && !this.sourceStarted) {
      await this.source.start();
      this.sourceStarted = true;
    }
    if (changed) {
      this.ctx.log.info('active window capability', { ...cap });
      this.ctx.capabilitiesChanged();
    }
    if (!cap.available && !this.stopped) {
      // Someone may log in to a desktop later (or the X server may come back).
      this.probeTimer = setTimeout(() => void this.probe(), REPROBE_MS);
      this.probeTimer.unref();
    }
  }

  private schedule(): void {
    clearInterval(this.timer);
    if (this.stopped) return;
    this.timer = setInterval(() => void this.sample(), this.ctx.policy.current().windowSampleMs);
  }

  private sampling = false;

  private async sample(): Promise<void> {
    if (!this.sourceStarted || this.sampling) return;
    this.sampling = true;
    try {
      this.noteHealth();
      const locked = await this.isLocked();
      const reading: WindowReading = locked ? lockedReading() : await this.source.read();
      if (reading.kind === 'unknown') return;
      const window: ActiveWindowInfo =
        reading.kind === 'none' ? { app: NO_WINDOW_APP, title: '', url: '', pid: 0 } : reading.window;
      const key = this.keyOf(reading);
      if (key === this.last) return;
      this.last = key;
      await this.ctx.events.emit({ activeWindow: { ...window } });
      this.hub.publish(reading.kind === 'window' && !locked ? window : undefined);
    } catch (err) {
      this.ctx.log.error('window sample failed', { err });
    } finally {
      this.sampling = false;
    }
  }

  /** A recovered crash of the source shows in the capability report (available, with the note). */
  private noteHealth(): void {
    const note = this.source.health?.();
    if (!note || !this.capability.available || this.capability.reason === note) return;
    this.capability = { ...this.capability, reason: note };
    this.ctx.log.warn('active window source recovered', { note });
    this.ctx.capabilitiesChanged();
  }

  private keyOf(reading: WindowReading): string {
    const w = reading.kind === 'window' ? reading.window : { app: NO_WINDOW_APP, title: '', url: '' };
    return `${w.app}\u0000${w.title}\u0000${w.url}`;
  }

  private async isLocked(): Promise<boolean> {
    const now = Date.now();
    if (this.lockedCache && now - this.lockedCache.at < LOCK_CHECK_MS) return this.lockedCache.locked;
    try {
      const locked = await this.ctx.lockState.isLocked();
      this.lockProbeFailed = false;
      this.lockedCache = { locked, at: now };
      return locked;
    } catch (err) {
      // Unknown lock state: record the window (better than recording nothing), say so once.
      if (!this.lockProbeFailed) this.ctx.log.warn('lock state unknown; recording windows as seen', { err });
      this.lockProbeFailed = true;
      this.lockedCache = { locked: false, at: now };
      return false;
    }
  }

  /** One sample now (tests). */
  sampleNow(): Promise<void> {
    return this.sample();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.probeTimer);
    this.unsubscribe?.();
    if (this.sourceStarted) await this.source.stop();
    this.sourceStarted = false;
  }
}

function lockedReading(): WindowReading {
  return { kind: 'window', window: { app: LOCKED_APP, title: '', url: '', pid: 0 } };
}
