import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isStale } from '../scripts/generate.ts';
import {
  CloseCode,
  closeCodeName,
  decodeAgentMessage,
  decodeEvent,
  ErrorCode,
  EVENT_KINDS,
  encodeAgentMessage,
  encodeEvent,
  eventKind,
  isCustodianError,
  MAX_FRAME_BYTES,
  v1,
} from '../src/index.ts';

describe('codec', () => {
  it('rejects garbage with a stable code', () => {
    let caught: unknown;
    try {
      decodeAgentMessage(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]));
    } catch (err) {
      caught = err;
    }
    expect(isCustodianError(caught, ErrorCode.MALFORMED_FRAME)).toBe(true);
  });
  it('rejects an empty message as an unknown kind', () => {
    expect(() => decodeAgentMessage(new Uint8Array())).toThrow(/no body/);
  });
  it('rejects frames over the limit before decoding', () => {
    expect(() => decodeAgentMessage(new Uint8Array(MAX_FRAME_BYTES + 1))).toThrow(/exceeds/);
    expect(() => encodeAgentMessage({ error: { code: 'x', message: 'y'.repeat(MAX_FRAME_BYTES) } })).toThrow(
      /exceeds/,
    );
  });
  it('knows every event payload of the schema', () => {
    const proto = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../custodian.proto'), 'utf8');
    const oneof = /oneof payload \{([^}]*)\}/.exec(proto)?.[1] ?? '';
    const fields = [...oneof.matchAll(/\s(\w+) = \d+;/g)].map((m) =>
      (m[1] ?? '').replace(/_(\w)/g, (_, c: string) => c.toUpperCase()),
    );
    expect(fields.length).toBeGreaterThan(10);
    expect([...EVENT_KINDS].sort()).toEqual(fields.sort());
    expect(eventKind({ seq: 1, gap: { fromSeq: 1 } })).toBe('gap');
    expect(eventKind({ seq: 1 })).toBeUndefined();
  });
  it('names close codes', () => {
    expect(closeCodeName(CloseCode.AUTH_FAILED)).toBe('AUTH_FAILED');
    expect(closeCodeName(4999)).toBeUndefined();
  });
});

describe('device text', () => {
  it('turns lone surrogates into U+FFFD so the collector can decode the event', () => {
    const bytes = encodeEvent({ seq: 1, activeWindow: { title: 'a\ud800b', app: 'ok' } });
    const back = decodeEvent(bytes);
    expect(back.activeWindow?.title).toBe('a\ufffdb');
    expect(back.activeWindow?.app).toBe('ok');
    // Without the repair, the strict decoder refuses the frame outright.
    const raw = v1.Event.encode({ seq: 1, activeWindow: { title: 'a\ud800b' } }).finish();
    expect(() => decodeEvent(raw)).toThrow(/not a valid Event/);
  });
});

describe('generated code', () => {
  it('is current with custodian.proto', () => {
    expect(isStale()).toEqual([]);
  }, 120_000);
});

describe('runtime', () => {
  it('runs on Node 24 or newer', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBeGreaterThanOrEqual(24);
  });
});
