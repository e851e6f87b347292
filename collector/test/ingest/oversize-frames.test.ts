// Memory (issue 21, fuzz campaign): frames whose decoded form is far larger than their bytes are
// refused on the undecoded bytes. A 1 MiB frame of empty events (2 bytes each) decodes into
// ~500,000 Event objects; before this, the collector built all of them and only then counted.
// Replayed from outside as an attacker would: a foreign ws client with hand-made frames.
import { CloseCode, ErrorCode, MAX_FRAME_BYTES, v1 } from '@custodian/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentClient, heartbeat } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

/** Tag + length of a length-delimited field (length < 2^21). */
function lenField(field: number, length: number): Buffer {
  const out = [(field << 3) | 2];
  let n = length;
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** AgentMessage{ <body field>: { <repeated field>: count × empty message } }, hand-encoded. */
function emptyElements(bodyField: number, repeatedField: number, count: number): Buffer {
  const inner = Buffer.alloc(count * 2);
  for (let i = 0; i < count; i++) {
    inner[i * 2] = (repeatedField << 3) | 2;
    inner[i * 2 + 1] = 0;
  }
  return Buffer.concat([lenField(bodyField, inner.length), inner]);
}

/** Calls of the generated decoder on frames of at least `bytes` (the collector decodes in this process). */
function spyOnBigDecodes(bytes: number): () => number {
  const decode = v1.AgentMessage.decode.bind(v1.AgentMessage);
  let big = 0;
  vi.spyOn(v1.AgentMessage, 'decode').mockImplementation(((r: Uint8Array, l?: number) => {
    if (r instanceof Uint8Array && r.byteLength >= bytes) big++;
    return decode(r, l);
  }) as typeof v1.AgentMessage.decode);
  return () => big;
}

describe('oversize frames are refused before decoding', () => {
  it('a batch of 400,000 empty events: LIMIT_EXCEEDED / BATCH_TOO_LARGE, never decoded', async () => {
    h = await startHarness();
    const { client: c } = await connectedDevice(h);
    const frame = emptyElements(2, 2, 400_000);
    expect(frame.byteLength).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const bigDecodes = spyOnBigDecodes(100_000);
    c.sendRaw(frame);
    const err = await c.next('error');
    expect(err.error?.code).toBe(ErrorCode.BATCH_TOO_LARGE);
    expect((await c.closed).code).toBe(CloseCode.LIMIT_EXCEEDED);
    expect(bigDecodes()).toBe(0);
  });

  it('an unauthenticated Hello with 300,000 empty capabilities: LIMIT_EXCEEDED, never decoded', async () => {
    h = await startHarness();
    const c = new AgentClient(h.wsUrl);
    await c.opened;
    const bigDecodes = spyOnBigDecodes(100_000);
    c.sendRaw(emptyElements(1, 7, 300_000));
    expect((await c.next('error')).error?.code).toBe(ErrorCode.INVALID_INPUT);
    expect((await c.closed).code).toBe(CloseCode.LIMIT_EXCEEDED);
    expect(bigDecodes()).toBe(0);
  });

  it('a batch of exactly 500 events is still taken', async () => {
    h = await startHarness();
    const { client: c, stream } = await connectedDevice(h);
    c.send({
      batch: {
        streamId: stream,
        events: Array.from({ length: 500 }, (_, i) => heartbeat(i + 1)),
      },
    });
    expect(Number((await c.next('ack')).ack?.seq)).toBe(500);
    c.close();
  });
});
