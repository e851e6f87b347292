// The X server's own keyboard lock state: which layout group is locked and which modifiers are
// locked (Caps Lock, Num Lock), read with XKB GetState and followed with XKB StateNotify events.
// It runs in the keyboard helper (keyboard-child.ts, as the session's user), which reports each
// change as a frame between the key frames. Key events alone cannot see a group switched without a
// key the keymap binds (a panel's layout menu, a desktop's own Super+Space, xdotool's
// XkbLockGroup), nor a group or Caps Lock already set when the agent started.
import { readFileSync } from 'node:fs';
import { cookiesForDisplay, localDisplayNumber, parseXauthority } from './x11-auth.ts';
import { XConnection } from './x11-wire.ts';

export interface XkbLocks {
  /** Locked group, 0-3. */
  group: number;
  /** Locked modifiers (X core bits: Lock = 2 is Caps Lock, Mod2 = 16 usually Num Lock). */
  mods: number;
}

const XKB_USE_EXTENSION = 0;
const XKB_SELECT_EVENTS = 1;
const XKB_GET_STATE = 4;
const XKB_NEW_KEYBOARD_NOTIFY = 0;
const XKB_MAP_NOTIFY = 1;
const XKB_STATE_NOTIFY = 2;
/** setxkbmap sends a burst of keymap events: one report after this quiet time. */
const KEYMAP_SETTLE_MS = 300;
const USE_CORE_KBD = 0x100;

/** The locked group and modifiers of a GetState reply (pure; undefined when it is not one). */
export function parseXkbGetStateReply(r: Buffer): XkbLocks | undefined {
  if (r.length < 32 || r[0] !== 1) return undefined;
  return { group: r[13]! & 3, mods: r[11]! };
}

/** The locked group and modifiers of an XKB StateNotify event (pure; undefined for any other event). */
export function parseXkbStateNotify(event: Buffer, firstEvent: number): XkbLocks | undefined {
  if (event.length < 32 || (event[0]! & 0x7f) !== firstEvent || event[1] !== XKB_STATE_NOTIFY)
    return undefined;
  return { group: event[18]! & 3, mods: event[12]! };
}

/** Whether an event is XKB's NewKeyboardNotify or MapNotify: the keymap changed (pure). */
export function isXkbKeymapChange(event: Buffer, firstEvent: number): boolean {
  return (
    event.length >= 32 &&
    (event[0]! & 0x7f) === firstEvent &&
    (event[1] === XKB_NEW_KEYBOARD_NOTIFY || event[1] === XKB_MAP_NOTIFY)
  );
}

/** The cookie for this display from $XAUTHORITY, if there is one (none: a server without access control). */
function cookieFor(display: string, env: NodeJS.ProcessEnv) {
  const n = localDisplayNumber(display);
  const file = env['XAUTHORITY'];
  if (n === undefined || !file) return undefined;
  try {
    return cookiesForDisplay(parseXauthority(readFileSync(file)), n)[0];
  } catch {
    return undefined;
  }
}

/**
 * Connects to the session's display and reports the lock state now and at every change, and each
 * change of the keymap (setxkbmap, xmodmap). Resolves `ok: false` (nothing reported) when the
 * display or its XKB extension cannot be used.
 */
export async function watchXkbLocks(
  env: NodeJS.ProcessEnv,
  onLocks: (locks: XkbLocks) => void,
  onKeymap: () => void = () => undefined,
): Promise<{ ok: boolean; close(): void }> {
  const display = env['DISPLAY'] ?? '';
  let conn: XConnection | undefined;
  try {
    conn = await XConnection.open(display, cookieFor(display, env));
    const xkb = await conn.queryExtension('XKEYBOARD');
    if (!xkb) throw new Error('no XKEYBOARD');
    const use = Buffer.alloc(4);
    use.writeUInt16LE(1, 0); // wanted major 1, minor 0
    const used = await conn.extensionRequest(xkb.major, XKB_USE_EXTENSION, use);
    if (used[1] !== 1) throw new Error('XKB 1.0 refused');
    // SelectEvents: StateNotify, NewKeyboardNotify and MapNotify with every detail (selectAll).
    const which = (1 << XKB_STATE_NOTIFY) | (1 << XKB_NEW_KEYBOARD_NOTIFY) | (1 << XKB_MAP_NOTIFY);
    const select = Buffer.alloc(12);
    select.writeUInt16LE(USE_CORE_KBD, 0);
    select.writeUInt16LE(which, 2); // affectWhich
    select.writeUInt16LE(0, 4); // clear
    select.writeUInt16LE(which, 6); // selectAll
    select.writeUInt16LE(0xff, 8); // affectMap: every part of a MapNotify
    select.writeUInt16LE(0xff, 10); // map
    let last = '';
    const report = (locks: XkbLocks | undefined) => {
      const key = locks ? `${locks.group}/${locks.mods}` : last;
      if (!locks || key === last) return;
      last = key;
      onLocks(locks);
    };
    let settle: NodeJS.Timeout | undefined;
    conn.onEvent((e) => {
      if (isXkbKeymapChange(e, xkb.firstEvent)) {
        clearTimeout(settle);
        settle = setTimeout(onKeymap, KEYMAP_SETTLE_MS);
      } else report(parseXkbStateNotify(e, xkb.firstEvent));
    });
    await conn.extensionRequestNoReply(xkb.major, XKB_SELECT_EVENTS, select);
    const state = Buffer.alloc(4);
    state.writeUInt16LE(USE_CORE_KBD, 0);
    report(parseXkbGetStateReply(await conn.extensionRequest(xkb.major, XKB_GET_STATE, state)));
    const c = conn;
    return { ok: true, close: () => c.close() };
  } catch {
    conn?.close();
    return { ok: false, close: () => undefined };
  }
}
