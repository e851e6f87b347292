// countAgentFrame: the counts a receiver checks before decoding (src/precheck.ts).
import { describe, expect, it } from 'vitest';
import { countAgentFrame, encodeAgentMessage } from '../src/index.ts';

describe('countAgentFrame', () => {
  it('counts the events of a batch and the capabilities of a Hello, as the decoder would see them', () => {
    const batch = encodeAgentMessage({
      batch: { streamId: 's', events: Array.from({ length: 7 }, (_, i) => ({ seq: i + 1, heartbeat: {} })) },
    });
    expect(countAgentFrame(batch)).toEqual({ events: 7, capabilities: 0 });
    const hello = encodeAgentMessage({
      hello: { deviceId: 'd', capabilities: [{ name: 'a' }, { name: 'b' }, {}] },
    });
    expect(countAgentFrame(hello)).toEqual({ events: 0, capabilities: 3 });
  });

  it('adds up a batch field repeated in one frame (protobuf merges them into one batch)', () => {
    const one = encodeAgentMessage({ batch: { events: [{ seq: 1 }, { seq: 2 }] } });
    expect(countAgentFrame(new Uint8Array([...one, ...one, ...one]))).toEqual({ events: 6, capabilities: 0 });
  });

  it('leaves frames it cannot walk to the decoder', () => {
    expect(countAgentFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]))).toBeUndefined();
    // A length running past the end.
    expect(countAgentFrame(new Uint8Array([0x12, 0x05, 0x12, 0x00]))).toBeUndefined();
    // Wire types 3, 4 (groups) and 6, 7 are not used by this protocol.
    expect(countAgentFrame(new Uint8Array([0x0b]))).toBeUndefined();
    expect(countAgentFrame(new Uint8Array([]))).toEqual({ events: 0, capabilities: 0 });
  });
});
