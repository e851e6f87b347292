// Encoding and decoding of whole frames, with the frame limit enforced in one place.
import './numbers.ts';
import { CustodianError, ErrorCode } from './errors.ts';
import { custodian } from './gen/custodian.js';
import { MAX_FRAME_BYTES } from './limits.ts';

export const v1 = custodian.v1;
export type AgentMessage = custodian.v1.AgentMessage;
export type CollectorMessage = custodian.v1.CollectorMessage;
export type IAgentMessage = custodian.v1.IAgentMessage;
export type ICollectorMessage = custodian.v1.ICollectorMessage;
export type IEvent = custodian.v1.IEvent;
export type Event = custodian.v1.Event;
export type IPolicy = custodian.v1.IPolicy;
export type ICommand = custodian.v1.ICommand;
export type IScopeState = custodian.v1.IScopeState;
/** Every generated message type, for consumers that need one not aliased here. */
export type { custodian };

function checkSize(bytes: Uint8Array): void {
  if (bytes.byteLength > MAX_FRAME_BYTES) {
    throw new CustodianError(
      ErrorCode.FRAME_TOO_LARGE,
      `frame of ${bytes.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`,
    );
  }
}

export function encodeAgentMessage(msg: IAgentMessage): Uint8Array {
  const bytes = v1.AgentMessage.encode(msg).finish();
  checkSize(bytes);
  return bytes;
}

export function encodeCollectorMessage(msg: ICollectorMessage): Uint8Array {
  const bytes = v1.CollectorMessage.encode(msg).finish();
  checkSize(bytes);
  return bytes;
}

function decodeWith<T>(what: string, bytes: Uint8Array, decode: (b: Uint8Array) => T): T {
  checkSize(bytes);
  try {
    return decode(bytes);
  } catch (err) {
    throw new CustodianError(ErrorCode.MALFORMED_FRAME, `not a valid ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function decodeAgentMessage(bytes: Uint8Array): AgentMessage {
  const msg = decodeWith('AgentMessage', bytes, (b) => v1.AgentMessage.decode(b));
  if (!msg.body)
    throw new CustodianError(ErrorCode.UNEXPECTED_MESSAGE, 'AgentMessage has no body (unknown kind)');
  return msg;
}

export function decodeCollectorMessage(bytes: Uint8Array): CollectorMessage {
  const msg = decodeWith('CollectorMessage', bytes, (b) => v1.CollectorMessage.decode(b));
  if (!msg.body)
    throw new CustodianError(ErrorCode.UNEXPECTED_MESSAGE, 'CollectorMessage has no body (unknown kind)');
  return msg;
}

/** The payload kinds of an Event, as named in the oneof (camelCase). */
export type EventKind = NonNullable<Event['payload']>;

export const EVENT_KINDS: readonly EventKind[] = [
  'agentStarted',
  'agentStopping',
  'heartbeat',
  'inventory',
  'activeWindow',
  'idleState',
  'screenLocked',
  'lockFailed',
  'usbAttached',
  'usbRemoved',
  'usbWriteBlocked',
  'fileWritten',
  'flaggedActivity',
  'policyApplied',
  'capabilities',
  'gap',
  'usbEnforcementFailed',
  'scopeChanged',
  'agentUninstalled',
];

export function eventKind(event: IEvent): EventKind | undefined {
  for (const kind of EVENT_KINDS) {
    if (event[kind] != null) return kind;
  }
  return undefined;
}

/**
 * Replaces lone UTF-16 surrogates (possible in window titles and file names) with U+FFFD.
 * protobufjs would write them as invalid UTF-8, the collector's strict decoder would refuse the
 * whole batch, and the agent would resend that poisoned batch forever.
 */
export function wellFormed<T>(value: T): T {
  if (typeof value === 'string') return (value.isWellFormed() ? value : value.toWellFormed()) as T;
  if (Array.isArray(value)) return value.map((v) => wellFormed(v)) as T;
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = wellFormed(v);
    return out as T;
  }
  return value;
}

/** Encodes one event for the outbox; device text is made well-formed first (see wellFormed). */
export function encodeEvent(event: IEvent): Uint8Array {
  return v1.Event.encode(wellFormed(event)).finish();
}

export function decodeEvent(bytes: Uint8Array): Event {
  return decodeWith('Event', bytes, (b) => v1.Event.decode(b));
}

/** JSON form for APIs: enums as names, 64-bit numbers as numbers, bytes as base64. */
export function eventToJson(event: Event): Record<string, unknown> {
  return v1.Event.toObject(event, { enums: String, longs: Number, bytes: String, oneofs: true });
}
