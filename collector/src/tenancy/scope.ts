// The checks every school-data route uses (collector/src/tenancy/README.md). A school-scoped
// caller asking for another school's object gets the same 404 as for an object that does not
// exist: the answer never reveals that it exists.
import { ErrorCode } from '@custodian/protocol';
import { HttpError, notFound, type Principal } from '../http/router.ts';
import type { Alert, Device, Store } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID, type SchoolScope, schoolOfDevice, scopeAllows, scopeOf } from './model.ts';

export function inScope(principal: Principal | undefined, schoolId: string | undefined): boolean {
  return scopeAllows(scopeOf(principal), schoolId ?? DEFAULT_SCHOOL_ID);
}

export function isTrustWide(principal: Principal | undefined): boolean {
  return scopeOf(principal) === 'all';
}

/** The school of a record that carries one (alerts, incidents, enrol codes); absent: made before tenancy. */
export function schoolOfRecord(r: { schoolId?: string | undefined }): string {
  return r.schoolId ?? DEFAULT_SCHOOL_ID;
}

/** The device if it exists and is in the caller's schools; otherwise 404 `device <id> not found`. */
export async function deviceInScope(
  store: Store,
  principal: Principal | undefined,
  id: string,
): Promise<Device> {
  const d = await store.devices.get(id);
  if (!d || !inScope(principal, schoolOfDevice(d))) throw notFound(`device ${id}`);
  return d;
}

/** The caller's school list for a query filter: undefined = every school. */
export function scopeList(principal: Principal | undefined): readonly string[] | undefined {
  const s: SchoolScope = scopeOf(principal);
  return s === 'all' ? undefined : s;
}

/**
 * A `?school=` filter narrowed to the caller's scope: a school-scoped caller naming a school
 * outside it gets nothing (an empty set), never that school's items.
 */
export function wantedSchools(
  principal: Principal | undefined,
  school: string | undefined,
): (id: string) => boolean {
  return (id) => inScope(principal, id) && (school === undefined || id === school);
}

/**
 * Whether a device's items (status, events) may go to this caller, from the in-memory index: a
 * device the index does not know goes to trust-wide callers only (fail closed).
 */
export function deviceVisible(
  index: { schoolOf(deviceId: string): string | undefined },
  principal: Principal | undefined,
  deviceId: string,
): boolean {
  const school = index.schoolOf(deviceId);
  return school === undefined ? isTrustWide(principal) : inScope(principal, school);
}

/** The alert if it exists and its school (recorded at creation) is the caller's; otherwise 404 `alert not found`. */
export async function alertInScope(
  store: Store,
  principal: Principal | undefined,
  id: string,
): Promise<Alert> {
  const a = await store.alerts.get(id);
  if (!a || !inScope(principal, schoolOfRecord(a))) throw notFound('alert');
  return a;
}

/** A record with a school (incident, alert) the caller may see. */
export function recordInScope(
  principal: Principal | undefined,
  r: { schoolId?: string | undefined },
): boolean {
  return inScope(principal, schoolOfRecord(r));
}

/**
 * The school a new record (enrol code, enrol secret, incident) is for: the one named (it must
 * exist and be in the caller's scope, else 404 as if it did not exist), or the caller's only
 * school, or the default school for trust-wide callers. A caller with several schools names one.
 */
export async function schoolForNew(
  exists: (id: string) => Promise<boolean>,
  principal: Principal | undefined,
  named: string | undefined,
  field = 'body.schoolId',
): Promise<string> {
  if (named !== undefined) {
    if (!inScope(principal, named) || !(await exists(named))) throw notFound(`school ${named}`);
    return named;
  }
  const scope = scopeList(principal);
  if (scope === undefined) return DEFAULT_SCHOOL_ID;
  if (scope.length === 1) return scope[0] as string;
  throw new HttpError(400, ErrorCode.INVALID_INPUT, 'name the school (schoolId): your account has several', {
    field,
  });
}
