// Test helpers for typing on a captured layout: keys named by their position on a US keyboard
// ("q" is the key left of "w" whatever it types), with modifiers held as a typist holds them.
import { readFileSync } from 'node:fs';
import { decideKey, EMPTY_TYPED, type TypedState, VC } from '../../src/capture/typed-buffer.ts';
import type { KeyEvent } from '../../src/platform/keyboard-frames.ts';
import { type Keymap, parseXkbcomp } from '../../src/platform/keymap.xkb.ts';

/**
 * `xkbcomp -xkb` output captured on Xvfb after `setxkbmap <layout>` (agent/testdata/keyboard/;
 * the xkb_compatibility and xkb_geometry sections, which the parser does not read, left out).
 */
export function capturedKeymap(name: string): Keymap {
  return parseXkbcomp(
    readFileSync(new URL(`../../testdata/keyboard/xkbcomp-${name}.txt`, import.meta.url), 'utf8'),
  );
}

/** libuiohook VC_* codes by US key label (set-1 scan codes). */
const POS: Record<string, number> = {
  '`': 0x29,
  '-': 0x0c,
  '=': 0x0d,
  '[': 0x1a,
  ']': 0x1b,
  ';': 0x27,
  "'": 0x28,
  '#': 0x2b, // the ISO key left of Enter (<BKSL>)
  ',': 0x33,
  '.': 0x34,
  '/': 0x35,
  space: 0x39,
  caps: VC.capsLock,
  bksp: VC.backspace,
  enter: VC.enter,
  lshift: 0x2a,
  lalt: 0x38,
  ralt: VC.altGr,
};
'1234567890'.split('').forEach((c, i) => {
  POS[c] = 0x02 + i;
});
'qwertyuiop'.split('').forEach((c, i) => {
  POS[c] = 0x10 + i;
});
'asdfghjkl'.split('').forEach((c, i) => {
  POS[c] = 0x1e + i;
});
'zxcvbnm'.split('').forEach((c, i) => {
  POS[c] = 0x2c + i;
});

const ev = (keycode: number, down: boolean, f: Partial<KeyEvent> = {}): KeyEvent => ({
  keycode,
  down,
  shift: false,
  alt: false,
  ctrl: false,
  meta: false,
  ...f,
});

/**
 * Key events for tokens like `q`, `S+3` (Shift held), `G+e` (AltGr held), `A+lshift` (Alt held,
 * then left Shift: a group toggle), `C+a`; `space`, `caps`, `bksp`, `enter` by name.
 */
export function strokes(tokens: string[]): KeyEvent[] {
  const out: KeyEvent[] = [];
  for (const token of tokens) {
    const parts = token.split('+');
    const key = parts.pop()!;
    const code = POS[key];
    if (code === undefined) throw new Error(`no key ${key}`);
    const flags: Partial<KeyEvent> = {};
    const mods: number[] = [];
    for (const p of parts) {
      if (p === 'S') {
        flags.shift = true;
        mods.push(POS['lshift']!);
      } else if (p === 'G') {
        flags.alt = true; // uiohook counts Right Alt as Alt
        mods.push(POS['ralt']!);
      } else if (p === 'A') {
        flags.alt = true;
        mods.push(POS['lalt']!);
      } else if (p === 'C') {
        flags.ctrl = true;
        mods.push(0x1d);
      } else throw new Error(`no modifier ${p}`);
    }
    for (const m of mods) out.push(ev(m, true, flags));
    out.push(ev(code, true, flags), ev(code, false, flags));
    for (const m of mods.reverse()) out.push(ev(m, false));
  }
  return out;
}

/** Types the tokens on this keymap; returns the line as it stands and the state. */
export function typeOn(map: Keymap, tokens: string[], start: TypedState = EMPTY_TYPED) {
  let state = start;
  const lines: string[] = [];
  strokes(tokens).forEach((e, i) => {
    const d = decideKey(state, e, map, 1000 + i);
    state = d.state;
    if (d.line !== undefined) lines.push(d.line);
  });
  return { text: state.text, state, lines };
}

/** Tokens for plain lower-case text and spaces (on a layout where those keys type themselves). */
export const plain = (s: string) => [...s].map((c) => (c === ' ' ? 'space' : c));
