// Locking the screen and telling whether it is locked. One interface, one file per OS, chosen here only.
import type { RunAs } from './exec.ts';
import type { Availability, ExecRunner } from './idle.ts';

export interface ScreenLocker {
  /** The lock methods this platform will try, in order (e.g. ["i3lock", "loginctl"]). */
  readonly methods: readonly string[];
  availability(): Promise<Availability>;
  /**
   * Locks the screen and checks it took. Resolves with the method that worked; rejects with a
   * CustodianError whose `details.method` names the method(s) tried and whose message says why.
   */
  lock(): Promise<string>;
  /** Rejects (CustodianError UNAVAILABLE) where the OS cannot tell. */
  isLocked(): Promise<boolean>;
  /**
   * Where the platform can tell: called when a lock this locker made ended or was hidden without
   * an unlock (the locker killed, its window unmapped or covered), with what was seen.
   */
  onTamper?(listener: (what: string) => void): () => void;
}

export interface ScreenLockerOptions {
  env?: NodeJS.ProcessEnv;
  run?: ExecRunner;
  /**
   * X11 locker command (argv, no shell). Default: CUSTODIAN_LOCK_COMMAND (split on spaces),
   * else ["i3lock", "-n"]. A locker that stays in the foreground (-n) is tracked as the lock.
   */
  lockCommand?: readonly string[];
  /** How long to wait for the lock to show before calling the attempt failed. Default 2000 ms. */
  verifyMs?: number;
  /** Run the locker and helpers as this user (default: the session's, see session.ts runAsFor). */
  runAs?: RunAs;
}

export const DEFAULT_LOCK_COMMAND: readonly string[] = ['i3lock', '-n'];

export function configuredLockCommand(env: NodeJS.ProcessEnv): readonly string[] {
  const raw = env['CUSTODIAN_LOCK_COMMAND']?.trim();
  return raw ? raw.split(/\s+/) : DEFAULT_LOCK_COMMAND;
}

export async function createScreenLocker(
  options: ScreenLockerOptions = {},
  platform: NodeJS.Platform = process.platform,
): Promise<ScreenLocker> {
  switch (platform) {
    case 'linux':
      return (await import('./lock.linux.ts')).createLinuxScreenLocker(options);
    case 'win32':
      return (await import('./lock.win32.ts')).createWin32ScreenLocker(options);
    case 'darwin':
      return (await import('./lock.darwin.ts')).createDarwinScreenLocker(options);
    default:
      return (await import('./lock.unsupported.ts')).createUnsupportedScreenLocker(platform);
  }
}
