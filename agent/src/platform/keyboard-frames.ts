// The keyboard helper's stdout, one frame per line (pure, both directions). The helper runs as the
// session's user, so the user can replace or feed it: every line is checked here, anything else
// is dropped, and a frame carries key codes and modifier bits only, never characters.

/** One key press or release as uiohook reports it (layout-independent code, modifier flags). */
export interface KeyEvent {
  /** libuiohook VC_* code (PC set-1 scan code; 0x0Exx for the extended keys). */
  keycode: number;
  down: boolean;
  shift: boolean;
  alt: boolean;
  ctrl: boolean;
  meta: boolean;
}

/** The X server's locked group and locked modifiers (xkb-state.x11.ts), at start and on change. */
export interface LockFrame {
  group: number;
  mods: number;
}

export type KeyFrame =
  | { kind: 'ready' }
  | { kind: 'key'; event: KeyEvent }
  | ({ kind: 'locks' } & LockFrame)
  | { kind: 'keymap' };

/** Longer lines are not ours: dropped unparsed. */
export const MAX_FRAME_CHARS = 64;
const SHIFT = 1;
const ALT = 2;
const CTRL = 4;
const META = 8;

export function encodeKeyFrame(e: KeyEvent): string {
  const f = (e.shift ? SHIFT : 0) | (e.alt ? ALT : 0) | (e.ctrl ? CTRL : 0) | (e.meta ? META : 0);
  return `${JSON.stringify({ k: e.keycode, d: e.down ? 1 : 0, f })}\n`;
}

export const READY_FRAME = '{"ready":1}\n';

/** The keymap changed (setxkbmap, xmodmap): read the layout again. */
export const KEYMAP_FRAME = '{"keymap":1}\n';

export function encodeLockFrame(l: LockFrame): string {
  return `${JSON.stringify({ g: l.group, m: l.mods })}\n`;
}

/** The frame on this line, or undefined when it is not a well-formed one. */
export function parseKeyFrame(line: string): KeyFrame | undefined {
  if (line.length > MAX_FRAME_CHARS) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys === 'ready' && o['ready'] === 1) return { kind: 'ready' };
  if (keys === 'keymap' && o['keymap'] === 1) return { kind: 'keymap' };
  if (keys === 'g,m') {
    const { g, m } = o as { g: unknown; m: unknown };
    if (!Number.isInteger(g) || (g as number) < 0 || (g as number) > 3) return undefined;
    if (!Number.isInteger(m) || (m as number) < 0 || (m as number) > 255) return undefined;
    return { kind: 'locks', group: g as number, mods: m as number };
  }
  if (keys !== 'd,f,k') return undefined;
  const { k, d, f } = o as { k: unknown; d: unknown; f: unknown };
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > 0xffff) return undefined;
  if (d !== 0 && d !== 1) return undefined;
  if (!Number.isInteger(f) || (f as number) < 0 || (f as number) > 15) return undefined;
  const bits = f as number;
  return {
    kind: 'key',
    event: {
      keycode: k as number,
      down: d === 1,
      shift: (bits & SHIFT) !== 0,
      alt: (bits & ALT) !== 0,
      ctrl: (bits & CTRL) !== 0,
      meta: (bits & META) !== 0,
    },
  };
}
