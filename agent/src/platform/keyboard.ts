// Key events of the user's graphical session behind one interface (STYLE.md §1); the
// implementation is chosen here, once, by platform. What is typed is mapped, buffered and matched
// by agent/src/capture/typed-text.ts; a source only delivers key codes and the layout to map them.
import type { AgentLogger, CapabilityStatus } from '../core/contracts.ts';
import type { KeyEvent, LockFrame } from './keyboard-frames.ts';
import type { Keymap } from './keymap.xkb.ts';

export interface KeyboardLayout {
  /** Layout name for the capability report ("us", "gb", "gb(extd),fr"). */
  name: string;
  /** What `layoutId()` said when this layout was read (a different one later: read it again). */
  id: string;
  map: Keymap;
  /** Lock LEDs when it was read (Caps Lock typed before the agent started). */
  capsLock: boolean;
  numLock: boolean;
}

export interface KeyboardSource {
  /** The `typed_text` capability, with the reason when unavailable. */
  probe(): Promise<CapabilityStatus>;
  /** The session's layout now (read at every start, and again when `layoutId()` changes). */
  layout(): Promise<KeyboardLayout>;
  /** A cheap fingerprint of the layout settings (rules, model, layouts, variants, options). */
  layoutId(): Promise<string>;
  /**
   * Starts delivering key events, and when the platform reports them the server's lock state
   * (locked group and modifiers: at start and on change) and keymap changes; `onEnd` when the
   * source stopped by itself (with why).
   */
  start(
    onKey: (e: KeyEvent) => void,
    onEnd: (reason: string) => void,
    onLocks?: (l: LockFrame) => void,
    onKeymap?: () => void,
  ): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Windows: uiohook-napi's win32 prebuilds (a low-level keyboard hook in the user's session) and
 * ToUnicodeEx with the foreground thread's layout (GetKeyboardLayout of the focused window's
 * thread: each window can have its own, switched with Win+Space / Alt+Shift); ToUnicodeEx keeps
 * the dead-key state in the kernel's keyboard buffer, so the mapping must be asked with flag 0x4
 * (do not change keyboard state) or it eats the user's dead keys. macOS: its darwin prebuilds (a
 * CGEventTap, which needs the Input Monitoring permission) and UCKeyTranslate with the current
 * TISCopyCurrentKeyboardLayoutInputSource, carrying deadKeyState between calls. Neither is wired
 * yet: both report typed text unavailable.
 */
export async function createKeyboardSource(log: AgentLogger): Promise<KeyboardSource> {
  switch (process.platform) {
    case 'linux':
      return new (await import('./keyboard.linux.ts')).X11KeyboardSource(log);
    default:
      return new (await import('./keyboard.unsupported.ts')).UnsupportedKeyboardSource(process.platform);
  }
}
