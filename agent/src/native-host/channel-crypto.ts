// The channel's handshake and sealing (channel.ts), pure. Both ends hold this start's token; it
// never crosses the channel. From the host's nonce nH and the agent's nA:
// - agentProof = HMAC(token, "agent|nH|nA"): the agent shows it holds the token;
// - hostProof  = HMAC(token, "host|nH|nA"):  the host shows it holds the token;
// - key        = HMAC(token, "key|nH|nA"):   AES-256-GCM for every later host line, each with a
//   strictly increasing counter (the IV), so a relay in the middle reads, changes, reorders or
//   replays nothing.
// Why sealing and not only proofs: on Windows any local account may create an instance of the
// pipe's name (libuv's writableAll grants Everyone FILE_CREATE_PIPE_INSTANCE; Wine does not even
// enforce the first instance). A squatter can then relay the handshake to the real agent and
// would read plain lines; sealed, it sees ciphertext only.
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';

const HEX64 = /^[0-9a-f]{64}$/;

export interface ChannelKeys {
  agentProof: string;
  hostProof: string;
  key: Buffer;
}

export function channelKeys(tokenHex: string, hostNonce: string, agentNonce: string): ChannelKeys {
  const mac = (label: string) =>
    createHmac('sha256', Buffer.from(tokenHex, 'hex')).update(`${label}|${hostNonce}|${agentNonce}`).digest();
  return {
    agentProof: mac('agent').toString('hex'),
    hostProof: mac('host').toString('hex'),
    key: mac('key'),
  };
}

/** Constant-time comparison of a received 64-hex proof with the expected one. */
export function proofEquals(received: unknown, expected: string): boolean {
  if (typeof received !== 'string' || !HEX64.test(received)) return false;
  return timingSafeEqual(Buffer.from(received, 'hex'), Buffer.from(expected, 'hex'));
}

export function isNonce(v: unknown): v is string {
  return typeof v === 'string' && HEX64.test(v);
}

function iv(counter: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUIntBE(counter, 6, 6);
  return b;
}

/** One sealed line: base64(counter(6) | ciphertext | tag(16)). Counters start at 1. */
export function sealLine(key: Buffer, counter: number, text: string): string {
  const c = createCipheriv('aes-256-gcm', key, iv(counter));
  const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  const head = Buffer.alloc(6);
  head.writeUIntBE(counter, 0, 6);
  return Buffer.concat([head, body, c.getAuthTag()]).toString('base64');
}

/** The text of a sealed line whose counter is above `last`; undefined when forged, replayed or malformed. */
export function openLine(
  key: Buffer,
  last: number,
  line: string,
): { counter: number; text: string } | undefined {
  const raw = Buffer.from(line, 'base64');
  if (raw.length < 6 + 16) return undefined;
  const counter = raw.readUIntBE(0, 6);
  if (counter <= last) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv(counter));
    d.setAuthTag(raw.subarray(raw.length - 16));
    const text = Buffer.concat([d.update(raw.subarray(6, raw.length - 16)), d.final()]).toString('utf8');
    return { counter, text };
  } catch {
    return undefined;
  }
}
