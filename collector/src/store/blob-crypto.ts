// Screenshots are encrypted at rest with AES-256-GCM. The key lives in a file readable only by
// the collector's user, OUTSIDE the data directory by default (a copied or backed-up data dir
// alone does not reveal evidence), or comes from the environment.
//
// Each stored chunk is iv(12) | tag(16) | ciphertext, with the chunk's key as additional
// authenticated data, so chunks cannot be swapped between blobs or positions undetected.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CustodianError, ErrorCode } from '@custodian/protocol';

export interface BlobCipher {
  encrypt(aad: string, plain: Uint8Array): Uint8Array;
  decrypt(aad: string, sealed: Uint8Array): Uint8Array;
}

export function createBlobCipher(key: Uint8Array): BlobCipher {
  if (key.byteLength !== 32) {
    throw new CustodianError(ErrorCode.INVALID_CONFIG, 'screenshot key must be 32 bytes (AES-256)');
  }
  const k = Buffer.from(key);
  return {
    encrypt(aad, plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', k, iv);
      cipher.setAAD(Buffer.from(aad));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decrypt(aad, sealed) {
      if (sealed.byteLength < 28) throw new CustodianError(ErrorCode.STORAGE, 'encrypted chunk is truncated');
      const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      const decipher = createDecipheriv('aes-256-gcm', k, buf.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(buf.subarray(12, 28));
      try {
        return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]);
      } catch (err) {
        throw new CustodianError(ErrorCode.STORAGE, 'screenshot chunk failed authentication (wrong key?)', {
          cause: err,
        });
      }
    },
  };
}

/**
 * Reads the key (base64 of 32 bytes, or 32 raw bytes) from `file`, creating it with mode 0600
 * on first start. Refuses a key file that group or others can read.
 */
export function loadOrCreateKeyFile(file: string): { key: Uint8Array; created: boolean } {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { key, created: true };
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new CustodianError(
      ErrorCode.INVALID_CONFIG,
      `screenshotKeyFile ${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`,
      { details: { field: 'screenshotKeyFile' } },
    );
  }
  return { key: parseKey(readFileSync(file), 'screenshotKeyFile'), created: false };
}

export function parseKey(raw: Uint8Array | string, field: string): Uint8Array {
  const text = Buffer.from(raw).toString('utf8').trim();
  const decoded = Buffer.from(text, 'base64');
  if (decoded.byteLength === 32 && /^[A-Za-z0-9+/=_-]+$/.test(text)) return decoded;
  if (typeof raw !== 'string' && raw.byteLength === 32) return raw;
  throw new CustodianError(ErrorCode.INVALID_CONFIG, `${field} must hold a base64-encoded 32-byte key`, {
    details: { field },
  });
}
