// The idle warning on macOS: a Notification Center banner through `osascript display
// notification`. Text and title go in as argv to an `on run argv` script, so nothing is ever
// spliced into AppleScript source. Limits: it must run in the user's GUI session (a LaunchAgent,
// not the root daemon), and a banner cannot be withdrawn, so dismiss() is a no-op.
// Command construction only: never run on a Mac.
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import {
  type IdleNotifier,
  type NotifierOptions,
  runNoticeCommand,
  WARNING_TITLE,
  warningText,
} from './notify.ts';

export function osascriptArgs(secondsLeft: number): string[] {
  return [
    '-e',
    'on run argv',
    '-e',
    'display notification (item 1 of argv) with title (item 2 of argv)',
    '-e',
    'end run',
    warningText(secondsLeft),
    WARNING_TITLE,
  ];
}

export function createDarwinNotifier(options: NotifierOptions = {}): IdleNotifier {
  const env = options.env ?? process.env;
  const run: ExecRunner = options.run ?? realRun;
  return {
    method: 'osascript',
    async availability() {
      // A root daemon has no GUI session: the banner would go nowhere.
      if (process.getuid?.() === 0) {
        return {
          available: false,
          reason: 'osascript notifications need the user GUI session (LaunchAgent)',
        };
      }
      return { available: true, reason: 'warns with osascript display notification' };
    },
    show: (secondsLeft) =>
      runNoticeCommand(run, 'osascript', osascriptArgs(secondsLeft), { env, timeoutMs: 5_000 }),
    dismiss: async () => undefined,
  };
}
