// The session's keyboard layout as the keyboard source needs it (pure parsers, tested on captured
// output in agent/testdata/keyboard/): `xmodmap -pke` gives, per X keycode, the keysyms of each
// level; `setxkbmap -query` names the layout for the capability report. uiohook reports
// layout-independent key codes (libuiohook VC_*, i.e. PC set-1 scan codes); on X11 the X keycode
// of a key is its evdev code + 8 and for the main block the evdev code is the set-1 code.

/** Per X keycode the keysym names, in xmodmap's column order. */
export type Keymap = ReadonlyMap<number, readonly string[]>;

/** Columns of `xmodmap -pke`: plain, Shift, (group 2 plain, group 2 Shift), AltGr, AltGr+Shift. */
const COL_SHIFT = 1;
const COL_ALTGR = 4;
const COL_ALTGR_SHIFT = 5;

/** Parses `xmodmap -pke` (lines `keycode  38 = a A a A`); unknown lines are ignored. */
export function parseXmodmapPke(text: string): Keymap {
  const map = new Map<number, string[]>();
  for (const line of text.split('\n')) {
    const m = /^keycode\s+(\d{1,3})\s*=\s*(.*)$/.exec(line.trim());
    if (!m) continue;
    const code = Number(m[1]);
    if (code < 8 || code > 255) continue;
    const syms = m[2]!.trim().split(/\s+/).filter(Boolean);
    if (syms.length > 0) map.set(code, syms);
  }
  return map;
}

/** `setxkbmap -query` → layout (and variant), e.g. "gb" or "de(nodeadkeys)"; "" when absent. */
export function parseSetxkbmapQuery(text: string): string {
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)\\s*$`, 'm').exec(text)?.[1] ?? '';
  const layout = field('layout');
  const variant = field('variant');
  return layout && variant ? `${layout}(${variant})` : layout;
}

/** X keycode of a uiohook key code, or undefined for keys outside the main block. */
export function xKeycodeOf(uiohookCode: number): number | undefined {
  return uiohookCode > 0 && uiohookCode < 0x80 ? uiohookCode + 8 : undefined;
}

export interface Modifiers {
  shift: boolean;
  altGr: boolean;
  capsLock: boolean;
}

/** The character a key gives with these modifiers, or undefined (not a printing key). */
export function charOf(map: Keymap, xKeycode: number, mods: Modifiers): string | undefined {
  const syms = map.get(xKeycode);
  if (!syms) return undefined;
  const pick = (col: number) => {
    const s = syms[col];
    return s && s !== 'NoSymbol' ? s : undefined;
  };
  const base = mods.altGr ? (pick(COL_ALTGR) ?? pick(0)) : pick(0);
  const shifted = mods.altGr ? (pick(COL_ALTGR_SHIFT) ?? pick(COL_SHIFT)) : pick(COL_SHIFT);
  const plain = base === undefined ? undefined : keysymChar(base);
  const upper = shifted === undefined ? plain : keysymChar(shifted);
  // Caps Lock shifts letters only (xmodmap's Lock = caps, the usual setting).
  const letter = plain !== undefined && plain.toLowerCase() !== plain.toUpperCase();
  const useShift = letter && mods.capsLock ? !mods.shift : mods.shift;
  return useShift ? upper : plain;
}

/** Keysym names of the printing characters outside letters and digits (X11 keysymdef.h). */
const NAMED: Readonly<Record<string, string>> = {
  space: ' ',
  exclam: '!',
  quotedbl: '"',
  numbersign: '#',
  dollar: '$',
  percent: '%',
  ampersand: '&',
  apostrophe: "'",
  parenleft: '(',
  parenright: ')',
  asterisk: '*',
  plus: '+',
  comma: ',',
  minus: '-',
  period: '.',
  slash: '/',
  colon: ':',
  semicolon: ';',
  less: '<',
  equal: '=',
  greater: '>',
  question: '?',
  at: '@',
  bracketleft: '[',
  backslash: '\\',
  bracketright: ']',
  asciicircum: '^',
  underscore: '_',
  grave: '`',
  braceleft: '{',
  bar: '|',
  braceright: '}',
  asciitilde: '~',
  sterling: '£',
  EuroSign: '€',
  notsign: '¬',
  brokenbar: '¦',
  section: '§',
  degree: '°',
  ssharp: 'ß',
  adiaeresis: 'ä',
  Adiaeresis: 'Ä',
  odiaeresis: 'ö',
  Odiaeresis: 'Ö',
  udiaeresis: 'ü',
  Udiaeresis: 'Ü',
  eacute: 'é',
  Eacute: 'É',
  egrave: 'è',
  Egrave: 'È',
  agrave: 'à',
  Agrave: 'À',
  ccedilla: 'ç',
  Ccedilla: 'Ç',
  ntilde: 'ñ',
  Ntilde: 'Ñ',
  acute: '´',
  cent: '¢',
  mu: 'µ',
};

/** The character of one keysym name, or undefined (function keys, modifiers, dead keys). */
export function keysymChar(name: string): string | undefined {
  if (/^[A-Za-z0-9]$/.test(name)) return name;
  const uni = /^U([0-9A-Fa-f]{4,6})$/.exec(name);
  if (uni) {
    const cp = Number.parseInt(uni[1]!, 16);
    return cp >= 0x20 && cp <= 0x10ffff && !(cp >= 0x7f && cp < 0xa0) ? String.fromCodePoint(cp) : undefined;
  }
  return NAMED[name];
}
