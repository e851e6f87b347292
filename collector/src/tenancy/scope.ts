// The checks every school-data route uses (collector/src/tenancy/README.md). A school-scoped
// caller asking for another school's object gets the same 404 as for an object that does not
// exist: the answer never reveals that it exists.
import { notFound, type Principal } from '../http/router.ts';
import type { Device, Store } from '../store/types.ts';
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
