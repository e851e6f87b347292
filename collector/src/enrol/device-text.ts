// Validation of text that comes from devices (enrolment facts) and of the reasons people give
// for decisions (revoke, retire, approve or deny a replacement).
import { CustodianError, ErrorCode } from '@custodian/protocol';

export function invalid(field: string, message: string): never {
  throw new CustodianError(ErrorCode.INVALID_INPUT, `${field} ${message}`, { details: { field } });
}

/** Device-supplied text: well-formed UTF-16, no control characters, bounded. */
export function deviceText(field: string, value: unknown, min: number, max: number): string {
  if (typeof value !== 'string') invalid(field, 'must be text');
  if (value.length < min || value.length > max) invalid(field, `must be ${min} to ${max} characters`);
  if (!value.isWellFormed()) invalid(field, 'is not valid Unicode text');
  if (/[\u0000-\u001f\u007f]/.test(value)) invalid(field, 'must not contain control characters');
  return value;
}

/** A reason a person gives for a decision: required, not blank. */
export function requiredReason(value: unknown): string {
  const why = deviceText('reason', value, 1, 500);
  if (why.trim() === '') invalid('reason', 'must not be blank');
  return why.trim();
}
