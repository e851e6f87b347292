// The shared "is the screen locked?" probe (AgentContext.lockState). The window monitor asks it
// before recording a window: while a locker is up, _NET_ACTIVE_WINDOW still names the last app.
// The idle-lock enforcer needs the same answer. Reading it may spawn a process (X11: xwininfo),
// so both share one screen locker whose state reads are cached briefly and never run twice at
// once; a change seen by either is pushed to the other's listener.
import type { LockStateProbe } from '../core/contracts.ts';
import { createScreenLocker, type ScreenLocker, type ScreenLockerOptions } from './lock.ts';

/** Default age of a lock-state answer that is still handed out without asking the OS again. */
export const LOCK_STATE_FRESH_MS = 1_000;

export interface CachedScreenLocker extends ScreenLocker {
  /**
   * The lock state, from the cache when it is at most maxAgeMs old (default LOCK_STATE_FRESH_MS),
   * else read now (a read already under way is shared). Rejects like ScreenLocker.isLocked.
   */
  isLocked(maxAgeMs?: number): Promise<boolean>;
  /** Called whenever a read (by anyone) finds the state changed since the previous answer. */
  onChange(listener: (locked: boolean) => void): () => void;
}

export function isCachedScreenLocker(l: ScreenLocker): l is CachedScreenLocker {
  return 'onChange' in l && typeof (l as CachedScreenLocker).onChange === 'function';
}

/** Wraps a locker with the cache described above (a wrapped one is returned as it is). */
export function withLockStateCache(locker: ScreenLocker, now: () => number = Date.now): CachedScreenLocker {
  if (isCachedScreenLocker(locker)) return locker;
  let last: { locked: boolean; at: number } | undefined;
  let reading: Promise<boolean> | undefined;
  const listeners = new Set<(locked: boolean) => void>();

  function record(locked: boolean, at: number): void {
    const changed = last !== undefined && last.locked !== locked;
    last = { locked, at };
    if (changed) for (const l of [...listeners]) l(locked);
  }

  return {
    methods: locker.methods,
    ...(locker.onTamper ? { onTamper: (l: (what: string) => void) => locker.onTamper!(l) } : {}),
    availability: () => locker.availability(),
    async lock() {
      // A failed attempt may still have changed something: the next read asks the OS.
      last = undefined;
      const method = await locker.lock();
      // lock() verified the lock took. The caller knows it locked: listeners are not told.
      last = { locked: true, at: now() };
      return method;
    },
    isLocked(maxAgeMs = LOCK_STATE_FRESH_MS) {
      if (last && now() - last.at <= maxAgeMs) return Promise.resolve(last.locked);
      if (reading) return reading;
      const started = now();
      reading = locker.isLocked().then(
        (locked) => {
          reading = undefined;
          record(locked, started);
          return locked;
        },
        (err: unknown) => {
          reading = undefined;
          // Unknown is not "unlocked": nothing is cached, the caller decides.
          last = undefined;
          throw err;
        },
      );
      return reading;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

let shared: Promise<CachedScreenLocker> | undefined;

/**
 * The process's screen locker with default options (this process's environment), shared by the
 * window monitor (through createLockStateProbe()) and the idle-lock enforcer.
 */
export function sharedScreenLocker(): Promise<CachedScreenLocker> {
  shared ??= createScreenLocker().then((l) => withLockStateCache(l));
  return shared;
}

/**
 * isLocked() resolves true/false, or rejects (CustodianError UNAVAILABLE / COMMAND_FAILED) when
 * the platform cannot tell (no display, unsupported OS): callers decide, nothing is guessed.
 * Without options it reads through the shared locker above.
 */
export function createLockStateProbe(options?: ScreenLockerOptions): LockStateProbe {
  let locker: Promise<CachedScreenLocker> | undefined;
  return {
    isLocked() {
      locker ??= options
        ? createScreenLocker(options).then((l) => withLockStateCache(l))
        : sharedScreenLocker();
      return locker.then((l) => l.isLocked());
    },
  };
}
