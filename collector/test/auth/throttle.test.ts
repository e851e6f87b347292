import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../src/auth/throttle.ts';

describe('LoginThrottle', () => {
  it('allows the free attempts, then doubles the wait, and forgets after success', async () => {
    let t = 1_000_000;
    const th = new LoginThrottle({ now: () => t, freeAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(await th.retryAfterMs('alice', '10.0.0.1')).toBe(0);
      await th.recordFailure('alice', '10.0.0.1');
    }
    expect(await th.retryAfterMs('alice', '10.0.0.1')).toBe(1000);
    expect(await th.retryAfterMs('Alice', '10.0.0.1')).toBe(1000); // usernames are case-insensitive
    expect(await th.retryAfterMs('alice', '10.0.0.2')).toBe(0); // another machine is not locked out
    t += 1000;
    await th.recordFailure('alice', '10.0.0.1');
    expect(await th.retryAfterMs('alice', '10.0.0.1')).toBe(2000);
    await th.recordSuccess('alice', '10.0.0.1');
    expect(await th.retryAfterMs('alice', '10.0.0.1')).toBe(0);
  });

  it('caps the delay and throttles one ip spraying many usernames', async () => {
    let t = 0;
    const th = new LoginThrottle({
      now: () => t,
      freeAttempts: 1,
      baseDelayMs: 1000,
      maxDelayMs: 5000,
      perIpFreeAttempts: 10,
    });
    for (let i = 0; i < 20; i++) await th.recordFailure('bob', '1.2.3.4');
    expect(await th.retryAfterMs('bob', '1.2.3.4')).toBe(5000);
    for (let i = 0; i < 10; i++) await th.recordFailure(`user${i}`, '9.9.9.9');
    // The per-IP bucket: 10 failures with 10 free is the base delay, whatever the name.
    expect(await th.retryAfterMs('fresh-name', '9.9.9.9')).toBe(1000);
    t += 60 * 60_000;
    expect(await th.retryAfterMs('bob', '1.2.3.4')).toBe(0);
  });

  it('rejects impossible options', () => {
    expect(() => new LoginThrottle({ freeAttempts: 0 })).toThrow(TypeError);
  });
});
