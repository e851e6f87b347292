// The notice shown to the person at the screen before the idle lock: "This computer will lock in
// N seconds". One interface, one file per OS, chosen here only. The text is ours alone (a fixed
// sentence and an integer): nothing from a window title, user or policy free text reaches it.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { RunOptions } from './exec.ts';
import type { Availability, ExecRunner } from './idle.ts';

export interface IdleNotifier {
  /** How the notice is shown ("xmessage", "msg.exe", "osascript", "none"). */
  readonly method: string;
  availability(): Promise<Availability>;
  /** Shows the warning (replacing one already shown). Rejects with a CustodianError when it cannot. */
  show(secondsLeft: number): Promise<void>;
  /** Takes the warning down, where the OS allows it; a no-op when none is shown. */
  dismiss(): Promise<void>;
}

export interface NotifierOptions {
  /** Environment of the user's session (DISPLAY, XAUTHORITY, ...), as for the idle probe. */
  env?: NodeJS.ProcessEnv;
  run?: ExecRunner;
}

/** Fixed window/notification title, so the notice can be found (and closed) by name. */
export const WARNING_TITLE = 'Custodian: screen will lock';

/** Whole seconds, at least 1: the only variable part of the text. */
export function warningSeconds(secondsLeft: number): number {
  return Number.isFinite(secondsLeft) ? Math.max(1, Math.ceil(secondsLeft)) : 1;
}

export function warningText(secondsLeft: number): string {
  const n = warningSeconds(secondsLeft);
  return `This computer will lock in ${n} second${n === 1 ? '' : 's'} — move the mouse or press a key to stay signed in`;
}

/** Runs a notice command that shows and closes itself; a failure says the warning was not shown. */
export async function runNoticeCommand(
  run: ExecRunner,
  cmd: string,
  args: string[],
  options: RunOptions,
): Promise<void> {
  try {
    await run(cmd, args, options);
  } catch (err) {
    throw new CustodianError(ErrorCode.COMMAND_FAILED, `idle warning not shown: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function createNotifier(
  options: NotifierOptions = {},
  platform: NodeJS.Platform = process.platform,
): Promise<IdleNotifier> {
  switch (platform) {
    case 'linux':
      return (await import('./notify.linux.ts')).createLinuxNotifier(options);
    case 'win32':
      return (await import('./notify.win32.ts')).createWin32Notifier(options);
    case 'darwin':
      return (await import('./notify.darwin.ts')).createDarwinNotifier(options);
    default:
      return (await import('./notify.unsupported.ts')).createUnsupportedNotifier(platform);
  }
}
