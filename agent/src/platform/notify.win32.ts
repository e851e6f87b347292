// The idle warning on Windows: `msg.exe SESSION /TIME:N text`. msg.exe reaches the user's desktop
// even from the SYSTEM service in session 0 (unlike a toast, which needs the user's session), and
// the box closes itself after N seconds. Limits: msg.exe is missing on Home editions, and a sent
// message cannot be taken down early, so dismiss() is a no-op (the box just times out).
// Command construction only: never run on Windows.
import { run as realRun } from './exec.ts';
import type { ExecRunner } from './idle.ts';
import {
  type IdleNotifier,
  type NotifierOptions,
  runNoticeCommand,
  warningSeconds,
  warningText,
} from './notify.ts';

/** `console` = the session at the physical screen (a school workstation's user). */
export function msgArgs(secondsLeft: number, session = 'console'): string[] {
  return [session, `/TIME:${warningSeconds(secondsLeft)}`, warningText(secondsLeft)];
}

export function createWin32Notifier(options: NotifierOptions = {}): IdleNotifier {
  const run: ExecRunner = options.run ?? realRun;
  return {
    method: 'msg.exe',
    async availability() {
      try {
        await run('where.exe', ['msg.exe'], { timeoutMs: 2_000 });
        return { available: true, reason: 'warns with msg.exe' };
      } catch (err) {
        return { available: false, reason: `msg.exe not found (Home edition?): ${(err as Error).message}` };
      }
    },
    show: (secondsLeft) => runNoticeCommand(run, 'msg.exe', msgArgs(secondsLeft), { timeoutMs: 5_000 }),
    dismiss: async () => undefined,
  };
}
