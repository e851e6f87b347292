// Which school an audit record or a staff notification is about, from the object it names
// (`device:<id>`, `alert:<id>`, `incident:<id>`, `user:<id>`, `school:<id>`). Used to show a
// school-scoped account the audit entries and notifications about its own schools' objects only.
// Anything that names no school's object (sign-in settings, the default policy, the trust's
// notification settings, retention runs) is trust-level: trust-wide staff only.
import type { Principal } from '../http/router.ts';
import type { Store } from '../store/types.ts';
import { schoolOfDevice, scopeOf } from './model.ts';
import { schoolOfRecord } from './scope.ts';

/** The schools an object belongs to; undefined when it is not one school's (trust-level or unknown). */
export type Resolve = (ref: string) => Promise<readonly string[] | undefined>;

/** A resolver with a memo for one answer (one audit page, one notification list). */
export function targetResolver(store: Store): Resolve {
  const memo = new Map<string, Promise<readonly string[] | undefined>>();
  const resolve = async (ref: string): Promise<readonly string[] | undefined> => {
    const colon = ref.indexOf(':');
    if (colon < 0) return undefined;
    const kind = ref.slice(0, colon);
    const id = ref.slice(colon + 1);
    if (kind === 'device') {
      const d = await store.devices.get(id);
      return d ? [schoolOfDevice(d)] : undefined;
    }
    if (kind === 'alert') {
      const a = await store.alerts.get(id);
      return a ? [schoolOfRecord(a)] : undefined;
    }
    if (kind === 'incident') {
      const i = await store.kv<{ schoolId?: string }>('incidents').get(id);
      return i ? [schoolOfRecord(i)] : undefined;
    }
    if (kind === 'user') {
      const u = await store.kv<{ schools?: readonly string[] }>('users').get(id);
      return u?.schools && u.schools.length > 0 ? u.schools : undefined;
    }
    if (kind === 'school') return [id];
    return undefined;
  };
  return (ref) => {
    let p = memo.get(ref);
    if (!p) {
      p = resolve(ref);
      memo.set(ref, p);
    }
    return p;
  };
}

/** Whether every school of `refs`' first resolvable object is in the caller's scope (trust-wide: always). */
export async function aboutCallersSchools(
  principal: Principal | undefined,
  refs: readonly (string | undefined)[],
  resolve: Resolve,
): Promise<boolean> {
  const scope = scopeOf(principal);
  if (scope === 'all') return true;
  for (const ref of refs) {
    if (ref === undefined) continue;
    const schools = await resolve(ref);
    if (schools === undefined) continue;
    return schools.every((s) => scope.includes(s));
  }
  return false;
}
