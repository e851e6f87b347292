// Hard limits of protocol v1. They are part of the wire contract: a peer that breaks one
// gets the named close code below. Change them only together with the protocol version.

/** WebSocket subprotocol; the version of the wire contract. */
export const SUBPROTOCOL = 'custodian.v1';

/** Largest single WebSocket frame (one protobuf message) either side accepts. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Most events in one EventBatch. */
export const MAX_BATCH_EVENTS = 500;
/** Most capabilities in one Hello (the agent reports about 15). */
export const MAX_HELLO_CAPABILITIES = 256;
/** Largest blob (a screenshot burst frame) the collector accepts. */
export const MAX_BLOB_BYTES = 16 * 1024 * 1024;
/** Size of a blob chunk's data; frames stay well under MAX_FRAME_BYTES. */
export const BLOB_CHUNK_BYTES = 256 * 1024;
/** Longest string field the collector stores unchanged; longer ones are truncated and flagged. */
export const MAX_STRING_CHARS = 4096;
/** The Hello must arrive within this time of the socket opening. */
export const HELLO_DEADLINE_MS = 10_000;

/**
 * WebSocket close codes (4000-4999 is the application range). Names are stable: logs,
 * agents and tests refer to them by name.
 */
export const CloseCode = {
  /** Normal shutdown of either side. */
  NORMAL: 1000,
  /** Collector shutting down; reconnect with backoff. */
  GOING_AWAY: 1001,
  /** Frame larger than MAX_FRAME_BYTES (ws closes with 1009 itself). */
  FRAME_TOO_LARGE: 1009,
  /** The client did not ask for SUBPROTOCOL. */
  BAD_SUBPROTOCOL: 4000,
  /** No Hello within HELLO_DEADLINE_MS. */
  AUTH_TIMEOUT: 4001,
  /** Unknown device or wrong key. Do not retry quickly. */
  AUTH_FAILED: 4002,
  /** Device revoked (leaver, lost laptop, or re-enrolled elsewhere). Stop retrying. */
  DEVICE_REVOKED: 4003,
  /** A frame that is not a decodable AgentMessage. */
  MALFORMED: 4004,
  /** A message that is valid protobuf but breaks the protocol (wrong order, unknown kind). */
  PROTOCOL_VIOLATION: 4005,
  /** More than MAX_BATCH_EVENTS events, or a blob over MAX_BLOB_BYTES. */
  LIMIT_EXCEEDED: 4006,
  /** No traffic and no pong within the idle timeout. */
  IDLE_TIMEOUT: 4007,
  /** The collector could not write durably (disk full, I/O error). Retry later. */
  STORAGE_UNAVAILABLE: 4008,
  /** A newer session of the same device replaced this one. */
  REPLACED: 4009,
} as const;

export type CloseCodeName = keyof typeof CloseCode;

export function closeCodeName(code: number): CloseCodeName | undefined {
  for (const [name, value] of Object.entries(CloseCode)) {
    if (value === code) return name as CloseCodeName;
  }
  return undefined;
}
