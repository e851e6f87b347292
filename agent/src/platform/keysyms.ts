// X11 keysym names → the character they type (pure). Names come from `xkbcomp -xkb` output
// (keymap.xkb.ts); the table is generated from keysymdef.h (keysym-table.ts). Keysyms with no
// name there print as `U20AC` or `0x10020ac`; both carry their code point.
import { KEYSYM_TABLE } from './keysym-table.ts';

let table: Map<string, number> | undefined;

function codePoints(): Map<string, number> {
  if (!table) {
    table = new Map();
    const words = KEYSYM_TABLE.trim().split(/\s+/);
    for (let i = 0; i + 1 < words.length; i += 2) table.set(words[i]!, Number.parseInt(words[i + 1]!, 16));
  }
  return table;
}

const printable = (cp: number) => cp >= 0x20 && cp <= 0x10ffff && !(cp >= 0x7f && cp < 0xa0);

/** The character of one keysym name, or undefined (function keys, modifiers, dead keys). */
export function keysymChar(name: string): string | undefined {
  const known = codePoints().get(name);
  if (known !== undefined) return String.fromCodePoint(known);
  const uni = /^U([0-9A-Fa-f]{4,6})$/.exec(name) ?? /^0x0*1([0-9A-Fa-f]{6})$/.exec(name);
  if (uni) {
    const cp = Number.parseInt(uni[1]!, 16);
    return printable(cp) ? String.fromCodePoint(cp) : undefined;
  }
  return undefined;
}

/** A letter with a lower- and an upper-case form, in that case (XkbKSIsLower / XkbKSIsUpper). */
export function keysymCase(name: string | undefined): 'lower' | 'upper' | undefined {
  const c = name === undefined ? undefined : keysymChar(name);
  if (c === undefined) return undefined;
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  if (lower === upper) return undefined;
  if (c === lower) return 'lower';
  return c === upper ? 'upper' : undefined;
}
