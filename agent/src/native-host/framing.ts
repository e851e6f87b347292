// Chrome native messaging framing: each message is a 4-byte little-endian length and that many
// bytes of UTF-8 JSON. Pure: bytes in, decoded messages or drop reasons out. An oversized frame
// is skipped byte for byte, so the stream stays in step and the host stays up.

/** What the extension may send in one message (the extension bounds page text to 32 KiB). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export type Frame =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'oversized' | 'malformed-json'; bytes: number };

export class FrameDecoder {
  private buf = Buffer.alloc(0);
  /** Bytes of an oversized frame still to skip. */
  private skipping = 0;
  private readonly max: number;

  constructor(max = MAX_MESSAGE_BYTES) {
    this.max = max;
  }

  /** Feeds bytes; returns every frame completed by them, in order. */
  push(chunk: Uint8Array): Frame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.buf.length);
        this.skipping -= n;
        this.buf = this.buf.subarray(n);
        if (this.skipping > 0) break;
        continue;
      }
      if (this.buf.length < 4) break;
      const len = this.buf.readUInt32LE(0);
      if (len > this.max) {
        out.push({ ok: false, reason: 'oversized', bytes: len });
        this.buf = this.buf.subarray(4);
        this.skipping = len;
        continue;
      }
      if (this.buf.length < 4 + len) break;
      const body = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      try {
        out.push({ ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) });
      } catch {
        out.push({ ok: false, reason: 'malformed-json', bytes: len });
      }
    }
    return out;
  }

  /** Bytes held for an incomplete frame (bounded by the maximum message size). */
  get pending(): number {
    return this.buf.length;
  }
}

/** One frame for the other direction (host → extension). */
export function encodeFrame(value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}
