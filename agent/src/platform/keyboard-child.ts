// Child-process entry of the keyboard source (run by keyboard.linux.ts as the session's user,
// never imported): loads uiohook-napi (XRecord on X11) and writes one frame per key press or
// release to stdout (keyboard-frames.ts), and a frame with the X server's locked group and
// modifiers at start and whenever they change, and one when the keymap changed (xkb-state.x11.ts:
// a layout switched by a panel or the desktop, not by a key; setxkbmap run). No characters, no buffering, nothing on disk: the key codes are
// mapped and buffered in the agent's memory. Exit 3 when the hook cannot start.
import { createRequire } from 'node:module';
import { encodeKeyFrame, encodeLockFrame, KEYMAP_FRAME, READY_FRAME } from './keyboard-frames.ts';
import { watchXkbLocks } from './xkb-state.x11.ts';

const require = createRequire(import.meta.url);

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${JSON.stringify({ error: message.slice(0, 500) })}\n`);
  process.exit(3);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
// The agent went away (stdout closed): nothing left to do.
process.stdout.on('error', () => process.exit(0));

interface HookEvent {
  keycode: number;
  shiftKey: boolean;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
}
const { uIOhook } = require('uiohook-napi') as {
  uIOhook: { on(e: 'keydown' | 'keyup', f: (e: HookEvent) => void): void; start(): void };
};
const send = (e: HookEvent, down: boolean) =>
  process.stdout.write(
    encodeKeyFrame({
      keycode: e.keycode,
      down,
      shift: e.shiftKey,
      alt: e.altKey,
      ctrl: e.ctrlKey,
      meta: e.metaKey,
    }),
  );
uIOhook.on('keydown', (e) => send(e, true));
uIOhook.on('keyup', (e) => send(e, false));
try {
  uIOhook.start();
} catch (err) {
  fail(err);
}
process.stdout.write(READY_FRAME);
// Without XKB state (no extension, display refused) the agent follows the keys alone.
void watchXkbLocks(
  process.env,
  (l) => process.stdout.write(encodeLockFrame(l)),
  () => process.stdout.write(KEYMAP_FRAME),
);
