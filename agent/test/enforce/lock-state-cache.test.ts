import { describe, expect, it } from 'vitest';
import type { ScreenLocker } from '../../src/platform/lock.ts';
import { withLockStateCache } from '../../src/platform/lock-state.ts';
import { parseUdevMonitorLine } from '../../src/platform/usb-parse.linux.ts';

function fakeLocker(state: { locked: boolean; reads: number; fail?: boolean }): ScreenLocker {
  return {
    methods: ['fake'],
    availability: async () => ({ available: true, reason: 'fake' }),
    lock: async () => {
      state.locked = true;
      return 'fake';
    },
    isLocked: async () => {
      state.reads++;
      if (state.fail) throw new Error('cannot tell');
      return state.locked;
    },
  };
}

describe('withLockStateCache', () => {
  it('answers from the cache within maxAgeMs, shares a read under way, and tells listeners of changes', async () => {
    let now = 1_000;
    const state = { locked: false, reads: 0 };
    const l = withLockStateCache(fakeLocker(state), () => now);
    const seen: boolean[] = [];
    l.onChange((v) => seen.push(v));
    await Promise.all([l.isLocked(), l.isLocked()]);
    expect(state.reads).toBe(1);
    now += 4_000;
    expect(await l.isLocked(5_000)).toBe(false);
    expect(state.reads).toBe(1);
    state.locked = true;
    expect(await l.isLocked(1_000)).toBe(true);
    expect(state.reads).toBe(2);
    expect(seen).toEqual([true]);
  });

  it('caches nothing when the state cannot be read, and lock() records the verified lock without telling listeners', async () => {
    const state = { locked: false, reads: 0, fail: true };
    const l = withLockStateCache(fakeLocker(state));
    const seen: boolean[] = [];
    l.onChange((v) => seen.push(v));
    await expect(l.isLocked()).rejects.toThrow('cannot tell');
    await expect(l.isLocked(60_000)).rejects.toThrow('cannot tell');
    expect(state.reads).toBe(2);
    state.fail = false;
    await l.lock();
    expect(await l.isLocked(60_000)).toBe(true);
    expect(state.reads).toBe(2);
    expect(seen).toEqual([]);
  });
});

describe('udevadm monitor lines', () => {
  it('parses kernel uevents (--kernel) as well as udev ones', () => {
    expect(parseUdevMonitorLine('KERNEL[3254.866980] change   /devices/virtual/block/loop0 (block)')).toEqual(
      {
        action: 'change',
        kernelName: 'loop0',
      },
    );
    expect(parseUdevMonitorLine('KERNEL - the kernel uevent')).toBeUndefined();
  });
});
