// Field checks shared by the policy's sections: each pushes a sentence naming the field onto
// `issues` and returns a placeholder, so one validation run reports every bad field.
export type Issues = string[];

export function int(issues: Issues, path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    issues.push(`${path} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
    return min;
  }
  return value;
}

export function bool(issues: Issues, path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') issues.push(`${path} must be true or false (got ${JSON.stringify(value)})`);
  return value === true;
}

/**
 * C0/C1 controls, DEL and the Unicode line/paragraph separators. A policy string reaches places
 * where any of them ends a line or a record: systemd-udevd ends a rules line at NUL as well as at
 * a newline, so a NUL in an allow-list reason once became a root RUN+= line (issue 11, item 4).
 * One rule for every policy string, here, where collector and agent both validate.
 */
export const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function str(issues: Issues, path: string, value: unknown, max = 500): string {
  if (typeof value !== 'string' || value.length > max) {
    issues.push(`${path} must be text of at most ${max} characters`);
    return '';
  }
  const bad = CONTROL_CHAR.exec(value);
  if (bad) {
    const code = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    issues.push(`${path} must not contain control characters (U+${code} at position ${bad.index})`);
    return '';
  }
  return value;
}

export function oneOf<T extends string>(
  issues: Issues,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(value as T)) {
    issues.push(`${path} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
    return allowed[0] as T;
  }
  return value as T;
}

export function list<T>(
  issues: Issues,
  path: string,
  value: unknown,
  max: number,
  each: (v: unknown, p: string) => T,
): T[] {
  if (!Array.isArray(value) || value.length > max) {
    issues.push(`${path} must be a list of at most ${max} entries`);
    return [];
  }
  return value.map((v, i) => each(v, `${path}[${i}]`));
}

export function obj(issues: Issues, path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push(`${path} must be an object`);
    return {};
  }
  return value as Record<string, unknown>;
}
