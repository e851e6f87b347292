// Cookie sessions. The cookie carries a random 256-bit id; the store keys sessions by the
// SHA-256 of that id, so a copy of the database does not hand out live sessions. Each
// session has an absolute expiry and an idle timeout, and its own CSRF token (returned by
// GET /auth/me, echoed by the console in X-CSRF-Token on every state-changing request).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KvNamespace } from '../store/types.ts';

export interface SessionRecord {
  /** SHA-256 (hex) of the cookie value. */
  idHash: string;
  userId: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  ip: string;
  userAgent: string;
  /** Idle timeout in force when the session was made (long-lived feeds re-check against it). */
  idleMs: number;
}

export interface SessionOptions {
  /** Namespace `sessions`, keyed by the SHA-256 (hex) of the cookie value. */
  kv: KvNamespace<SessionRecord>;
  /** Absolute lifetime. Default 12 h: one school day, never overnight. */
  ttlMs?: number;
  /** Idle timeout. Default 30 min. */
  idleMs?: number;
  now?: () => number;
}

export type SessionLookup =
  | { ok: true; session: SessionRecord }
  | { ok: false; reason: 'unknown' | 'expired' | 'idle' };

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');
/** Last-seen is persisted at most this often, so reads do not turn into a write each. */
const TOUCH_EVERY_MS = 60_000;

export class SessionService {
  readonly ttlMs: number;
  readonly idleMs: number;
  private readonly kv: KvNamespace<SessionRecord>;
  private readonly now: () => number;

  constructor(opts: SessionOptions) {
    this.kv = opts.kv;
    this.ttlMs = opts.ttlMs ?? 12 * 3600_000;
    this.idleMs = opts.idleMs ?? 30 * 60_000;
    this.now = opts.now ?? Date.now;
    if (this.idleMs <= 0 || this.ttlMs < this.idleMs)
      throw new TypeError('SessionService: impossible timeouts');
  }

  async create(
    userId: string,
    meta: { ip: string; userAgent: string },
  ): Promise<{ id: string; session: SessionRecord }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const session: SessionRecord = {
      idHash: hashId(id),
      userId,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.ttlMs,
      ip: meta.ip,
      userAgent: meta.userAgent.slice(0, 300),
      idleMs: this.idleMs,
    };
    await this.kv.put(session.idHash, session);
    return { id, session };
  }

  async lookup(id: string): Promise<SessionLookup> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return { ok: false, reason: 'unknown' };
    const session = await this.kv.get(hashId(id));
    if (!session) return { ok: false, reason: 'unknown' };
    const now = this.now();
    if (now >= session.expiresAt || now - session.lastSeenAt >= this.idleMs) {
      await this.kv.del(session.idHash);
      return { ok: false, reason: now >= session.expiresAt ? 'expired' : 'idle' };
    }
    if (now - session.lastSeenAt >= TOUCH_EVERY_MS) {
      // Read-modify-write of the stored record, never a blind put: a sign-out or revocation on
      // another request (or collector process) between the read above and this write must stay
      // revoked, not be written back.
      const touched = await this.kv.update(session.idHash, (cur) => cur && { ...cur, lastSeenAt: now });
      if (!touched) return { ok: false, reason: 'unknown' };
      return { ok: true, session: touched };
    }
    return { ok: true, session };
  }

  async revoke(id: string): Promise<void> {
    await this.kv.del(hashId(id));
  }

  /** Ends a session by its stored hash (the principal carries it as `sessionId`). */
  async revokeByHash(idHash: string): Promise<void> {
    if (/^[0-9a-f]{64}$/.test(idHash)) await this.kv.del(idHash);
  }

  /** Ends every session of a user (password change, disable, role change), optionally keeping one. */
  async revokeUser(userId: string, keepIdHash?: string): Promise<number> {
    const all = await this.kv.list();
    const doomed = all.filter((e) => e.value.userId === userId && e.value.idHash !== keepIdHash);
    for (const e of doomed) await this.kv.del(e.key);
    return doomed.length;
  }

  /** Deletes expired sessions; run on a timer. */
  async sweep(): Promise<number> {
    const now = this.now();
    const all = await this.kv.list();
    const doomed = all.filter((e) => now >= e.value.expiresAt || now - e.value.lastSeenAt >= this.idleMs);
    for (const e of doomed) await this.kv.del(e.key);
    return doomed.length;
  }
}

export function tokensEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
