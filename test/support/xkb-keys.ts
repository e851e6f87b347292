// Keys and layout groups on a test X server without xdotool, for multi-layout tests: xdotool locks
// the server's layout group around every key it types (to the group where it found the keysym, or
// group 1 for a raw keycode) and restores it after, so it cannot type "on the second layout". Here
// the group is locked once, as a desktop's layout switcher does (XKB LatchLockState), and keys are
// pressed by X keycode through XTEST, which the server maps with the group in force.
import { XConnection } from '../../agent/src/platform/x11-wire.ts';

const XKB_USE_EXTENSION = 0;
const XKB_LATCH_LOCK_STATE = 5;
const XTEST_FAKE_INPUT = 2;
const KEY_PRESS = 2;
const KEY_RELEASE = 3;

async function withDisplay<T>(env: NodeJS.ProcessEnv, f: (c: XConnection) => Promise<T>): Promise<T> {
  const c = await XConnection.open(env['DISPLAY'] ?? '', undefined);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** Locks the keyboard's layout group (0-based), as a panel's layout menu does. */
export async function lockGroup(env: NodeJS.ProcessEnv, group: number): Promise<void> {
  await withDisplay(env, async (c) => {
    const xkb = await c.queryExtension('XKEYBOARD');
    if (!xkb) throw new Error('no XKEYBOARD extension');
    const use = Buffer.alloc(4);
    use.writeUInt16LE(1, 0);
    await c.extensionRequest(xkb.major, XKB_USE_EXTENSION, use);
    const req = Buffer.alloc(12);
    req.writeUInt16LE(0x100, 0); // the core keyboard
    req.writeUInt8(1, 4); // lockGroup
    req.writeUInt8(group, 5);
    await c.extensionRequestNoReply(xkb.major, XKB_LATCH_LOCK_STATE, req);
  });
}

/** Holds the keycodes down in order and releases them in reverse (a chord such as Alt+Shift). */
export async function pressChord(env: NodeJS.ProcessEnv, keycodes: number[]): Promise<void> {
  await withDisplay(env, async (c) => {
    const xtest = await c.queryExtension('XTEST');
    if (!xtest) throw new Error('no XTEST extension');
    for (const k of keycodes) await fakeKey(c, xtest.major, KEY_PRESS, k);
    for (const k of [...keycodes].reverse()) await fakeKey(c, xtest.major, KEY_RELEASE, k);
  });
}

function fakeKey(c: XConnection, major: number, type: number, keycode: number): Promise<void> {
  const req = Buffer.alloc(32);
  req.writeUInt8(type, 0);
  req.writeUInt8(keycode, 1);
  return c.extensionRequestNoReply(major, XTEST_FAKE_INPUT, req);
}

/** Presses and releases each X keycode in turn (XTEST), `delayMs` apart. */
export async function pressKeycodes(env: NodeJS.ProcessEnv, keycodes: number[], delayMs = 20): Promise<void> {
  await withDisplay(env, async (c) => {
    const xtest = await c.queryExtension('XTEST');
    if (!xtest) throw new Error('no XTEST extension');
    for (const k of keycodes) {
      await fakeKey(c, xtest.major, KEY_PRESS, k);
      await fakeKey(c, xtest.major, KEY_RELEASE, k);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  });
}
