// Counts, on the undecoded bytes, the repeated elements whose number the protocol limits, so a
// receiver refuses an oversize frame BEFORE decoding it. Decoding first is what costs: a 1 MiB
// frame of empty events (2 bytes each) decodes into ~500,000 Event objects (tens of MiB of heap)
// before a count check after decoding could refuse it. This walks the wire format without
// allocating; a frame it cannot walk is left to the decoder, which names it MALFORMED.

/** Tag numbers in protocol/custodian.proto (AgentMessage.hello/batch, Hello.capabilities, EventBatch.events). */
const AGENT_HELLO = 1;
const AGENT_BATCH = 2;
const HELLO_CAPABILITIES = 7;
const BATCH_EVENTS = 2;
const LEN = 2;

export interface FrameCounts {
  /** Events over every EventBatch in the frame (a repeated oneof member merges). */
  events: number;
  /** Capabilities over every Hello in the frame. */
  capabilities: number;
}

/** The counts, or undefined when the bytes are not walkable protobuf (the decoder then refuses them). */
export function countAgentFrame(bytes: Uint8Array): FrameCounts | undefined {
  const counts: FrameCounts = { events: 0, capabilities: 0 };
  const ok = walk(bytes, 0, bytes.length, (field, wire, start, end) => {
    if (wire !== LEN) return true;
    if (field === AGENT_BATCH)
      return walk(bytes, start, end, (f, w) => {
        if (f === BATCH_EVENTS && w === LEN) counts.events++;
        return true;
      });
    if (field === AGENT_HELLO)
      return walk(bytes, start, end, (f, w) => {
        if (f === HELLO_CAPABILITIES && w === LEN) counts.capabilities++;
        return true;
      });
    return true;
  });
  return ok ? counts : undefined;
}

type Visit = (field: number, wire: number, start: number, end: number) => boolean;

/** Calls visit for each field of the message in bytes[from, to); false if the wire format breaks. */
function walk(bytes: Uint8Array, from: number, to: number, visit: Visit): boolean {
  let at = from;
  while (at < to) {
    const tag = varint(bytes, at, to);
    if (!tag) return false;
    at = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0) return false;
    let start = at;
    let end: number;
    switch (wire) {
      case 0: {
        const v = varint(bytes, at, to);
        if (!v) return false;
        end = v.next;
        break;
      }
      case 1:
        end = at + 8;
        break;
      case 5:
        end = at + 4;
        break;
      case LEN: {
        const len = varint(bytes, at, to);
        if (!len) return false;
        start = len.next;
        end = start + len.value;
        break;
      }
      default:
        return false;
    }
    if (end > to) return false;
    if (!visit(field, wire, start, end)) return false;
    at = end;
  }
  return true;
}

/** A varint of up to 10 bytes (values past 2^53 lose precision, which only matters for lengths: those fail the bounds check). */
function varint(bytes: Uint8Array, from: number, to: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let at = from; at < to && at < from + 10; at++) {
    const b = bytes[at] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return { value, next: at + 1 };
  }
  return undefined;
}
