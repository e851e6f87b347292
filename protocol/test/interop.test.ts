// Proves the wire format is real protobuf: every top-level message kind encoded by the
// generated TypeScript is decoded by protoc (an independent C++ implementation), and
// messages encoded by protoc from text format are decoded by the TypeScript code.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decodeAgentMessage,
  decodeCollectorMessage,
  encodeAgentMessage,
  encodeCollectorMessage,
  type IAgentMessage,
  type ICollectorMessage,
} from '../src/index.ts';

const protoDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function protoc(args: string[], input: Uint8Array | string): Buffer {
  return execFileSync('protoc', [`--proto_path=${protoDir}`, ...args, 'custodian.proto'], {
    input,
    timeout: 10_000,
  });
}

const sha = new Uint8Array(32).fill(7);

const agentCases: Array<[string, IAgentMessage, string[]]> = [
  [
    'hello',
    {
      hello: {
        deviceId: 'dev-1',
        deviceKey: 'k3y',
        agentVersion: '0.1.0',
        streamId: 'stream-a',
        lastSeq: 9_007_199_254,
        policyVersion: 3,
        capabilities: [{ name: 'idle', available: false, reason: 'no X display' }],
        os: 'linux',
      },
    },
    ['device_id: "dev-1"', 'last_seq: 9007199254', 'reason: "no X display"', 'policy_version: 3'],
  ],
  [
    'batch',
    {
      batch: {
        streamId: 'stream-a',
        events: [
          {
            seq: 1,
            timeMs: 1_763_800_000_000,
            activeWindow: { app: 'Firefox', title: 'Café ünïcødé', pid: 42 },
          },
          {
            seq: 2,
            timeMs: 1_763_800_000_500,
            usbAttached: { device: 'sdb1', encryption: 2, decision: 2, sizeBytes: 64 * 1024 * 1024 },
          },
          { seq: 3, timeMs: 1, gap: { fromSeq: 10, toSeq: 20, reason: 'outbox-full', dropped: 11 } },
          {
            seq: 4,
            timeMs: 2,
            flaggedActivity: {
              category: 'self-harm',
              severity: 4,
              matchedTerm: 'unalive',
              screenshotBlobIds: ['b1'],
            },
          },
        ],
      },
    },
    [
      'title: "Caf\\303\\251 \\303\\274n\\303\\257c\\303\\270d\\303\\251"',
      'encryption: UNENCRYPTED',
      'decision: BLOCK_WRITE',
      'size_bytes: 67108864',
      'reason: "outbox-full"',
      'matched_term: "unalive"',
      'time_ms: 1763800000500',
    ],
  ],
  [
    'blob_chunk',
    {
      blobChunk: {
        blobId: 'b1',
        index: 2,
        totalChunks: 3,
        totalSize: 600_000,
        sha256: sha,
        contentType: 'image/png',
        data: new Uint8Array([0, 255, 10]),
      },
    },
    ['blob_id: "b1"', 'total_chunks: 3', 'total_size: 600000', 'data: "\\000\\377\\n"'],
  ],
  [
    'policy_applied',
    { policyApplied: { version: 12, ok: false, error: 'idle_lock_seconds 0' } },
    ['version: 12'],
  ],
  ['command_result', { commandResult: { commandId: 'c-9', ok: true } }, ['command_id: "c-9"', 'ok: true']],
  ['error', { error: { code: 'CUST_ERR_BAD_EVENT', message: 'x' } }, ['code: "CUST_ERR_BAD_EVENT"']],
];

const collectorCases: Array<[string, ICollectorMessage, string[]]> = [
  [
    'welcome',
    {
      welcome: {
        ackedSeq: 77,
        serverTimeMs: 1_763_800_000_000,
        heartbeatIntervalMs: 60_000,
        maxBatchEvents: 500,
      },
    },
    ['acked_seq: 77', 'server_time_ms: 1763800000000'],
  ],
  ['ack', { ack: { streamId: 's', seq: 123_456, duplicates: 2 } }, ['seq: 123456', 'duplicates: 2']],
  ['blob_ack', { blobAck: { blobId: 'b1', status: 2, reason: 'sha256' } }, ['status: HASH_MISMATCH']],
  [
    'policy',
    {
      policy: {
        version: 4,
        idleLock: { enabled: true, idleLockSeconds: 600, warningSeconds: 60 },
        usb: {
          mode: 2,
          allow: [
            { vendorId: '0781', productId: '5581', serial: 'ABC', approvedBy: 'it@school', reason: 'issued' },
          ],
          treatAsUsb: ['loop7'],
        },
        capture: {
          enabled: true,
          minSeverity: 3,
          ageBand: 'secondary',
          customTerms: [{ term: 'x', severity: 2 }],
        },
        heartbeatSeconds: 60,
      },
    },
    [
      'idle_lock_seconds: 600',
      'mode: BLOCK_UNENCRYPTED_WRITES',
      'treat_as_usb: "loop7"',
      'age_band: "secondary"',
    ],
  ],
  ['command', { command: { commandId: 'c-1', kind: 1 } }, ['kind: LOCK_NOW']],
  ['error', { error: { code: 'CUST_ERR_AUTH_FAILED', message: 'bad key' } }, ['message: "bad key"']],
];

describe('protoc decodes what TypeScript encodes', () => {
  it.each(agentCases)('AgentMessage.%s', (field, msg, expected) => {
    const text = protoc(['--decode=custodian.v1.AgentMessage'], encodeAgentMessage(msg)).toString('utf8');
    expect(text.startsWith(`${field} {`)).toBe(true);
    for (const line of expected) expect(text).toContain(line);
  });
  it.each(collectorCases)('CollectorMessage.%s', (field, msg, expected) => {
    const text = protoc(['--decode=custodian.v1.CollectorMessage'], encodeCollectorMessage(msg)).toString(
      'utf8',
    );
    expect(text.startsWith(`${field} {`)).toBe(true);
    for (const line of expected) expect(text).toContain(line);
  });
  it('covers every top-level message kind', () => {
    const agentFields = ['hello', 'batch', 'blob_chunk', 'policy_applied', 'command_result', 'error'];
    const collectorFields = ['welcome', 'ack', 'blob_ack', 'policy', 'command', 'error'];
    expect(agentCases.map((c) => c[0]).sort()).toEqual([...agentFields].sort());
    expect(collectorCases.map((c) => c[0]).sort()).toEqual([...collectorFields].sort());
  });
});

describe('TypeScript decodes what protoc encodes', () => {
  it('AgentMessage from text format', () => {
    const text = `batch { stream_id: "s-1" events { seq: 9007199254740 time_ms: 1763800000000
      usb_write_blocked { device: "sdc1" method: "remount-ro" } } }`;
    const msg = decodeAgentMessage(protoc(['--encode=custodian.v1.AgentMessage'], text));
    expect(msg.body).toBe('batch');
    const ev = msg.batch?.events?.[0];
    expect(ev?.seq).toBe(9_007_199_254_740);
    expect(ev?.timeMs).toBe(1_763_800_000_000);
    expect(ev?.usbWriteBlocked?.method).toBe('remount-ro');
    expect(ev?.payload).toBe('usbWriteBlocked');
  });
  it('AgentMessage.hello and blob_chunk', () => {
    const hello = decodeAgentMessage(
      protoc(['--encode=custodian.v1.AgentMessage'], 'hello { device_id: "d" stream_id: "s" last_seq: 41 }'),
    );
    expect(hello.hello?.lastSeq).toBe(41);
    const chunk = decodeAgentMessage(
      protoc(
        ['--encode=custodian.v1.AgentMessage'],
        'blob_chunk { blob_id: "b" data: "\\001\\002" total_size: 2 }',
      ),
    );
    expect(Array.from(chunk.blobChunk?.data ?? [])).toEqual([1, 2]);
  });
  it('CollectorMessage from text format', () => {
    const msg = decodeCollectorMessage(
      protoc(
        ['--encode=custodian.v1.CollectorMessage'],
        'policy { version: 8 usb { mode: BLOCK_ALL_WRITES allow { vendor_id: "0781" } } idle_lock { idle_lock_seconds: 900 } }',
      ),
    );
    expect(msg.policy?.version).toBe(8);
    expect(msg.policy?.usb?.mode).toBe(3);
    expect(msg.policy?.usb?.allow?.[0]?.vendorId).toBe('0781');
    expect(msg.policy?.idleLock?.idleLockSeconds).toBe(900);
  });
  it('CollectorMessage.ack', () => {
    const msg = decodeCollectorMessage(
      protoc(['--encode=custodian.v1.CollectorMessage'], 'ack { stream_id: "s" seq: 5 }'),
    );
    expect(msg.ack?.seq).toBe(5);
  });
});
