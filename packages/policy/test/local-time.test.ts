import { afterEach, describe, expect, it, vi } from 'vitest';
import { localTime, validTimeZone } from '../src/local-time.ts';

describe('validTimeZone', () => {
  afterEach(() => vi.restoreAllMocks());

  it('accepts canonical zones, aliases and other spellings Intl accepts; refuses the rest', () => {
    for (const z of [
      'Europe/London',
      'America/New_York',
      'Asia/Kolkata',
      'GB',
      'US/Eastern',
      'UTC',
      'europe/london',
    ])
      expect(validTimeZone(z), z).toBe(true);
    for (const z of ['', 'Mars/Olympus', 'Europe/Londres', 'London']) expect(validTimeZone(z), z).toBe(false);
  });

  it('checks a listed zone without building an Intl.DateTimeFormat (~8 MiB of ICU data)', () => {
    const built = vi.spyOn(Intl, 'DateTimeFormat');
    expect(validTimeZone('Europe/Dublin')).toBe(true);
    expect(built).not.toHaveBeenCalled();
    // An alias is not listed: the formatter decides, as before.
    expect(validTimeZone('Eire')).toBe(true);
    expect(built).toHaveBeenCalled();
  });

  it('the clock still reads the zone (BST)', () => {
    // 2026-07-01T12:00Z is 13:00 in London (summer time), a Wednesday.
    const t = localTime(Date.UTC(2026, 6, 1, 12, 0, 0), 'Europe/London');
    expect(t).toMatchObject({ weekday: 3, minutes: 13 * 60, day: '2026-07-01' });
  });
});
