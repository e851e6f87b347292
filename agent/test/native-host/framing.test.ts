import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../src/native-host/framing.ts';

const frame = (b: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(b.length, 0);
  return Buffer.concat([h, b]);
};

describe('native messaging framing', () => {
  it('decodes frames split anywhere, in order', () => {
    const bytes = Buffer.concat([encodeFrame({ a: 1 }), encodeFrame({ b: 'ü' })]);
    const d = new FrameDecoder();
    const out = [];
    for (const byte of bytes) out.push(...d.push(Buffer.from([byte])));
    expect(out).toEqual([
      { ok: true, value: { a: 1 } },
      { ok: true, value: { b: 'ü' } },
    ]);
    expect(d.pending).toBe(0);
  });

  it('skips an oversized frame byte for byte and stays in step', () => {
    const d = new FrameDecoder(16);
    const big = frame(Buffer.alloc(40, 0x78));
    const out = [
      ...d.push(big.subarray(0, 10)),
      ...d.push(Buffer.concat([big.subarray(10), encodeFrame(7)])),
    ];
    expect(out).toEqual([
      { ok: false, reason: 'oversized', bytes: 40 },
      { ok: true, value: 7 },
    ]);
  });

  it('reports malformed JSON and invalid UTF-8, then goes on', () => {
    const d = new FrameDecoder();
    const out = d.push(
      Buffer.concat([frame(Buffer.from('{x')), frame(Buffer.from([0x22, 0xff, 0x22])), encodeFrame(true)]),
    );
    expect(out).toEqual([
      { ok: false, reason: 'malformed-json', bytes: 2 },
      { ok: false, reason: 'malformed-json', bytes: 3 },
      { ok: true, value: true },
    ]);
  });
});
