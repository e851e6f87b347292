// Password hashing with scrypt from node:crypto (no native addon). The stored form is
// self-describing so the cost can be raised later without breaking existing hashes:
//   scrypt$N$r$p$saltB64url$hashB64url
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { badInput } from '../http/router.ts';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * N=2^16, r=8 (64 MiB, ~0.1-0.2 s per hash): four times RFC 7914's interactive-login figure.
 * OWASP's 2^17 doubles memory per concurrent login, which a login flood on a small school
 * server could turn into memory pressure; the throttle bounds attempts, this bounds cost.
 * Tests pass cheaper parameters through the service options; the hash records its own.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 16, r: 8, p: 1 };
const KEY_LEN = 32;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LEN,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return false;
  const salt = Buffer.from(parts[4] as string, 'base64url');
  const expected = Buffer.from(parts[5] as string, 'base64url');
  const actual = await scryptAsync(password, salt, { N, r, p });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Checks a new password against the password policy (its length, and not the username: a rule
 * between two fields); throws a 400 with a reason a person can act on. Its type is the route's.
 */
export function assertAcceptablePassword(password: string, username?: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw badInput(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw badInput('password is too long');
  if (username && password.toLowerCase().includes(username.toLowerCase()))
    throw badInput('password must not contain the username');
}

/** A random password for the first admin and for admin-created accounts (shown once). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
