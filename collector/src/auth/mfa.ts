// TOTP (RFC 6238: SHA-1, 6 digits, 30 s — what every authenticator app reads) for local accounts,
// with `otpauth`. The decision about a code is the pure `decideTotp()`; the service stores the
// step it accepted so the same code (or an older one) is refused for the rest of its window,
// and spends recovery codes (stored as SHA-256, each usable once) under the store's lock.
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode } from '@custodian/protocol';
import { Secret, TOTP } from 'otpauth';
import { HttpError } from '../http/router.ts';
import type { KvNamespace } from '../store/types.ts';
import type { MfaState, UserRecord, UserService } from './users.ts';

export const TOTP_PERIOD_S = 30;
/** One step either side: a phone clock up to 30 s off still works. */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODES = 10;
/** A password-checked sign-in waits this long for its second step. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Wrong codes one challenge takes before the password must be entered again. */
export const CHALLENGE_MAX_ATTEMPTS = 5;

export function totpFor(secret: string, username: string): TOTP {
  return new TOTP({
    issuer: 'Custodian',
    label: username,
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_S,
  });
}

export type TotpDecision = { ok: true; step: number } | { ok: false; reason: 'wrong' | 'replay' };

/** Pure: is `code` right for `secret` at `nowMs`, and newer than the last step used? */
export function decideTotp(secret: string, code: string, nowMs: number, lastStep: number): TotpDecision {
  if (!/^\d{6}$/.test(code)) return { ok: false, reason: 'wrong' };
  const delta = totpFor(secret, 'x').validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW });
  if (delta === null) return { ok: false, reason: 'wrong' };
  const step = Math.floor(nowMs / 1000 / TOTP_PERIOD_S) + delta;
  if (step <= lastStep) return { ok: false, reason: 'replay' };
  return { ok: true, step };
}

export const hashRecovery = (code: string) =>
  createHash('sha256')
    .update(code.toLowerCase().replace(/[^a-z0-9]/g, ''))
    .digest('hex');

function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODES }, () => {
    const s = randomBytes(8).toString('hex').slice(0, 10);
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

export interface MfaChallenge {
  idHash: string;
  userId: string;
  username: string;
  expiresAt: number;
  attempts: number;
}

export type SecondStep =
  | { ok: true; user: UserRecord; method: 'totp' | 'recovery'; recoveryLeft: number }
  | { ok: false; reason: 'wrong' | 'replay' | 'expired'; user?: UserRecord };

const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');

export class MfaService {
  private readonly users: UserService;
  private readonly challenges: KvNamespace<MfaChallenge>;
  private readonly now: () => number;

  constructor(opts: { users: UserService; challenges: KvNamespace<MfaChallenge>; now?: () => number }) {
    this.users = opts.users;
    this.challenges = opts.challenges;
    this.now = opts.now ?? Date.now;
  }

  /** A new secret, kept as pending until confirmed; the URI is answered once. */
  async startEnrolment(user: UserRecord): Promise<{ secret: string; uri: string }> {
    if (user.sso) throw new HttpError(409, ErrorCode.CONFLICT, 'SSO accounts use their provider for MFA');
    if (user.mfa) throw new HttpError(409, ErrorCode.CONFLICT, 'MFA is already on for this account');
    const secret = new Secret({ size: 20 }).base32;
    await this.users.modify(user.id, (u) => ({ ...u, mfaPending: { secret, createdAt: this.now() } }));
    return { secret, uri: totpFor(secret, user.username).toString() };
  }

  /** The first code proves the app holds the secret; answers the recovery codes (shown once). */
  async confirm(userId: string, code: string): Promise<{ user: UserRecord; recoveryCodes: string[] }> {
    const codes = newRecoveryCodes();
    let outcome: 'ok' | 'none' | 'wrong' = 'none';
    const user = await this.users.modify(userId, (u) => {
      if (!u.mfaPending || u.mfa) return u;
      const d = decideTotp(u.mfaPending.secret, code, this.now(), 0);
      if (!d.ok) {
        outcome = 'wrong';
        return u;
      }
      outcome = 'ok';
      const mfa: MfaState = {
        secret: u.mfaPending.secret,
        enabledAt: this.now(),
        lastStep: d.step,
        recovery: codes.map(hashRecovery),
      };
      const { mfaPending: _p, ...rest } = u;
      return { ...rest, mfa };
    });
    if (outcome === 'none')
      throw new HttpError(409, ErrorCode.CONFLICT, 'start an enrolment first (POST /api/v1/auth/mfa/enrol)');
    if (outcome === 'wrong') throw new HttpError(400, ErrorCode.MFA_FAILED, 'that code is not right');
    return { user, recoveryCodes: codes };
  }

  /**
   * New recovery codes for a signed-in account with TOTP on (the old ones stop working), after a
   * current code from the app: a stolen session alone cannot mint codes that outlive it.
   */
  async renewRecoveryCodes(
    userId: string,
    code: string,
  ): Promise<{ user: UserRecord; recoveryCodes: string[] }> {
    const codes = newRecoveryCodes();
    let outcome: 'ok' | 'off' | 'wrong' | 'replay' = 'off';
    const now = this.now();
    const user = await this.users.modify(userId, (u) => {
      if (!u.mfa) return u;
      const d = decideTotp(u.mfa.secret, code, now, u.mfa.lastStep);
      if (!d.ok) {
        outcome = d.reason;
        return u;
      }
      outcome = 'ok';
      return { ...u, mfa: { ...u.mfa, lastStep: d.step, recovery: codes.map(hashRecovery) } };
    });
    if (outcome === 'off')
      throw new HttpError(409, ErrorCode.CONFLICT, 'two-step sign-in is not on for this account');
    if (outcome !== 'ok') throw new HttpError(400, ErrorCode.MFA_FAILED, 'that code is not right');
    return { user, recoveryCodes: codes };
  }

  async challenge(user: UserRecord): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString('base64url');
    const c: MfaChallenge = {
      idHash: hashToken(token),
      userId: user.id,
      username: user.username,
      expiresAt: this.now() + CHALLENGE_TTL_MS,
      attempts: 0,
    };
    await this.challenges.put(c.idHash, c);
    return { token, expiresAt: c.expiresAt };
  }

  /** The username a challenge belongs to (for the throttle key), without spending it. */
  async peek(token: string): Promise<MfaChallenge | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const c = await this.challenges.get(hashToken(token));
    return c && c.expiresAt > this.now() ? c : undefined;
  }

  /** The second step: a TOTP code or a recovery code. A right answer spends the challenge. */
  async answer(token: string, input: { code?: string; recoveryCode?: string }): Promise<SecondStep> {
    const c = await this.peek(token);
    if (!c) return { ok: false, reason: 'expired' };
    let result: SecondStep = { ok: false, reason: 'wrong' };
    const now = this.now();
    const user = await this.users.modify(c.userId, (u) => {
      if (!u.mfa || u.disabled) return u;
      if (input.recoveryCode !== undefined) {
        const h = hashRecovery(input.recoveryCode);
        if (!u.mfa.recovery.includes(h)) return u;
        const recovery = u.mfa.recovery.filter((x) => x !== h);
        result = { ok: true, user: u, method: 'recovery', recoveryLeft: recovery.length };
        return { ...u, mfa: { ...u.mfa, recovery } };
      }
      const d = decideTotp(u.mfa.secret, input.code ?? '', now, u.mfa.lastStep);
      if (!d.ok) {
        result = { ok: false, reason: d.reason };
        return u;
      }
      result = { ok: true, user: u, method: 'totp', recoveryLeft: u.mfa.recovery.length };
      return { ...u, mfa: { ...u.mfa, lastStep: d.step } };
    });
    const r = result as SecondStep;
    if (r.ok) {
      await this.challenges.del(c.idHash);
      return { ...r, user };
    }
    // A challenge takes a few wrong codes, then the password must be given again.
    await this.challenges.update(c.idHash, (cur) =>
      cur && cur.attempts + 1 < CHALLENGE_MAX_ATTEMPTS ? { ...cur, attempts: cur.attempts + 1 } : undefined,
    );
    return { ...r, user };
  }

  /** An admin switches a user's MFA off (lost phone and codes); they enrol again at next sign-in. */
  async reset(userId: string): Promise<UserRecord> {
    return this.users.modify(userId, (u) => {
      const { mfa: _m, mfaPending: _p, ...rest } = u;
      return rest;
    });
  }

  async sweep(): Promise<void> {
    const now = this.now();
    for (const e of await this.challenges.list())
      if (e.value.expiresAt <= now) await this.challenges.del(e.key);
  }
}
