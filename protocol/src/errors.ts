// The one catalogue of stable error codes shared by agent and collector (STYLE.md §4).
// A code never changes meaning; add new ones at the end of their group.

export const ErrorCode = {
  // protocol
  MALFORMED_FRAME: 'CUST_ERR_MALFORMED_FRAME',
  FRAME_TOO_LARGE: 'CUST_ERR_FRAME_TOO_LARGE',
  UNEXPECTED_MESSAGE: 'CUST_ERR_UNEXPECTED_MESSAGE',
  BATCH_TOO_LARGE: 'CUST_ERR_BATCH_TOO_LARGE',
  BAD_EVENT: 'CUST_ERR_BAD_EVENT',
  BLOB_TOO_LARGE: 'CUST_ERR_BLOB_TOO_LARGE',
  BLOB_HASH_MISMATCH: 'CUST_ERR_BLOB_HASH_MISMATCH',
  BAD_BLOB_CHUNK: 'CUST_ERR_BAD_BLOB_CHUNK',
  // auth and enrolment
  AUTH_FAILED: 'CUST_ERR_AUTH_FAILED',
  AUTH_TIMEOUT: 'CUST_ERR_AUTH_TIMEOUT',
  DEVICE_REVOKED: 'CUST_ERR_DEVICE_REVOKED',
  BAD_ENROL_SECRET: 'CUST_ERR_BAD_ENROL_SECRET',
  BAD_ENROL_CODE: 'CUST_ERR_BAD_ENROL_CODE',
  AGREEMENT_NOT_ACCEPTED: 'CUST_ERR_AGREEMENT_NOT_ACCEPTED',
  /** A queued replacement enrolment was denied by an admin or IT. */
  ENROL_DENIED: 'CUST_ERR_ENROL_DENIED',
  /** Plain http to a collector that is not on this machine, without --insecure. */
  INSECURE_TRANSPORT: 'CUST_ERR_INSECURE_TRANSPORT',
  /** The collector's TLS certificate is not trusted (not the pinned CA, self-signed, wrong name, expired). */
  TLS_UNTRUSTED: 'CUST_ERR_TLS_UNTRUSTED',
  // input and config
  INVALID_INPUT: 'CUST_ERR_INVALID_INPUT',
  INVALID_CONFIG: 'CUST_ERR_INVALID_CONFIG',
  INVALID_POLICY: 'CUST_ERR_INVALID_POLICY',
  NOT_FOUND: 'CUST_ERR_NOT_FOUND',
  UNAUTHENTICATED: 'CUST_ERR_UNAUTHENTICATED',
  FORBIDDEN: 'CUST_ERR_FORBIDDEN',
  CSRF: 'CUST_ERR_CSRF',
  RATE_LIMITED: 'CUST_ERR_RATE_LIMITED',
  PASSWORD_CHANGE_REQUIRED: 'CUST_ERR_PASSWORD_CHANGE_REQUIRED',
  SESSION_EXPIRED: 'CUST_ERR_SESSION_EXPIRED',
  CONFLICT: 'CUST_ERR_CONFLICT',
  GONE: 'CUST_ERR_GONE',
  // storage and OS
  STORAGE: 'CUST_ERR_STORAGE',
  OUTBOX_FULL: 'CUST_ERR_OUTBOX_FULL',
  COMMAND_FAILED: 'CUST_ERR_COMMAND_FAILED',
  COMMAND_TIMEOUT: 'CUST_ERR_COMMAND_TIMEOUT',
  UNAVAILABLE: 'CUST_ERR_UNAVAILABLE',
  /** A command for a device that has no live session (commands are not queued). */
  DEVICE_OFFLINE: 'CUST_ERR_DEVICE_OFFLINE',
  /** Another collector process holds the store (PostgreSQL advisory lock): one writer per database. */
  STORE_LOCKED: 'CUST_ERR_STORE_LOCKED',
  // bugs and answers from outside the API
  /** A bug: an error no code was given for (a crash in a handler, the agent CLI failing unexpectedly). */
  INTERNAL: 'CUST_ERR_INTERNAL',
  /** The console got an answer that is not the collector's JSON API (a proxy's error page, a cut response). */
  BAD_RESPONSE: 'CUST_ERR_BAD_RESPONSE',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error with a stable code; `cause` keeps the underlying failure. */
export class CustodianError extends Error {
  readonly code: ErrorCodeValue;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCodeValue,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustodianError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isCustodianError(err: unknown, code?: ErrorCodeValue): err is CustodianError {
  return err instanceof CustodianError && (code === undefined || err.code === code);
}
