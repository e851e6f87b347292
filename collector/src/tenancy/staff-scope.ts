// Which staff accounts a caller may manage, and which school list an account may be given
// (tenancy, issue 20). Trust-wide admins manage everyone and give any scope; a school-scoped
// admin manages only accounts limited to their own schools and can never grant trust-wide scope
// or another school. Pure, except the existence check of the schools named.
import { ErrorCode } from '@custodian/protocol';
import { HttpError, type Principal } from '../http/router.ts';
import { scopeOf } from './model.ts';

/** May `caller` see and manage `target`? (Others are 404 to a school-scoped admin.) */
export function managesAccount(
  caller: Principal | undefined,
  target: { schools?: readonly string[] },
): boolean {
  const scope = scopeOf(caller);
  if (scope === 'all') return true;
  if (target.schools === undefined || target.schools.length === 0) return false;
  return target.schools.every((s) => scope.includes(s));
}

/**
 * The school list to store for an account. `requested`: undefined = unchanged (`current`; on
 * create: trust-wide for a trust-wide caller, the caller's own schools for a scoped one);
 * null = trust-wide; a list = those schools. Returns undefined for trust-wide.
 */
export async function decideAccountSchools(
  caller: Principal | undefined,
  requested: readonly string[] | null | undefined,
  current: readonly string[] | undefined,
  exists: (id: string) => Promise<boolean>,
  creating: boolean,
): Promise<readonly string[] | undefined> {
  const scope = scopeOf(caller);
  if (requested === undefined) {
    if (!creating) return current;
    return scope === 'all' ? undefined : [...scope];
  }
  if (requested === null) {
    if (scope !== 'all')
      throw new HttpError(403, ErrorCode.FORBIDDEN, 'only a trust-wide admin may make an account trust-wide');
    return undefined;
  }
  const list = [...new Set(requested)].sort();
  if (list.length === 0)
    throw new HttpError(
      400,
      ErrorCode.INVALID_INPUT,
      'schools: name at least one school, or null for trust-wide',
      {
        field: 'body.schools',
      },
    );
  if (scope !== 'all' && !list.every((s) => scope.includes(s)))
    throw new HttpError(403, ErrorCode.FORBIDDEN, 'you may only give an account your own schools');
  for (const id of list)
    if (!(await exists(id)))
      throw new HttpError(400, ErrorCode.INVALID_INPUT, `school ${id} does not exist`, {
        field: 'body.schools',
      });
  return list;
}

export function sameSchools(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
