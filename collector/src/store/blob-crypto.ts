// Screenshots are encrypted at rest with AES-256-GCM. The key lives in a file readable only by
// the collector's user, OUTSIDE the data directory by default (a copied or backed-up data dir
// alone does not reveal evidence), or comes from the environment.
//
// Each stored chunk is iv(12) | tag(16) | ciphertext, with the chunk's key as additional
// authenticated data, so chunks cannot be swapped between blobs or positions undetected.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
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
        throw new CustodianError(
          ErrorCode.STORAGE,
          'an encrypted record failed authentication (wrong key, or moved to another key)',
          {
            cause: err,
          },
        );
      }
    },
  };
}

/**
 * Reads the key (base64 of 32 bytes, or 32 raw bytes) from `file`, creating it with mode 0600
 * on first start. Refuses (CUST_ERR_INVALID_CONFIG naming the file) a key file that is a
 * symbolic link, is not a regular file, is owned by another user than this process, or that
 * group or others can read. The file is opened with O_NOFOLLOW and checked on the open
 * descriptor, so a symlink swapped in between a check and the read is refused too. Only the
 * last path component is checked for a symlink: directories above it are the operator's.
 */
export function loadOrCreateKeyFile(file: string): { key: Uint8Array; created: boolean } {
  const refuse = (why: string, cause?: unknown): never => {
    throw new CustodianError(ErrorCode.INVALID_CONFIG, `screenshotKeyFile ${file} ${why}`, {
      details: { field: 'screenshotKeyFile', file },
      ...(cause !== undefined ? { cause } : {}),
    });
  };
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return refuse('is a symbolic link; give the path of the key file itself', err);
    if (code !== 'ENOENT') return refuse(`cannot be opened (${code})`, err);
    return createKeyFile(file, refuse);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) refuse('is not a regular file');
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid)
      refuse(
        `is owned by uid ${st.uid}, not by the collector's user (uid ${uid}); chown it or point to another file`,
      );
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0)
      refuse(`is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`);
    return { key: parseKey(readFileSync(fd), 'screenshotKeyFile'), created: false };
  } finally {
    closeSync(fd);
  }
}

function createKeyFile(
  file: string,
  refuse: (why: string, cause?: unknown) => never,
): { key: Uint8Array; created: boolean } {
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32);
  let fd: number;
  try {
    // O_EXCL never follows a symlink: a dangling link planted at the path makes this fail.
    fd = openSync(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (err) {
    return refuse(`cannot be created (${(err as NodeJS.ErrnoException).code})`, err);
  }
  try {
    fchmodSync(fd, 0o600);
    writeFileSync(fd, `${key.toString('base64')}\n`);
  } finally {
    closeSync(fd);
  }
  return { key, created: true };
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
