// The admin API token (printed at first start): `Authorization: Bearer <token>`. A Bearer header
// with a wrong token is refused outright (401) rather than falling through to cookie sessions,
// so a typo is never silently treated as "not signed in".
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@custodian/protocol';
import { HttpError, type Principal } from '../http/router.ts';
import type { Authenticator } from '../http/server.ts';
import type { Store } from '../store/types.ts';
import { hashMatches } from './secrets.ts';

export function createAdminTokenAuthenticator(store: Store): Authenticator {
  let cached: string | undefined;
  return async (req: IncomingMessage): Promise<Principal | undefined> => {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const m = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header);
    if (!m)
      throw new HttpError(
        401,
        ErrorCode.UNAUTHENTICATED,
        'Authorization header must be "Bearer <admin token>"',
      );
    // Several collector processes on one database (a shared engine): another one may have
    // rotated the token, so the hash is read every time (an old token must stop working here too).
    if (store.engine.shared) cached = undefined;
    cached ??= await store.enrol.getAdminTokenHash();
    if (!hashMatches(m[1] as string, cached)) {
      // The token may have been reset by a restart with CUSTODIAN_ADMIN_TOKEN: re-read once.
      cached = await store.enrol.getAdminTokenHash();
      if (!hashMatches(m[1] as string, cached))
        throw new HttpError(401, ErrorCode.UNAUTHENTICATED, 'admin token not valid');
    }
    return { kind: 'token', role: 'admin', username: 'admin-token' };
  };
}
