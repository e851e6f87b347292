// Keyboard and OCR helpers' parsers on captured output (agent/testdata/keyboard/, ocr/): the
// session's layout, the helper's frames, the active-window crop.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordProblem } from '../../src/platform/keyboard.linux.ts';
import { encodeKeyFrame, MAX_FRAME_CHARS, parseKeyFrame } from '../../src/platform/keyboard-frames.ts';
import {
  charOf,
  keysymChar,
  parseSetxkbmapQuery,
  parseXmodmapPke,
  xKeycodeOf,
} from '../../src/platform/keymap.xkb.ts';
import {
  clipToScreen,
  decodeInlinePng,
  parseRootSize,
  parseXwininfo,
} from '../../src/platform/ocr.xwininfo.ts';

const data = (f: string) => readFileSync(new URL(`../../testdata/${f}`, import.meta.url), 'utf8');
const none = { shift: false, altGr: false, capsLock: false };

describe('xmodmap -pke (captured, us layout on Xvfb)', () => {
  const map = parseXmodmapPke(data('keyboard/xmodmap-pke-us.txt'));

  it('maps uiohook codes through X keycodes to characters with Shift and Caps Lock', () => {
    const key = (vc: number) => xKeycodeOf(vc)!;
    expect(charOf(map, key(30), none)).toBe('a'); // VC_A = 30 → X keycode 38
    expect(charOf(map, key(30), { ...none, shift: true })).toBe('A');
    expect(charOf(map, key(30), { ...none, capsLock: true })).toBe('A');
    expect(charOf(map, key(30), { ...none, capsLock: true, shift: true })).toBe('a');
    expect(charOf(map, key(2), { ...none, shift: true })).toBe('!'); // VC_1
    expect(charOf(map, key(2), { ...none, capsLock: true })).toBe('1'); // Caps Lock leaves digits
    expect(charOf(map, key(57), none)).toBe(' '); // space
    expect(charOf(map, key(40), { ...none, shift: true })).toBe('"'); // apostrophe key
    expect(charOf(map, key(42), none)).toBeUndefined(); // Shift_L
    expect(charOf(map, key(14), none)).toBeUndefined(); // BackSpace
    expect(xKeycodeOf(0x0e53)).toBeUndefined(); // Delete: an extended key, handled by its code
  });

  it('takes AltGr levels from the fifth and sixth columns, falling back to the plain ones', () => {
    const de = parseXmodmapPke(
      'keycode  26 = e E e E EuroSign EuroSign\nkeycode  24 = q Q q Q at Greek_OMEGA\n',
    );
    expect(charOf(de, 26, { ...none, altGr: true })).toBe('€');
    expect(charOf(de, 24, { ...none, altGr: true })).toBe('@');
    expect(charOf(de, 24, { ...none, altGr: true, shift: true })).toBeUndefined(); // Greek_OMEGA: not in our table
    expect(charOf(map, 38, { ...none, altGr: true })).toBe('a'); // us: no level 3
  });

  it('ignores lines that are not keycode lines and keycodes outside X range', () => {
    const m = parseXmodmapPke('garbage\nkeycode 3 = a\nkeycode 300 = b\nkeycode  38 =\nkeycode  39 = s S\n');
    expect([...m.keys()]).toEqual([39]);
  });

  it('reads keysym names, Unicode keysyms, and refuses controls', () => {
    expect(keysymChar('sterling')).toBe('£');
    expect(keysymChar('U00E9')).toBe('é');
    expect(keysymChar('U0007')).toBeUndefined();
    expect(keysymChar('F1')).toBeUndefined();
  });

  it('names the layout from setxkbmap -query', () => {
    expect(parseSetxkbmapQuery(data('keyboard/setxkbmap-query-us.txt'))).toBe('us');
    expect(parseSetxkbmapQuery('rules: evdev\nlayout:     de\nvariant:    nodeadkeys\n')).toBe(
      'de(nodeadkeys)',
    );
    expect(parseSetxkbmapQuery('')).toBe('');
  });
});

describe('keyboard helper frames', () => {
  it('round-trips a key event', () => {
    const e = { keycode: 30, down: true, shift: true, alt: false, ctrl: true, meta: false };
    expect(parseKeyFrame(encodeKeyFrame(e).trim())).toEqual({ kind: 'key', event: e });
    expect(parseKeyFrame('{"ready":1}')).toEqual({ kind: 'ready' });
  });

  it('drops anything that is not exactly a frame', () => {
    for (const bad of [
      '',
      'hello',
      '[1,2]',
      '{"k":30,"d":1}',
      '{"k":30,"d":1,"f":1,"text":"x"}',
      '{"k":0,"d":1,"f":0}',
      '{"k":70000,"d":1,"f":0}',
      '{"k":30.5,"d":1,"f":0}',
      '{"k":30,"d":2,"f":0}',
      '{"k":30,"d":1,"f":16}',
      '{"ready":2}',
      `{"k":30,"d":1,"f":0${' '.repeat(MAX_FRAME_CHARS)}}`,
    ])
      expect(parseKeyFrame(bad), bad).toBeUndefined();
  });
});

describe('RECORD extension check', () => {
  it('finds RECORD in xdpyinfo -queryExtensions, says why when it is missing', () => {
    expect(
      recordProblem('    RANDR  (opcode: 140)\n    RECORD  (opcode: 146, base error: 154)\n'),
    ).toBeUndefined();
    expect(recordProblem('    RANDR  (opcode: 140)\n    XTEST  (opcode: 132)\n')).toMatch(
      /no RECORD extension/,
    );
  });
});

describe('active-window crop', () => {
  it('reads a window geometry and the root size, and clips the window to the screen', () => {
    const w = parseXwininfo(data('ocr/xwininfo-window-offscreen.txt'));
    expect(w).toEqual({ x: 601, y: 420, width: 484, height: 264 });
    const root = parseRootSize(data('ocr/xwininfo-root.txt'));
    expect(root).toEqual({ width: 800, height: 600 });
    expect(clipToScreen(w!, root!)).toEqual({ x: 601, y: 420, width: 199, height: 180 });
    expect(clipToScreen({ x: 900, y: 0, width: 100, height: 100 }, root!)).toBeUndefined();
    expect(parseXwininfo('xwininfo: error: no such window')).toBeUndefined();
  });

  it('decodes an inline PNG and nothing else', () => {
    expect([...decodeInlinePng('data:image/png;base64,iVBORw0K\n')!.slice(0, 4)]).toEqual([
      0x89, 0x50, 0x4e, 0x47,
    ]);
    expect(decodeInlinePng('data:text/html;base64,PGI+')).toBeUndefined();
  });
});
