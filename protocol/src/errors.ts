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
  /** An OIDC sign-in was refused: unknown/used/expired state, nonce or ID token check failed, provider error. */
  SSO_FAILED: 'CUST_ERR_SSO_FAILED',
  /** An SSO sign-in was recognised but the account has no role yet (an admin assigns one) or lost it. */
  SSO_NO_ROLE: 'CUST_ERR_SSO_NO_ROLE',
  /** Password sign-in is switched off for this account's role: sign in with the school's provider. */
  LOCAL_LOGIN_DISABLED: 'CUST_ERR_LOCAL_LOGIN_DISABLED',
  /** The account's role needs an authenticator app: only MFA enrolment (and /auth/me, logout) is allowed. */
  MFA_ENROLMENT_REQUIRED: 'CUST_ERR_MFA_ENROLMENT_REQUIRED',
  /** A wrong, reused or expired second-step code (TOTP or recovery code). */
  MFA_FAILED: 'CUST_ERR_MFA_FAILED',
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
  /** Dual control: revealing this alert's screenshots needs a second DSL's approval, and there is none. */
  DUAL_CONTROL_REQUIRED: 'CUST_ERR_DUAL_CONTROL_REQUIRED',
  /** Dual control: the reveal was requested and no second DSL has approved it yet. */
  DUAL_CONTROL_PENDING: 'CUST_ERR_DUAL_CONTROL_PENDING',
  /** Dual control: the request was not approved in time, or its reveal window ended unused. */
  APPROVAL_EXPIRED: 'CUST_ERR_APPROVAL_EXPIRED',
  /** Dual control: the approval's reveal window was used and has ended. */
  APPROVAL_USED: 'CUST_ERR_APPROVAL_USED',
  /** Dual control: a DSL tried to approve their own request. */
  APPROVAL_OWN_REQUEST: 'CUST_ERR_APPROVAL_OWN_REQUEST',
  // storage and OS
  STORAGE: 'CUST_ERR_STORAGE',
  OUTBOX_FULL: 'CUST_ERR_OUTBOX_FULL',
  COMMAND_FAILED: 'CUST_ERR_COMMAND_FAILED',
  COMMAND_TIMEOUT: 'CUST_ERR_COMMAND_TIMEOUT',
  UNAVAILABLE: 'CUST_ERR_UNAVAILABLE',
  /** A command for a device that has no live session (commands are not queued). */
  DEVICE_OFFLINE: 'CUST_ERR_DEVICE_OFFLINE',
  /** A notification endpoint (SMTP relay, webhook receiver) did not take a message (the send-test route). */
  DELIVERY_FAILED: 'CUST_ERR_DELIVERY_FAILED',
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
