// Chunked blob (screenshot) uploads of one session. Chunks must arrive in order; each is
// encrypted and written as it arrives (unsynced), the SHA-256 is computed incrementally, and
// the blob is acked STORED only after the final meta write is durable through the group commit.
import { createHash, type Hash } from 'node:crypto';
import { BLOB_CHUNK_BYTES, MAX_BLOB_BYTES, MAX_FRAME_BYTES } from '@custodian/protocol';

export const CONTENT_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
/** Uploads one session may have open at once. */
export const MAX_OPEN_UPLOADS = 8;
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ChunkIn {
  blobId: string;
  index: number;
  totalChunks: number;
  totalSize: number;
  sha256: Uint8Array;
  contentType: string;
  data: Uint8Array;
}

export interface Upload {
  blobId: string;
  totalChunks: number;
  totalSize: number;
  sha256Hex: string;
  contentType: string;
  nextIndex: number;
  received: number;
  hash: Hash;
  /** The blob is already stored: verify the hash, write nothing. */
  alreadyStored: boolean;
}

export type ChunkVerdict = { kind: 'reject'; reason: string } | { kind: 'tooLarge'; reason: string };

/** Checks one chunk's own fields (not its place in an upload). */
export function checkChunk(c: ChunkIn): ChunkVerdict | undefined {
  if (!SAFE_ID.test(c.blobId)) return { kind: 'reject', reason: 'blob id is not a valid id' };
  if (c.totalSize > MAX_BLOB_BYTES) {
    return { kind: 'tooLarge', reason: `blob of ${c.totalSize} bytes exceeds ${MAX_BLOB_BYTES}` };
  }
  if (c.totalSize < 1) return { kind: 'reject', reason: 'blob is empty' };
  if (c.sha256.byteLength !== 32) return { kind: 'reject', reason: 'sha256 must be 32 bytes' };
  if (!CONTENT_TYPES.has(c.contentType)) return { kind: 'reject', reason: 'content type not accepted' };
  const maxChunks = Math.ceil(MAX_BLOB_BYTES / 1024);
  if (
    !Number.isInteger(c.totalChunks) ||
    c.totalChunks < 1 ||
    c.totalChunks > maxChunks ||
    c.totalChunks > c.totalSize
  ) {
    return { kind: 'reject', reason: 'total_chunks is not plausible' };
  }
  if (!Number.isInteger(c.index) || c.index < 0 || c.index >= c.totalChunks)
    return { kind: 'reject', reason: 'chunk index out of range' };
  if (c.data.byteLength === 0 || c.data.byteLength > Math.max(BLOB_CHUNK_BYTES, MAX_FRAME_BYTES - 1024)) {
    return { kind: 'reject', reason: 'chunk size out of range' };
  }
  return undefined;
}

export function startUpload(c: ChunkIn, alreadyStored: boolean): Upload {
  return {
    blobId: c.blobId,
    totalChunks: c.totalChunks,
    totalSize: c.totalSize,
    sha256Hex: Buffer.from(c.sha256).toString('hex'),
    contentType: c.contentType,
    nextIndex: 0,
    received: 0,
    hash: createHash('sha256'),
    alreadyStored,
  };
}

/** Checks that a chunk continues its upload consistently. */
export function continues(u: Upload, c: ChunkIn): string | undefined {
  if (c.index !== u.nextIndex)
    return `chunk ${c.index} out of order (expected ${u.nextIndex}); resend the whole blob`;
  if (c.totalChunks !== u.totalChunks || c.totalSize !== u.totalSize || c.contentType !== u.contentType) {
    return 'chunk metadata differs from the first chunk';
  }
  if (Buffer.from(c.sha256).toString('hex') !== u.sha256Hex)
    return 'chunk sha256 differs from the first chunk';
  if (u.received + c.data.byteLength > u.totalSize) return 'chunks exceed total_size';
  return undefined;
}
