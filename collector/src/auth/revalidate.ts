// Long-lived responses (the DSL's SSE alert feed) authenticate once, at connect. This re-checks
// a principal against the stored session and user so a feed stops when the session ends, times
// out, or the account is disabled, re-roled or given other schools — not only when the browser closes it.
import type { Principal } from '../http/router.ts';
import type { Store } from '../store/types.ts';
import { sameSchools } from '../tenancy/staff-scope.ts';
import type { SessionRecord } from './sessions.ts';
import type { UserRecord } from './users.ts';

export async function principalStillValid(
  store: Store,
  p: Principal,
  now: number = Date.now(),
): Promise<boolean> {
  // The admin token has no session; it is revoked by changing the token (and cannot open DSL feeds).
  if (p.kind === 'token') return true;
  const session = await store.kv<SessionRecord>('sessions').get(p.sessionId);
  if (!session || now >= session.expiresAt || now - session.lastSeenAt >= session.idleMs) return false;
  const user = await store.kv<UserRecord>('users').get(p.userId);
  return user !== undefined && !user.disabled && user.role === p.role && sameSchools(user.schools, p.schools);
}
