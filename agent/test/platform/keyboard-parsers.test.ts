// Keyboard and OCR helpers' parsers on captured output (agent/testdata/keyboard/, ocr/): the
// session's layout, the helper's frames, the active-window crop.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordProblem } from '../../src/platform/keyboard.linux.ts';
import {
  encodeKeyFrame,
  encodeLockFrame,
  MAX_FRAME_CHARS,
  parseKeyFrame,
} from '../../src/platform/keyboard-frames.ts';
import {
  levelOf,
  MOD,
  parseSetxkbmapQuery,
  parseXkbcomp,
  parseXsetLeds,
  xKeycodeOf,
} from '../../src/platform/keymap.xkb.ts';
import { keysymChar } from '../../src/platform/keysyms.ts';
import { clipToScreen } from '../../src/platform/window-crop.ts';
import { parseXkbGetStateReply, parseXkbStateNotify } from '../../src/platform/xkb-state.x11.ts';

const data = (f: string) => readFileSync(new URL(`../../testdata/${f}`, import.meta.url), 'utf8');

describe('xkbcomp -xkb, setxkbmap -query, xset q (captured on Xvfb)', () => {
  it('reads key names, types and every group of the keymap', () => {
    const us = parseXkbcomp(data('keyboard/xkbcomp-us.txt'));
    expect(us.groups).toBe(1);
    const a = us.keys.get(38)![0]!; // <AC01>
    expect(a.syms).toEqual(['a', 'A']);
    expect(a.type.name).toBe('ALPHABETIC'); // named by no type= line: xkbcomp's automatic type
    expect(levelOf(a, MOD.lock)).toEqual({ level: 1, consumed: MOD.shift | MOD.lock });
    expect(levelOf(a, MOD.shift | MOD.lock).level).toBe(0);
    const gbfr = parseXkbcomp(data('keyboard/xkbcomp-gb-fr.txt'));
    expect(gbfr.groups).toBe(2);
    const two = gbfr.keys.get(11)!; // <AE02>
    expect(two.map((g) => g.syms[0])).toEqual(['2', 'eacute']);
    expect(two[0]!.type.name).toBe('FOUR_LEVEL');
    expect(levelOf(two[0]!, MOD.mod5 | MOD.shift).level).toBe(3); // AltGr+Shift: LevelThree is Mod5
    const q = gbfr.keys.get(24)!; // <AD01>: a type per group
    expect(q.map((g) => g.type.name)).toEqual(['FOUR_LEVEL_SEMIALPHABETIC', 'FOUR_LEVEL_ALPHABETIC']);
    expect(gbfr.keys.get(50)![0]!.syms).toEqual(['Shift_L', 'ISO_Next_Group']); // <LFSH>, the toggle
  });

  it('ignores what is not a keymap, and keys whose name has no keycode', () => {
    expect(parseXkbcomp('garbage').keys.size).toBe(0);
    const m = parseXkbcomp(
      'xkb_keycodes "x" { <AC01> = 38; <BIG> = 300; alias <AZ> = <AC01>; };\n' +
        'xkb_symbols "x" { key <AZ> { [ a, A ] }; key <NONE> { [ b ] }; key <BIG> { [ c ] }; };',
    );
    expect([...m.keys.keys()]).toEqual([38]);
    expect(m.keys.get(38)![0]!.type.name).toBe('ONE_LEVEL'); // no types section: nothing to look up
  });

  it('maps uiohook codes to X keycodes: the main block, AltGr and the keypad extras', () => {
    expect(xKeycodeOf(30)).toBe(38); // VC_A → <AC01>
    expect(xKeycodeOf(0x0e38)).toBe(108); // VC_ALT_R → <RALT>
    expect(xKeycodeOf(0x0e35)).toBe(106); // VC_KP_DIVIDE
    expect(xKeycodeOf(0x0e53)).toBeUndefined(); // Delete: handled by its code
  });

  it('reads keysym names, Unicode keysyms, and refuses controls and dead keys', () => {
    expect(keysymChar('sterling')).toBe('£');
    expect(keysymChar('wcircumflex')).toBe('ŵ');
    expect(keysymChar('lstroke')).toBe('ł');
    expect(keysymChar('U1E9E')).toBe('ẞ');
    expect(keysymChar('0x10020ac')).toBe('€');
    expect(keysymChar('KP_7')).toBe('7');
    expect(keysymChar('U0007')).toBeUndefined();
    expect(keysymChar('dead_acute')).toBeUndefined();
    expect(keysymChar('F1')).toBeUndefined();
  });

  it('names the layout from setxkbmap -query, every layout with its variant', () => {
    expect(parseSetxkbmapQuery(data('keyboard/setxkbmap-query-us.txt'))).toBe('us');
    expect(parseSetxkbmapQuery(data('keyboard/setxkbmap-query-gb-extd.txt'))).toBe('gb(extd)');
    expect(parseSetxkbmapQuery(data('keyboard/setxkbmap-query-gb-fr.txt'))).toBe('gb,fr');
    expect(parseSetxkbmapQuery('layout:     gb,fr\nvariant:    extd,\n')).toBe('gb(extd),fr');
    expect(parseSetxkbmapQuery('rules: evdev\nlayout:     de\nvariant:    nodeadkeys\n')).toBe(
      'de(nodeadkeys)',
    );
    expect(parseSetxkbmapQuery('')).toBe('');
  });

  it('reads the locked group and modifiers from XKB GetState and StateNotify (captured bytes)', () => {
    const lines = data('keyboard/xkb-state.txt')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => Buffer.from(l.split(' ')[1]!, 'hex'));
    const [reply, groupLock, capsDown] = lines as [Buffer, Buffer, Buffer];
    expect(parseXkbGetStateReply(reply)).toEqual({ group: 1, mods: 0 });
    expect(parseXkbStateNotify(groupLock, 85)).toEqual({ group: 0, mods: 0 });
    expect(parseXkbStateNotify(capsDown, 85)).toEqual({ group: 0, mods: 2 });
    expect(parseXkbStateNotify(capsDown, 86)).toBeUndefined(); // another extension's event
    expect(parseXkbGetStateReply(groupLock)).toBeUndefined(); // an event is no reply
    expect(parseXkbStateNotify(capsDown.subarray(0, 20), 85)).toBeUndefined();
  });

  it('reads the Caps Lock and Num Lock LEDs from xset q', () => {
    expect(parseXsetLeds(data('keyboard/xset-q-caps-on.txt'))).toEqual({ capsLock: true, numLock: false });
    expect(parseXsetLeds('    00: Caps Lock:   off    01: Num Lock:    on ')).toEqual({
      capsLock: false,
      numLock: true,
    });
  });
});

describe('keyboard helper frames', () => {
  it('round-trips a key event', () => {
    const e = { keycode: 30, down: true, shift: true, alt: false, ctrl: true, meta: false };
    expect(parseKeyFrame(encodeKeyFrame(e).trim())).toEqual({ kind: 'key', event: e });
    expect(parseKeyFrame('{"ready":1}')).toEqual({ kind: 'ready' });
    expect(parseKeyFrame(encodeLockFrame({ group: 1, mods: 2 }).trim())).toEqual({
      kind: 'locks',
      group: 1,
      mods: 2,
    });
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
      '{"g":4,"m":0}',
      '{"g":0,"m":256}',
      '{"g":0}',
      '{"g":0,"m":0,"k":1}',
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
  it('clips a window to the screen, and nothing when too little of it is on the screen', () => {
    const root = { width: 800, height: 600 };
    expect(clipToScreen({ x: 601, y: 420, width: 484, height: 264 }, root)).toEqual({
      x: 601,
      y: 420,
      width: 199,
      height: 180,
    });
    expect(clipToScreen({ x: -20, y: -10, width: 100, height: 50 }, root)).toEqual({
      x: 0,
      y: 0,
      width: 80,
      height: 40,
    });
    expect(clipToScreen({ x: 900, y: 0, width: 100, height: 100 }, root)).toBeUndefined();
    expect(clipToScreen({ x: 795, y: 0, width: 100, height: 100 }, root)).toBeUndefined();
  });
});
