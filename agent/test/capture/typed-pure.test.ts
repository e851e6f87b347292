// Pure parts of the typed and on-screen text sources: the typed line, secret masking, credential
// windows, when to OCR.
import { describe, expect, it } from 'vitest';
import { isCredentialWindow } from '../../src/capture/credential-window.ts';
import {
  changedBands,
  decideScan,
  dueForCheck,
  MAX_WINDOWS,
  NO_SCAN,
  ROWS_ABOVE,
  ROWS_BELOW,
  spent,
} from '../../src/capture/screen-scan.ts';
import { looksSecret, MASK, maskSecretsInPlace, showMasks } from '../../src/capture/secret-mask.ts';
import {
  decideIdle,
  decideKey,
  EMPTY_TYPED,
  MAX_LINE_CHARS,
  type TypedState,
  VC,
} from '../../src/capture/typed-buffer.ts';
import {
  BAND_GAP_ROWS,
  encodePgm,
  type GrayImage,
  parsePgm,
  rowHashes,
  stackBands,
} from '../../src/platform/gray-image.ts';
import type { KeyEvent } from '../../src/platform/keyboard-frames.ts';
import { capturedKeymap } from './key-layouts.ts';

const map = capturedKeymap('us');
/** uiohook codes of the us keys used below. */
const CODES: Record<string, number> = {
  a: 30,
  c: 46,
  b: 48,
  d: 32,
  e: 18,
  h: 35,
  i: 23,
  l: 38,
  n: 49,
  o: 24,
  t: 20,
  w: 17,
  ' ': 57,
  '1': 2,
};
const SHIFT = 42;

function key(keycode: number, mods: Partial<KeyEvent> = {}): KeyEvent {
  return { keycode, down: true, shift: false, alt: false, ctrl: false, meta: false, ...mods };
}

/** Feeds keys; returns the lines handed out and the final state. */
function type(keys: KeyEvent[], start: TypedState = EMPTY_TYPED) {
  let state = start;
  const lines: string[] = [];
  keys.forEach((k, i) => {
    const d = decideKey(state, k, map, 1000 + i);
    state = d.state;
    if (d.line !== undefined) lines.push(d.line);
  });
  return { state, lines };
}
const text = (s: string) => [...s].map((c) => key(CODES[c.toLowerCase()]!, { shift: c !== c.toLowerCase() }));

describe('typed line', () => {
  it('builds the line with Shift and hands it out on Enter, once', () => {
    const r = type([key(SHIFT, { shift: true }), ...text('I want'), key(VC.enter), key(VC.enter)]);
    expect(r.lines).toEqual(['I want']);
    expect(r.state.text).toBe('');
  });

  it('edits with Backspace, Delete, Left/Right/Home/End and Ctrl+Backspace', () => {
    const r = type([
      ...text('tha'),
      key(VC.backspace),
      key(VC.left),
      key(CODES['e']!),
      key(VC.delete),
      key(VC.end),
      ...text('n'),
      key(VC.home),
      key(VC.delete),
      ...text('wh'),
    ]);
    expect(r.state.text).toBe('when');
    const w = type([...text('hello there'), key(VC.backspace, { ctrl: true })]);
    expect(w.state.text).toBe('hello ');
  });

  it('Caps Lock toggles letters; a modifier is held between its press and release', () => {
    const r = type([key(VC.capsLock), ...text('hi'), key(VC.capsLock), ...text('a')]);
    expect(r.state.text).toBe('HIa');
    const g = type([key(VC.altGr), ...text('a')]);
    expect(g.state.keys.held).toEqual([[108, 'Alt_R']]); // us: Right Alt is Alt
    expect(type([{ ...key(VC.altGr), down: false }], g.state).state.keys.held).toEqual([]);
  });

  it('ends the line on Tab, Up/Down and shortcuts (the caret moved where we cannot follow)', () => {
    expect(type([...text('one'), key(VC.tab), ...text('two'), key(VC.up)]).lines).toEqual(['one', 'two']);
    const paste = type([...text('abc'), key(CODES['a']!, { ctrl: true })]);
    expect(paste.lines).toEqual(['abc']);
    expect(paste.state.text).toBe('');
  });

  it('ends the line after idle time, and at the length limit', () => {
    const s = type(text('hello')).state;
    expect(decideIdle(s, s.lastKeyAt + 4_999, 5_000).line).toBeUndefined();
    expect(decideIdle(s, s.lastKeyAt + 5_000, 5_000).line).toBe('hello');
    const long = type(Array.from({ length: MAX_LINE_CHARS + 3 }, () => key(CODES['a']!)));
    expect(long.lines).toEqual(['a'.repeat(MAX_LINE_CHARS)]);
    expect(long.state.text).toBe('aaa');
  });

  it('ignores releases, modifiers and function keys', () => {
    const r = type([{ ...key(CODES['a']!), down: false }, key(SHIFT), key(59 /* F1 */)]);
    expect(r.state.text).toBe('');
  });
});

describe('secret masking', () => {
  it('masks long mixed tokens and keeps words, numbers and the offsets', () => {
    expect(looksSecret('Tr0ub4dor&3')).toBe(true);
    expect(looksSecret('hunter22')).toBe(false); // two classes, short
    expect(looksSecret('ghp5x8Kq2mZr9LwT')).toBe(true);
    expect(looksSecret('Hello,')).toBe(false);
    expect(looksSecret('07700900123')).toBe(false);
    const t = 'my pass is Tr0ub4dor&3, and I want to die';
    const m = maskSecretsInPlace(t);
    expect(m).toHaveLength(t.length);
    expect(showMasks(m)).toBe(`my pass is ${MASK} and I want to die`);
    expect(showMasks(maskSecretsInPlace('a\ue000b'))).toBe('a b'); // filler in the input is not a mask
  });
});

describe('credential windows', () => {
  it('skips prompts, lock screens and password managers by class or title', () => {
    expect(isCredentialWindow({ app: 'polkit-gnome-authentication-agent-1', title: 'Authenticate' })).toBe(
      true,
    );
    expect(isCredentialWindow({ app: 'pinentry-gtk-2', title: '' })).toBe(true);
    expect(isCredentialWindow({ app: 'KeePassXC', title: 'Passwords.kdbx' })).toBe(true);
    expect(isCredentialWindow({ app: 'xterm', title: '[sudo] password for pupil' })).toBe(true);
    expect(isCredentialWindow({ app: 'xterm', title: 'chat with Sam' })).toBe(false);
  });
});

describe('when to OCR', () => {
  it('reads a new or changed image, skips an unchanged one, stops at the hourly budget', () => {
    let s = NO_SCAN;
    const img = { windowId: '0x1', hash: 'h1' };
    let d = decideScan(s, img, 0, 2_000);
    expect(d.decision).toBe('read');
    s = spent(d.state, 1_500);
    expect(decideScan(s, img, 60_000, 2_000).decision).toBe('unchanged');
    expect(decideScan(s, { windowId: '0x2', hash: 'h1' }, 60_000, 2_000).decision).toBe('read');
    d = decideScan(s, { windowId: '0x1', hash: 'h2' }, 60_000, 2_000);
    expect(d.decision).toBe('read');
    s = spent(d.state, 1_000);
    const over = decideScan(s, { windowId: '0x1', hash: 'h3' }, 120_000, 2_000);
    expect(over.decision).toBe('over-budget');
    // A new hour, a new budget; the change not read for lack of budget is read then.
    expect(decideScan(over.state, { windowId: '0x1', hash: 'h3' }, 3_600_001, 2_000).decision).toBe('read');
  });

  it('looks at a window at most once per interval, focus changes included', () => {
    let s = NO_SCAN;
    expect(dueForCheck(s, '0xa', 0, 60_000)).toBe(true);
    s = decideScan(s, { windowId: '0xa', hash: 'a' }, 0, 60_000).state;
    s = decideScan(s, { windowId: '0xb', hash: 'b' }, 10_000, 60_000).state;
    expect(dueForCheck(s, '0xa', 20_000, 60_000)).toBe(false); // switched back after 20 s
    expect(dueForCheck(s, '0xb', 20_000, 60_000)).toBe(false);
    expect(dueForCheck(s, '0xc', 20_000, 60_000)).toBe(true); // a window never seen
    expect(dueForCheck(s, '0xa', 59_500, 60_000)).toBe(true); // the periodic scan, a timer tick early
    expect(decideScan(s, { windowId: '0xa', hash: 'a' }, 60_000, 60_000).decision).toBe('unchanged');
    // Bounded: the oldest windows are forgotten.
    for (let i = 0; i < MAX_WINDOWS; i++)
      s = decideScan(s, { windowId: `0x${i}`, hash: 'x' }, 0, 60_000).state;
    expect(s.windows).toHaveLength(MAX_WINDOWS);
    expect(dueForCheck(s, '0xa', 1, 60_000)).toBe(true);
  });
});

describe('what to OCR of a changed window', () => {
  const tall = (n: number, f: (y: number) => number) => Uint32Array.from({ length: n }, (_, y) => f(y));

  it('reads only the new rows with the rows around them; most of it new → the whole window', () => {
    // 400 rows; rows 300..309 are new (a line typed), the rest as before.
    const prev = tall(400, (y) => y);
    const next = tall(400, (y) => (y >= 300 && y < 310 ? 10_000 + y : y));
    expect(changedBands(prev, next)).toEqual([[300 - ROWS_ABOVE, 310 + ROWS_BELOW]]);
    // Two changes far apart: two bands; close together: merged.
    const two = tall(400, (y) => (y === 10 || y === 390 ? 50_000 + y : y));
    expect(changedBands(prev, two)).toEqual([
      [0, 11 + ROWS_BELOW],
      [390 - ROWS_ABOVE, 400],
    ]);
    const near = tall(400, (y) => (y === 200 || y === 220 ? 50_000 + y : y));
    expect(changedBands(prev, near)).toEqual([[200 - ROWS_ABOVE, 221 + ROWS_BELOW]]);
    // Another page: most rows new.
    expect(
      changedBands(
        prev,
        tall(400, (y) => 90_000 + y),
      ),
    ).toBeUndefined();
    // Nothing to compare with.
    expect(changedBands(undefined, next)).toBeUndefined();
  });

  it('a terminal that scrolled: only the line that came in is new', () => {
    const prev = tall(300, (y) => y);
    const next = tall(300, (y) => (y < 280 ? y + 20 : 70_000 + y)); // up 20 rows, 20 new at the bottom
    expect(changedBands(prev, next)).toEqual([[280 - ROWS_ABOVE, 300]]);
    // Scrolled back to what was there: every row seen before.
    expect(changedBands(next, prev)?.length).toBeGreaterThan(0); // rows 0..19 of prev are gone from next
    expect(
      changedBands(
        prev,
        tall(300, (y) => (y + 20) % 300),
      ),
    ).toEqual([]);
  });

  it('decides read with the bands, seen when every row was there, and keeps the old rows over budget', () => {
    let s = NO_SCAN;
    s = decideScan(s, { windowId: '0x1', hash: 'a', rows: tall(400, (y) => y) }, 0, 10_000).state;
    const typed = tall(400, (y) => (y === 399 ? 1e6 : y));
    const d = decideScan(s, { windowId: '0x1', hash: 'b', rows: typed }, 60_000, 10_000);
    expect(d.decision).toBe('read');
    expect(d.bands).toEqual([[399 - ROWS_ABOVE, 400]]);
    // The same lines, rearranged: nothing new to read.
    const moved = tall(400, (y) => 399 - y);
    expect(decideScan(s, { windowId: '0x1', hash: 'c', rows: moved }, 60_000, 10_000).decision).toBe('seen');
    // Over budget: the rows of the last image read stay, so the change is read later.
    const over = decideScan(spent(s, 10_000), { windowId: '0x1', hash: 'b', rows: typed }, 60_000, 10_000);
    expect(over.decision).toBe('over-budget');
    const later = decideScan(over.state, { windowId: '0x1', hash: 'b', rows: typed }, 3_700_000, 10_000);
    expect(later.decision).toBe('read');
    expect(later.bands).toEqual([[399 - ROWS_ABOVE, 400]]);
  });
});

describe('gray window images', () => {
  const img = (w: number, h: number, f: (x: number, y: number) => number): GrayImage => ({
    width: w,
    height: h,
    pixels: Uint8Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))),
  });

  it('parses the PGM import writes and writes one tesseract reads; refuses short or odd ones', () => {
    const a = img(5, 3, (x, y) => x * 10 + y);
    const pgm = encodePgm(a);
    expect(Buffer.from(pgm.subarray(0, 11)).toString('latin1')).toBe('P5\n5 3\n255\n');
    expect(parsePgm(pgm)).toEqual(a);
    const withComment = Buffer.concat([Buffer.from('P5\n# CREATOR: x\n5 3\n255\n'), Buffer.from(a.pixels)]);
    expect(parsePgm(withComment)).toEqual(a);
    expect(parsePgm(pgm.subarray(0, pgm.length - 1))).toBeUndefined(); // short
    expect(parsePgm(Buffer.from('P6\n5 3\n255\n'))).toBeUndefined(); // colour
    expect(parsePgm(Buffer.from('P5\n99999 3\n255\n'))).toBeUndefined(); // absurd size
    expect(parsePgm(Buffer.from('P5\n5 3\n65535\n'))).toBeUndefined(); // 16-bit
  });

  it('hashes rows (equal rows equal, a changed pixel changes its row only) and stacks bands', () => {
    const a = img(8, 4, (x, y) => (y === 2 ? 9 : 255 - x));
    const b = { ...a, pixels: Uint8Array.from(a.pixels) };
    b.pixels[3 * 8 + 5] = 7;
    const ha = rowHashes(a);
    const hb = rowHashes(b);
    expect(ha[0]).toBe(ha[1]);
    expect(ha[2]).not.toBe(ha[0]);
    expect([hb[0], hb[1], hb[2]]).toEqual([ha[0], ha[1], ha[2]]);
    expect(hb[3]).not.toBe(ha[3]);
    const s = stackBands(a, [
      [0, 1],
      [2, 4],
    ]);
    expect(s.height).toBe(3 + BAND_GAP_ROWS);
    expect([...s.pixels.subarray(0, 8)]).toEqual([...a.pixels.subarray(0, 8)]);
    expect([...s.pixels.subarray(8, 16)]).toEqual(Array(8).fill(9)); // the gap: the next band's first row's commonest value
    expect([...s.pixels.subarray((1 + BAND_GAP_ROWS) * 8)]).toEqual([...a.pixels.subarray(16)]);
  });
});
