// Key codes → characters with the session's XKB keymap, the way the X server and its input method
// would (pure): the shift level from the key's type and the modifiers held (Shift, AltGr =
// ISO_Level3_Shift, Control, Alt, Super, Num Lock), Caps Lock as XKB applies it (through the type,
// or as a case change when the type leaves Lock unused — é → É on fr), the active group of a
// multi-layout keymap (the X server's locked group when it reports it, else ISO_Next_Group & co.
// from the layout's own toggle keys; Mode_switch while held), dead keys and Compose sequences
// (dead-keys.ts). Modifier and lock state only ever comes
// from keysyms: a layout that moves AltGr or the group toggle elsewhere is followed as it is.
import type { KeyEvent } from '../platform/keyboard-frames.ts';
import { type Keymap, levelOf, MOD, xKeycodeOf } from '../platform/keymap.xkb.ts';
import { keysymChar } from '../platform/keysyms.ts';
import { composeNext, isDeadKeysym } from './dead-keys.ts';

export interface KeyState {
  /** The locked group (0-based): which layout of "gb,fr" is active. */
  group: number;
  capsLock: boolean;
  numLock: boolean;
  /** Modifier keys held now: X keycode and the keysym it had when pressed. */
  held: readonly (readonly [number, string])[];
  /** A dead key or Compose sequence under way. */
  pending: readonly string[];
  /**
   * The X server reports its locked group and locks (withServerLocks): they are taken from there
   * only. Following the toggle keys as well would count a toggle twice whenever the server's report
   * arrives before the key (they come over separate connections).
   */
  serverLocks: boolean;
}

export const INITIAL_KEYS: KeyState = {
  group: 0,
  capsLock: false,
  numLock: false,
  held: [],
  pending: [],
  serverLocks: false,
};

/** Keysyms that lock a modifier or change the locked group. */
const LOCKING = new Set([
  'Caps_Lock',
  'Num_Lock',
  'ISO_Next_Group',
  'ISO_Prev_Group',
  'ISO_First_Group',
  'ISO_Last_Group',
]);

/** Keysyms that act while held: their modifier bit, or a group shift. */
const HOLD: Readonly<Record<string, number>> = {
  Shift_L: MOD.shift,
  Shift_R: MOD.shift,
  Control_L: MOD.control,
  Control_R: MOD.control,
  Alt_L: MOD.mod1,
  Alt_R: MOD.mod1,
  Meta_L: MOD.mod1,
  Meta_R: MOD.mod1,
  Super_L: MOD.mod4,
  Super_R: MOD.mod4,
  Hyper_L: MOD.mod4,
  Hyper_R: MOD.mod4,
  ISO_Level3_Shift: MOD.mod5,
  Mode_switch: 0,
  ISO_Group_Shift: 0,
};
const GROUP_SHIFT = new Set(['Mode_switch', 'ISO_Group_Shift']);
/** More held keys than this are not remembered (a stuck or flooding helper). */
const MAX_HELD = 8;

export interface KeyOutcome {
  state: KeyState;
  /** What the key typed (after dead keys and Compose), when it typed something. */
  char?: string;
  /** Modifiers in effect for this key (shortcuts end the line). */
  mods: number;
  /** The key only ended a dead key or Compose sequence (Backspace there deletes nothing). */
  cancelledSequence?: boolean;
}

/** Modifiers whose state uiohook reports itself on every event (it tracks those keys by code). */
const FROM_HOOK = MOD.shift | MOD.control | MOD.mod4;

/**
 * Modifiers held now: Shift, Control and Super from uiohook's flags; Alt and AltGr from the held
 * keys' keysyms (uiohook's Alt flag is set by either Alt key, and only the layout knows which one is
 * AltGr); Caps Lock and Num Lock from their toggles.
 */
function modsOf(s: KeyState, e: KeyEvent): number {
  let mods = (s.capsLock ? MOD.lock : 0) | (s.numLock ? MOD.mod2 : 0);
  for (const [, keysym] of s.held) mods |= (HOLD[keysym] ?? 0) & ~FROM_HOOK;
  if (e.shift) mods |= MOD.shift;
  if (e.ctrl) mods |= MOD.control;
  if (e.meta) mods |= MOD.mod4;
  return mods;
}

const wrap = (n: number, size: number) => ((n % size) + size) % size;

/** One key press or release (pure). */
export function translateKey(map: Keymap, s: KeyState, e: KeyEvent): KeyOutcome {
  const x = xKeycodeOf(e.keycode);
  if (x === undefined) return { state: s, mods: modsOf(s, e) };
  if (!e.down) {
    const held = s.held.filter(([k]) => k !== x);
    const state = held.length === s.held.length ? s : { ...s, held };
    return { state, mods: modsOf(state, e) };
  }
  const mods = modsOf(s, e);
  const groups = map.keys.get(x);
  if (!groups || groups.length === 0) return { state: s, mods };
  const shift = s.held.some(([, k]) => GROUP_SHIFT.has(k)) ? 1 : 0;
  const group = groups[wrap(s.group + shift, map.groups) % groups.length]!;
  const { level, consumed } = levelOf(group, mods);
  const keysym = group.syms[level];
  if (keysym === undefined) return { state: s, mods };

  if (keysym in HOLD) {
    const held = s.held.some(([k]) => k === x) ? s.held : [...s.held, [x, keysym] as const].slice(-MAX_HELD);
    return { state: { ...s, held }, mods };
  }
  if (s.serverLocks && LOCKING.has(keysym)) return { state: s, mods };
  switch (keysym) {
    case 'Caps_Lock':
      return { state: { ...s, capsLock: !s.capsLock }, mods };
    case 'Num_Lock':
      return { state: { ...s, numLock: !s.numLock }, mods };
    case 'ISO_Next_Group':
      return { state: { ...s, group: wrap(s.group + 1, map.groups) }, mods };
    case 'ISO_Prev_Group':
      return { state: { ...s, group: wrap(s.group - 1, map.groups) }, mods };
    case 'ISO_First_Group':
      return { state: { ...s, group: 0 }, mods };
    case 'ISO_Last_Group':
      return { state: { ...s, group: map.groups - 1 }, mods };
    case 'Multi_key':
      return { state: { ...s, pending: ['Multi_key'] }, mods };
  }

  let char = keysymChar(keysym);
  // Caps Lock the type did not use changes the case (XKB's and libxkbcommon's rule).
  if (char !== undefined && mods & MOD.lock && !(consumed & MOD.lock)) {
    const upper = char.toUpperCase();
    if ([...upper].length === 1) char = upper;
  }
  if (s.pending.length > 0) {
    const r = composeNext(s.pending, { keysym, char });
    const state = { ...s, pending: r.pending };
    if (r.text) return { state, char: r.text, mods };
    return char === undefined && r.pending.length === 0
      ? { state, mods, cancelledSequence: true }
      : { state, mods };
  }
  if (isDeadKeysym(keysym)) return { state: { ...s, pending: [keysym] }, mods };
  return char === undefined ? { state: s, mods } : { state: s, char, mods };
}

/**
 * The X server's locked group and modifiers (Caps Lock = Lock, Num Lock = Mod2) replace what the
 * keys alone made of them: a group switched by a panel or the desktop, a lock set before the start.
 */
export function withServerLocks(s: KeyState, locks: { group: number; mods: number }, map: Keymap): KeyState {
  return {
    ...s,
    group: Math.min(locks.group, map.groups - 1),
    capsLock: (locks.mods & MOD.lock) !== 0,
    numLock: (locks.mods & MOD.mod2) !== 0,
    serverLocks: true,
  };
}

/** Shortcut modifiers (Control, Alt, Super): the key is a command, not text. */
export function isShortcut(mods: number): boolean {
  return (mods & (MOD.control | MOD.mod1 | MOD.mod4)) !== 0;
}
