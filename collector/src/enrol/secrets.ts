// Random credentials and constant-time comparison of their hashes.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../store/records.ts';

/** 256 bits, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** BYOD codes are typed by people: 12 characters from an alphabet without look-alikes, in groups. */
export function newEnrolCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(12);
  let code = '';
  for (let i = 0; i < 12; i++) code += alphabet[(bytes[i] as number) % alphabet.length];
  return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
}

export function normaliseCode(code: string): string {
  return code.trim().toUpperCase();
}

export function hashMatches(plain: string, storedHex: string | undefined): boolean {
  if (storedHex === undefined) return false;
  const a = Buffer.from(sha256Hex(plain), 'hex');
  const b = Buffer.from(storedHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
