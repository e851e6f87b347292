import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, hashPassword, verifyPassword } from '../../src/auth/password.ts';

describe('scrypt password hashes', () => {
  it('verifies the right password with the production cost and rejects others', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(
      new RegExp(`^scrypt\\$${DEFAULT_SCRYPT.N}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`),
    );
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts every hash and refuses malformed stored values', async () => {
    const a = await hashPassword('same password here', { N: 1024, r: 8, p: 1 });
    const b = await hashPassword('same password here', { N: 1024, r: 8, p: 1 });
    expect(a).not.toBe(b);
    // Flip one bit of the stored key (decoded first: the last base64url character holds padding bits).
    const parts = a.split('$');
    const key = Buffer.from(parts[5] as string, 'base64url');
    key[0] = (key[0] as number) ^ 1;
    parts[5] = key.toString('base64url');
    expect(await verifyPassword('same password here', parts.join('$'))).toBe(false);
    expect(await verifyPassword('same password here', a)).toBe(true);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$0$8$1$aa$bb')).toBe(false);
  });
});
