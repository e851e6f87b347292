// The session's keyboard layout as the keyboard source needs it (pure parsers, tested on captured
// output in agent/testdata/keyboard/). `xkbcomp -xkb $DISPLAY -` prints the server's whole XKB
// keymap: key names → X keycodes, the key types (which modifiers select which shift level), and
// per key the keysyms of each group and level — the only source that has every group of a
// multi-layout keymap ("gb,fr") and the real level rules (Caps Lock on letters only, AltGr).
// `setxkbmap -query` names the layout and tells when it changed; `xset q` gives the lock LEDs at
// start. uiohook reports layout-independent key codes (libuiohook VC_*, PC set-1 scan codes); on
// X11 the X keycode of a key is its evdev code + 8, and for the main block that is the set-1 code.
import { keysymCase } from './keysyms.ts';

/** X core modifier bits. */
export const MOD = {
  shift: 0x01,
  lock: 0x02,
  control: 0x04,
  mod1: 0x08,
  mod2: 0x10,
  mod3: 0x20,
  mod4: 0x40,
  mod5: 0x80,
} as const;

const REAL_MODS: Readonly<Record<string, number>> = {
  shift: MOD.shift,
  lock: MOD.lock,
  control: MOD.control,
  mod1: MOD.mod1,
  mod2: MOD.mod2,
  mod3: MOD.mod3,
  mod4: MOD.mod4,
  mod5: MOD.mod5,
};
/**
 * Virtual modifiers as every stock XKB keymap binds them (xkbcomp's output names them, not their
 * binding): Alt/Meta on Mod1, NumLock on Mod2, Super/Hyper on Mod4, LevelThree (AltGr) on Mod5.
 * Others (LevelFive, ScrollLock, LAlt, RControl, ...) are unbound in stock keymaps: a type entry
 * that needs one never applies, as in XKB.
 */
const VIRTUAL_MODS: Readonly<Record<string, number>> = {
  alt: MOD.mod1,
  meta: MOD.mod1,
  numlock: MOD.mod2,
  super: MOD.mod4,
  hyper: MOD.mod4,
  levelthree: MOD.mod5,
  altgr: MOD.mod5,
};

export interface KeyTypeEntry {
  /** The modifiers (within the type's mask) that select this level. */
  mods: number;
  /** 0-based shift level. */
  level: number;
  /** Modifiers not consumed by this level (left for Caps Lock's case change). */
  preserve: number;
}

export interface KeyType {
  name: string;
  /** The modifiers this type looks at; others are ignored for the level. */
  mask: number;
  entries: readonly KeyTypeEntry[];
}

export interface KeyGroup {
  type: KeyType;
  /** Keysym names per level; undefined for NoSymbol. */
  syms: readonly (string | undefined)[];
}

export interface Keymap {
  /** Per X keycode, its groups (one per layout of a multi-layout keymap). */
  keys: ReadonlyMap<number, readonly KeyGroup[]>;
  /** Number of groups (layouts) of the keymap, at least 1. */
  groups: number;
}

export const EMPTY_KEYMAP: Keymap = { keys: new Map(), groups: 1 };

const ONE_LEVEL: KeyType = { name: 'ONE_LEVEL', mask: 0, entries: [] };

/** Modifier list such as `Shift+Lock+LevelThree` → bits; `unbound` when a name has no binding. */
function parseMods(text: string): { bits: number; unbound: boolean } {
  let bits = 0;
  let unbound = false;
  for (const raw of text.split('+')) {
    const name = raw.trim().toLowerCase();
    if (!name || name === 'none') continue;
    const bit = REAL_MODS[name] ?? VIRTUAL_MODS[name];
    if (bit === undefined) unbound = true;
    else bits |= bit;
  }
  return { bits, unbound };
}

/** The sections of an xkbcomp keymap, by kind. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^xkb_(keycodes|types|compatibility|compat|symbols|geometry)\b/gm;
  const starts: { kind: string; at: number }[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push({ kind: m[1]!, at: m.index });
  starts.forEach((s, i) => {
    out.set(s.kind, text.slice(s.at, starts[i + 1]?.at ?? text.length));
  });
  return out;
}

function parseKeycodes(text: string): Map<string, number> {
  const codes = new Map<string, number>();
  for (const m of text.matchAll(/<([^<>\s]{1,8})>\s*=\s*(\d{1,3})\s*;/g)) {
    const code = Number(m[2]);
    if (code >= 8 && code <= 255) codes.set(m[1]!, code);
  }
  for (const m of text.matchAll(/alias\s+<([^<>\s]{1,8})>\s*=\s*<([^<>\s]{1,8})>\s*;/g)) {
    const code = codes.get(m[2]!);
    if (code !== undefined && !codes.has(m[1]!)) codes.set(m[1]!, code);
  }
  return codes;
}

function parseTypes(text: string): Map<string, KeyType> {
  const types = new Map<string, KeyType>();
  for (const m of text.matchAll(/type\s+"([^"]{1,64})"\s*\{([^{}]*)\}\s*;/g)) {
    const body = m[2]!;
    const mask = parseMods(/modifiers\s*=\s*([^;]*);/.exec(body)?.[1] ?? 'none').bits;
    const preserves = new Map<string, number>();
    for (const p of body.matchAll(/preserve\[([^\]]*)\]\s*=\s*([^;]*);/g))
      preserves.set(p[1]!.replace(/\s/g, ''), parseMods(p[2]!).bits);
    const entries: KeyTypeEntry[] = [];
    for (const e of body.matchAll(/map\[([^\]]*)\]\s*=\s*Level(\d+)\s*;/gi)) {
      const mods = parseMods(e[1]!);
      if (mods.unbound) continue;
      entries.push({
        mods: mods.bits & mask,
        level: Number(e[2]) - 1,
        preserve: preserves.get(e[1]!.replace(/\s/g, '')) ?? 0,
      });
    }
    types.set(m[1]!, { name: m[1]!, mask, entries });
  }
  return types;
}

/** The type xkbcomp gives a key group that names none (its FindAutomaticType). */
function automaticType(syms: readonly (string | undefined)[]): string {
  const keypad = (s: string | undefined) => s?.startsWith('KP_') ?? false;
  const alpha = keysymCase(syms[0]) === 'lower' && keysymCase(syms[1]) === 'upper';
  if (syms.length <= 1) return 'ONE_LEVEL';
  if (syms.length === 2) {
    if (alpha) return 'ALPHABETIC';
    return keypad(syms[0]) || keypad(syms[1]) ? 'KEYPAD' : 'TWO_LEVEL';
  }
  if (alpha)
    return keysymCase(syms[2]) === 'lower' && keysymCase(syms[3]) === 'upper'
      ? 'FOUR_LEVEL_ALPHABETIC'
      : 'FOUR_LEVEL_SEMIALPHABETIC';
  return keypad(syms[0]) || keypad(syms[1]) ? 'FOUR_LEVEL_KEYPAD' : 'FOUR_LEVEL';
}

/** Parses `xkbcomp -xkb DISPLAY -` output; keys and types it cannot read are left out. */
export function parseXkbcomp(text: string): Keymap {
  const parts = sections(text);
  const codes = parseKeycodes(parts.get('keycodes') ?? '');
  const types = parseTypes(parts.get('types') ?? '');
  const keys = new Map<number, KeyGroup[]>();
  let groups = 1;
  for (const m of (parts.get('symbols') ?? '').matchAll(/key\s+<([^<>\s]{1,8})>\s*\{([^{}]*)\}\s*;/g)) {
    const code = codes.get(m[1]!);
    if (code === undefined) continue;
    let body = m[2]!;
    const typeNames: string[] = [];
    let allType: string | undefined;
    for (const t of body.matchAll(/type(?:\[group(\d)\])?\s*=\s*"([^"]{1,64})"/gi)) {
      if (t[1] === undefined) allType = t[2]!;
      else typeNames[Number(t[1]) - 1] = t[2]!;
    }
    body = body
      .replace(/type(?:\[group\d\])?\s*=\s*"[^"]*"/gi, '')
      .replace(/(?:actions|vmods|virtualMods)(?:\[group\d\])?\s*=\s*(?:\[[^\]]*\]|[^,]*)/gi, '');
    const symbols: (string | undefined)[][] = [];
    let bare = 0;
    for (const s of body.matchAll(/(?:symbols\[group(\d)\]\s*=\s*)?\[([^[\]]*)\]/gi)) {
      const index = s[1] === undefined ? bare++ : Number(s[1]) - 1;
      if (index < 0 || index > 3) continue;
      symbols[index] = s[2]!
        .split(',')
        .map((x) => x.trim())
        .map((x) => (x && x !== 'NoSymbol' ? x : undefined));
    }
    if (symbols.length === 0) continue;
    const keyGroups: KeyGroup[] = [];
    for (let g = 0; g < symbols.length; g++) {
      const syms = symbols[g] ?? [];
      const typeName = typeNames[g] ?? allType ?? automaticType(syms);
      keyGroups.push({ type: types.get(typeName) ?? ONE_LEVEL, syms });
    }
    keys.set(code, keyGroups);
    groups = Math.max(groups, keyGroups.length);
  }
  return { keys, groups };
}

/** The shift level of a key group under these modifiers, and the modifiers it consumed. */
export function levelOf(group: KeyGroup, mods: number): { level: number; consumed: number } {
  const masked = mods & group.type.mask;
  const entry = group.type.entries.find((e) => e.mods === masked);
  return {
    level: entry?.level ?? 0,
    consumed: group.type.mask & ~(entry?.preserve ?? 0),
  };
}

/** `setxkbmap -query` → layout name as the capability reports it: "gb", "gb(extd),fr"; "" when absent. */
export function parseSetxkbmapQuery(text: string): string {
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(\\S+)[ \\t]*$`, 'm').exec(text)?.[1] ?? '';
  const variants = field('variant').split(',');
  return field('layout')
    .split(',')
    .filter(Boolean)
    .map((l, i) => (variants[i] ? `${l}(${variants[i]})` : l))
    .join(',');
}

/** `xset q` → the Caps Lock and Num Lock LEDs (the lock state when the keyboard source starts). */
export function parseXsetLeds(text: string): { capsLock: boolean; numLock: boolean } {
  return {
    capsLock: /Caps Lock:\s*on\b/.test(text),
    numLock: /Num Lock:\s*on\b/.test(text),
  };
}

/** libuiohook's codes of the extended keys that carry keysyms a line can need, → X keycode. */
const EXTENDED: ReadonlyMap<number, number> = new Map([
  [0x0e1c, 104], // KP Enter
  [0x0e1d, 105], // Right Control
  [0x0e35, 106], // KP Divide
  [0x0e38, 108], // Right Alt: AltGr (ISO_Level3_Shift) on most non-US layouts
  [0x0e5b, 133], // Left Super
  [0x0e5c, 134], // Right Super
  [0x0e5d, 135], // Menu
]);

/** X keycode of a uiohook key code, or undefined for keys whose keysyms never matter here. */
export function xKeycodeOf(uiohookCode: number): number | undefined {
  if (uiohookCode > 0 && uiohookCode < 0x80) return uiohookCode + 8;
  return EXTENDED.get(uiohookCode);
}
