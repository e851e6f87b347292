// The shared "is the screen locked?" probe (AgentContext.lockState). The window monitor asks it
// before recording a window: while a locker is up, _NET_ACTIVE_WINDOW still names the last app.
import type { LockStateProbe } from '../core/contracts.ts';
import { createScreenLocker, type ScreenLocker, type ScreenLockerOptions } from './lock.ts';

/**
 * isLocked() resolves true/false, or rejects (CustodianError UNAVAILABLE / COMMAND_FAILED) when
 * the platform cannot tell (no display, unsupported OS): callers decide, nothing is guessed.
 */
export function createLockStateProbe(options: ScreenLockerOptions = {}): LockStateProbe {
  let locker: Promise<ScreenLocker> | undefined;
  return {
    isLocked() {
      locker ??= createScreenLocker(options);
      return locker.then((l) => l.isLocked());
    },
  };
}
