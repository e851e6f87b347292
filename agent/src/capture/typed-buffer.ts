// What has been typed into the focused window, as a pure state machine (STYLE.md: decide…() plus a
// thin shell, typed-text.ts). Key codes are mapped with the session's layout (key-translate.ts:
// Shift, AltGr, Caps Lock, layout groups, dead keys, Compose); Backspace, Delete,
// Left/Right/Home/End edit the line; Enter, Tab, Up/Down/Page keys and shortcuts (Ctrl/Alt/Super +
// key: paste, select all, ... move the caret where we cannot follow) end it. An ended line is
// handed out once, to be matched, and forgotten. Memory only.
import type { KeyEvent } from '../platform/keyboard-frames.ts';
import type { Keymap } from '../platform/keymap.xkb.ts';
import { INITIAL_KEYS, isShortcut, type KeyState, translateKey } from './key-translate.ts';

/** libuiohook VC_* codes of the keys that edit or end a line. */
export const VC = {
  escape: 0x0001,
  backspace: 0x000e,
  tab: 0x000f,
  enter: 0x001c,
  capsLock: 0x003a,
  numpadEnter: 0x0e1c,
  altGr: 0x0e38,
  home: 0x0e47,
  end: 0x0e4f,
  delete: 0x0e53,
  pageUp: 0x0e49,
  pageDown: 0x0e51,
  up: 0xe048,
  down: 0xe050,
  left: 0xe04b,
  right: 0xe04d,
} as const;

/** A line is handed out when it reaches this length (then a new one starts). */
export const MAX_LINE_CHARS = 500;

export interface TypedState {
  text: string;
  cursor: number;
  /** Group, locks, held modifiers, a dead key under way (not text: kept across lines). */
  keys: KeyState;
  /** Time of the last key that changed the text (ms). */
  lastKeyAt: number;
}

export const EMPTY_TYPED: TypedState = { text: '', cursor: 0, keys: INITIAL_KEYS, lastKeyAt: 0 };

export interface TypedDecision {
  state: TypedState;
  /** A finished line to match (never empty). */
  line?: string;
}

/** Ends the current line: hands it out (when there is one) and starts an empty one. */
export function endLine(state: TypedState): TypedDecision {
  const line = state.text.trim();
  const next: TypedState = { ...state, text: '', cursor: 0 };
  return line ? { state: next, line } : { state: next };
}

/** The line after this key (pure). */
export function decideKey(state: TypedState, e: KeyEvent, map: Keymap, now: number): TypedDecision {
  const t = translateKey(map, state.keys, e);
  const s: TypedState = t.state === state.keys ? state : { ...state, keys: t.state };
  if (!e.down) return { state: s };
  switch (e.keycode) {
    case VC.enter:
    case VC.numpadEnter:
    case VC.tab:
    case VC.up:
    case VC.down:
    case VC.pageUp:
    case VC.pageDown:
      return endLine(s);
    case VC.left:
      return { state: { ...s, cursor: Math.max(0, s.cursor - 1) } };
    case VC.right:
      return { state: { ...s, cursor: Math.min(s.text.length, s.cursor + 1) } };
    case VC.home:
      return { state: { ...s, cursor: 0 } };
    case VC.end:
      return { state: { ...s, cursor: s.text.length } };
  }
  if (e.keycode === VC.backspace) {
    // Backspace during a dead key or Compose sequence cancels the sequence, not a character.
    if (t.cancelledSequence || s.cursor === 0) return { state: s };
    // Ctrl+Backspace deletes the word before the caret.
    const from = e.ctrl ? wordStart(s.text, s.cursor) : s.cursor - 1;
    return { state: edit(s, from, s.cursor, '', now) };
  }
  if (e.keycode === VC.delete) {
    if (s.cursor >= s.text.length) return { state: s };
    return { state: edit(s, s.cursor, s.cursor + 1, '', now) };
  }
  const ch = t.char;
  if (ch === undefined) return { state: s }; // modifiers, locks, group toggles, dead keys, function keys
  if (isShortcut(t.mods)) return endLine(s);
  if (s.text.length >= MAX_LINE_CHARS) {
    const ended = endLine(s);
    return { ...ended, state: edit(ended.state, 0, 0, ch, now) };
  }
  return { state: edit(s, s.cursor, s.cursor, ch, now) };
}

/** Ends the line when nothing was typed for idleMs (pure). */
export function decideIdle(state: TypedState, now: number, idleMs: number): TypedDecision {
  return state.text && now - state.lastKeyAt >= idleMs ? endLine(state) : { state };
}

function edit(state: TypedState, from: number, to: number, insert: string, now: number): TypedState {
  const text = state.text.slice(0, from) + insert + state.text.slice(to);
  return { ...state, text, cursor: from + insert.length, lastKeyAt: now };
}

function wordStart(text: string, cursor: number): number {
  let i = cursor;
  while (i > 0 && /\s/.test(text[i - 1]!)) i--;
  while (i > 0 && !/\s/.test(text[i - 1]!)) i--;
  return i;
}
