import { describe, expect, it } from 'vitest';
import { parseCookies, serializeCookie } from '../../src/auth/cookies.ts';

describe('cookies', () => {
  it('marks session cookies httpOnly + SameSite=Strict, and Secure under TLS', () => {
    expect(serializeCookie('custodian_session', 'abc', { secure: false, maxAgeSeconds: 60 })).toBe(
      'custodian_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    expect(serializeCookie('__Host-custodian_session', 'abc', { secure: true })).toBe(
      '__Host-custodian_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure',
    );
  });

  it('parses tolerant of junk, first occurrence wins', () => {
    const c = parseCookies('a=1; junk; b="two"; a=3; =x');
    expect(c.get('a')).toBe('1');
    expect(c.get('b')).toBe('two');
    expect(c.size).toBe(2);
    expect(parseCookies(undefined).size).toBe(0);
  });
});
