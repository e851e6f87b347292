// Typed text (issue 14): the thin shell around typed-buffer.ts. Key events come from the platform
// keyboard source (a helper running as the session's user); the line being typed lives in this
// process's memory only, for the focused window only, and is handed to the text-unit hub when it
// ends (Enter, Tab, focus change, idle), then forgotten. Never written to disk or to the log.
// Credential prompts, lock screens and browsers whose extension is connected (it sees the page and
// leaves password fields out, which a keyboard hook cannot) are skipped. The layout is read at
// start and read again when the keymap changes (setxkbmap, a layout switcher loading another): the
// keyboard source says so when it can (X11: XKB events in the helper, which also reports the
// server's locked group and Caps Lock), otherwise its settings are compared on focus changes and
// every `layoutCheckMs`.
import type { ActiveWindowInfo, AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import { createKeyboardSource, type KeyboardLayout, type KeyboardSource } from '../platform/keyboard.ts';
import type { KeyEvent } from '../platform/keyboard-frames.ts';
import { isCredentialWindow } from './credential-window.ts';
import { INITIAL_KEYS, translateKey, withServerLocks } from './key-translate.ts';
import type { TextUnitHub } from './text-source.ts';
import {
  decideIdle,
  decideKey,
  EMPTY_TYPED,
  endLine,
  type TypedDecision,
  type TypedState,
} from './typed-buffer.ts';

export interface TypedTextDeps {
  keyboard?: KeyboardSource;
  /** Browsers (as the native host names them) whose extension is connected now. */
  extensionBrowsers?: () => string[];
  /** A line ends after this long without a key. Default 5 s. */
  idleMs?: number;
  /** After the helper died: start again after this long, doubling per failure in a row up to 10 min. Default 10 s. */
  retryMs?: number;
  /** How often the layout settings are checked for a change (also on focus changes, at most every 5 s). Default 30 s. */
  layoutCheckMs?: number;
}

/** Focus changes check the layout at most this often. */
const LAYOUT_CHECK_MIN_MS = 5_000;

export class TypedTextComponent implements AgentComponent {
  readonly name = 'typed-text';
  private readonly ctx: AgentContext;
  private readonly hub: TextUnitHub;
  private readonly deps: TypedTextDeps;
  private keyboard: KeyboardSource | undefined;
  private capability: CapabilityStatus = { name: 'typed_text', available: false, reason: 'starting' };
  private state: TypedState = EMPTY_TYPED;
  private layout: KeyboardLayout | undefined;
  /** The window the current line is being typed into (undefined: none, or locked). */
  private window: ActiveWindowInfo | undefined;
  private running = false;
  /** Helper failures in a row (reset when it starts). */
  private failures = 0;
  private stopped = true;
  private timers: NodeJS.Timeout[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private unsubscribers: (() => void)[] = [];
  private layoutCheckedAt = 0;
  private layoutChecking = false;
  /** The source reports lock state and keymap changes itself: no polling. */
  private serverEvents = false;

  constructor(ctx: AgentContext, hub: TextUnitHub, deps: TypedTextDeps = {}) {
    this.ctx = ctx;
    this.hub = hub;
    this.deps = deps;
  }

  capabilities(): CapabilityStatus[] {
    return [this.capability];
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.keyboard = this.deps.keyboard ?? (await createKeyboardSource(this.ctx.log));
    this.window = this.ctx.windows.current();
    this.unsubscribers.push(
      this.ctx.windows.onChange((w) => {
        // Focus change: the line belonged to the previous window. The screen locked (no window):
        // dropped unmatched, it may hold an unlock password typed before the lock was seen.
        if (w) this.finish();
        else this.state = { ...EMPTY_TYPED, keys: { ...this.state.keys, pending: [] } };
        this.window = w;
        if (Date.now() - this.layoutCheckedAt >= LAYOUT_CHECK_MIN_MS) void this.checkLayout();
      }),
      this.ctx.policy.onChange(() => void this.apply()),
    );
    const idle = setInterval(
      () => this.take(decideIdle(this.state, Date.now(), this.deps.idleMs ?? 5_000)),
      1_000,
    );
    idle.unref();
    const layoutCheck = setInterval(() => void this.checkLayout(), this.deps.layoutCheckMs ?? 30_000);
    layoutCheck.unref();
    this.timers.push(idle, layoutCheck);
    await this.apply();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribers) u();
    this.unsubscribers = [];
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.retryTimer);
    this.state = EMPTY_TYPED;
    this.running = false;
    await this.keyboard?.stop();
  }

  /** Starts or stops the keyboard source to match the policy switch. */
  private async apply(): Promise<void> {
    const c = this.ctx.policy.current().capture;
    const wanted = !this.stopped && c.enabled && c.typedText;
    if (!wanted) {
      if (this.running) await this.keyboard?.stop();
      this.running = false;
      this.state = EMPTY_TYPED;
      this.report({ name: 'typed_text', available: false, reason: 'turned off by policy' });
      return;
    }
    if (this.running) return;
    const probed = await this.keyboard!.probe();
    if (!probed.available) return this.report(probed);
    try {
      this.useLayout(await this.keyboard!.layout());
      this.running = true;
      this.serverEvents = false; // until this run of the source reports server state
      await this.keyboard!.start(
        (e) => this.onKey(e),
        (reason) => this.ended(reason),
        (locks) => {
          this.serverEvents = true;
          if (this.layout)
            this.state = { ...this.state, keys: withServerLocks(this.state.keys, locks, this.layout.map) };
        },
        () => void this.checkLayout(true),
      );
    } catch (err) {
      this.running = false;
      this.report({ name: 'typed_text', available: false, reason: (err as Error).message });
      this.retry();
      return;
    }
    this.failures = 0;
    this.reportLayout();
  }

  private reportLayout(): void {
    const name = this.layout?.name;
    this.report({ name: 'typed_text', available: true, reason: name ? `keyboard layout ${name}` : '' });
  }

  /** A new layout: the line so far stays, the key state starts from the layout's lock LEDs. */
  private useLayout(layout: KeyboardLayout): void {
    this.layout = layout;
    this.state = {
      ...this.state,
      keys: {
        ...INITIAL_KEYS,
        // A new keymap keeps the server's locked group (clamped to its layouts) and its reports.
        group: Math.min(this.state.keys.group, layout.map.groups - 1),
        serverLocks: this.state.keys.serverLocks,
        capsLock: layout.capsLock,
        numLock: layout.numLock,
      },
    };
  }

  /**
   * Reads the layout again: when the source said the keymap changed (`changed`), else when its
   * settings differ from those it was read with (only while the source reports no changes itself).
   */
  private async checkLayout(changed = false): Promise<void> {
    if (!this.running || !this.keyboard) return;
    if (this.layoutChecking) {
      if (changed) setTimeout(() => void this.checkLayout(true), 500).unref();
      return;
    }
    if (!changed && this.serverEvents) return;
    this.layoutChecking = true;
    this.layoutCheckedAt = Date.now();
    try {
      const id = changed ? '' : await this.keyboard.layoutId();
      if (this.running && (changed || id !== this.layout?.id)) {
        const layout = await this.keyboard.layout();
        if (!this.running) return;
        const before = this.layout;
        this.useLayout(layout);
        if (before?.id !== layout.id) this.ctx.log.info('keyboard layout changed', { layout: layout.name });
        this.reportLayout();
      }
    } catch (err) {
      // The last layout stays in use; the next check tries again (a reported change: in 5 s).
      this.ctx.log.debug('keyboard layout check failed', { err });
      if (changed && this.running) setTimeout(() => void this.checkLayout(true), 5_000).unref();
    } finally {
      this.layoutChecking = false;
    }
  }

  private ended(reason: string): void {
    this.running = false;
    this.state = EMPTY_TYPED;
    if (this.stopped) return;
    this.ctx.log.warn('keyboard source stopped; retrying', { reason });
    this.report({ name: 'typed_text', available: false, reason });
    this.retry();
  }

  private retry(): void {
    clearTimeout(this.retryTimer);
    const delay = Math.min(600_000, (this.deps.retryMs ?? 10_000) * 2 ** Math.min(this.failures++, 6));
    this.retryTimer = setTimeout(() => void this.apply(), delay);
    this.retryTimer.unref();
  }

  private report(cap: CapabilityStatus): void {
    const changed = cap.available !== this.capability.available || cap.reason !== this.capability.reason;
    this.capability = cap;
    if (changed) this.ctx.capabilitiesChanged();
  }

  private onKey(e: KeyEvent): void {
    const w = this.window;
    if (!this.layout) return;
    if (!w || this.skipped(w)) {
      // Nothing typed there is kept: no line, no dead key under way. Only the lock, group and
      // held-modifier state follows the keys (Caps Lock or a layout toggle pressed in a password
      // prompt still holds in the next window), as the X server's own state does.
      const keys = translateKey(this.layout.map, this.state.keys, e).state;
      this.state = { ...EMPTY_TYPED, keys: { ...keys, pending: [] } };
      return;
    }
    this.take(decideKey(this.state, e, this.layout.map, Date.now()));
  }

  /** Credential prompts, and browsers whose extension reports typed text itself. */
  private skipped(w: ActiveWindowInfo): boolean {
    if (isCredentialWindow(w)) return true;
    const app = w.app.toLowerCase();
    return (this.deps.extensionBrowsers?.() ?? []).some((b) => b && app.includes(b.toLowerCase()));
  }

  private finish(): void {
    this.take(endLine(this.state));
  }

  private take(d: TypedDecision): void {
    this.state = d.state;
    const w = this.window;
    if (d.line === undefined || !w) return;
    this.hub.publish({
      origin: 'typed',
      text: d.line,
      window: { title: w.title, url: w.url, app: w.app },
      time: Date.now(),
    });
  }
}

export function createTypedTextComponent(
  ctx: AgentContext,
  hub: TextUnitHub,
  deps: TypedTextDeps = {},
): TypedTextComponent {
  return new TypedTextComponent(ctx, hub, deps);
}
