// Staff accounts: scrypt-hashed passwords, one role each, disable instead of delete (the
// audit trail keeps pointing at a real account). The first admin is created at first start
// with a one-time password that must be changed before anything else.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { badInput, HttpError, notFound, ROLES, type Role, SAFE_ID } from '../http/router.ts';
import { Body, Text } from '../http/schema.ts';
import type { KvNamespace } from '../store/types.ts';
import {
  assertAcceptablePassword,
  DEFAULT_SCRYPT,
  generatePassword,
  hashPassword,
  type ScryptParams,
  verifyPassword,
} from './password.ts';

export interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  /** SSO accounts: the provider's subject, matched on (issuer, subject) — never on email. No password. */
  sso?: SsoLink;
  /** Where the role came from: an SSO group mapping (re-checked at each SSO sign-in) or a person. */
  roleFrom?: 'mapping' | 'admin';
  /** TOTP (totp.ts): the secret, the last step used (replay guard), recovery code hashes. */
  mfa?: MfaState;
  /** An enrolment started but not yet confirmed with a code. */
  mfaPending?: { secret: string; createdAt: number };
  /** Tenancy: the schools this account may see (sorted); absent = trust-wide (tenancy/staff-scope.ts). */
  schools?: readonly string[];
}

export interface SsoLink {
  provider: string;
  issuer: string;
  subject: string;
  email: string;
}

export interface MfaState {
  secret: string;
  enabledAt: number;
  /** The highest TOTP time step accepted: a code of this step or an earlier one is refused. */
  lastStep: number;
  /** SHA-256 (hex) of each unused recovery code. */
  recovery: string[];
}

/** What the API returns: never the hash, the TOTP secret or recovery hashes. */
export type PublicUser = Omit<UserRecord, 'passwordHash' | 'mfa' | 'mfaPending'> & {
  mfaEnabled: boolean;
  recoveryCodesLeft: number;
};

export function publicUser(u: UserRecord): PublicUser {
  const { passwordHash: _hash, mfa, mfaPending: _pending, ...rest } = u;
  return { ...rest, mfaEnabled: mfa !== undefined, recoveryCodesLeft: mfa?.recovery.length ?? 0 };
}

export const USERNAME = /^[a-z0-9][a-z0-9._-]{1,63}$/;
/** A new account's name as POST /users and `create-dsl` accept it (one declaration for both). */
export const Username = Type.String({
  pattern: USERNAME.source,
  description: 'a username: 2 to 64 characters, lower-case letters, digits, dot, dash, underscore',
});
export const DisplayName = Text(0, 200, 'the name shown in the console');
export const AccountName = Body({ username: Username, displayName: Type.Optional(DisplayName) });

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

export interface UserServiceOptions {
  /** Namespace `users`, keyed by user id. Staff lists are short, so username lookups scan it. */
  kv: KvNamespace<UserRecord>;
  /** The store's write lock: username uniqueness is check-then-put under it. */
  withLock: <T>(fn: () => Promise<T>) => Promise<T>;
  scrypt?: ScryptParams;
  now?: () => number;
}

export class UserService {
  private readonly kv: KvNamespace<UserRecord>;
  private readonly withLock: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly scrypt: ScryptParams;
  private readonly now: () => number;
  /** A fixed hash to verify against when the username is unknown, so timing does not reveal accounts. */
  private dummyHash: Promise<string> | undefined;

  constructor(opts: UserServiceOptions) {
    this.kv = opts.kv;
    this.withLock = opts.withLock;
    this.scrypt = opts.scrypt ?? DEFAULT_SCRYPT;
    this.now = opts.now ?? Date.now;
  }

  async get(id: string): Promise<UserRecord | undefined> {
    if (!SAFE_ID.test(id)) return undefined;
    return this.kv.get(id);
  }

  async byUsername(username: string): Promise<UserRecord | undefined> {
    const wanted = username.toLowerCase();
    return (await this.list()).find((u) => u.username === wanted);
  }

  async bySubject(issuer: string, subject: string): Promise<UserRecord | undefined> {
    return (await this.list()).find((u) => u.sso?.issuer === issuer && u.sso.subject === subject);
  }

  /**
   * An account for an SSO identity (no password: password sign-in can never match it). The
   * username comes from the email's local part, made unique with a number.
   */
  async createSso(
    link: SsoLink,
    input: { displayName: string; role: Role; roleFrom: 'mapping' | 'admin'; schools?: readonly string[] },
    createdBy: string,
  ): Promise<UserRecord> {
    const base =
      (link.email.split('@')[0] ?? '')
        .toLowerCase()
        .replace(/[^a-z0-9._-]/g, '')
        .replace(/^[^a-z0-9]+/, '')
        .slice(0, 56) || 'sso-user';
    const now = this.now();
    return this.withLock(async () => {
      if (await this.bySubject(link.issuer, link.subject))
        throw new HttpError(409, ErrorCode.CONFLICT, 'this SSO identity already has an account');
      const taken = new Set((await this.list()).map((u) => u.username));
      let username = base.length >= 2 ? base : `${base}-sso`;
      for (let n = 2; taken.has(username); n++) username = `${base}-${n}`;
      const user: UserRecord = {
        id: randomUUID(),
        username,
        displayName: input.displayName.slice(0, 200) || username,
        role: input.role,
        passwordHash: '',
        mustChangePassword: false,
        disabled: false,
        createdAt: now,
        updatedAt: now,
        createdBy,
        sso: link,
        roleFrom: input.roleFrom,
        ...(input.schools ? { schools: input.schools } : {}),
      };
      await this.kv.put(user.id, user);
      return user;
    });
  }

  async list(): Promise<UserRecord[]> {
    return (await this.kv.list()).map((e) => e.value);
  }

  /**
   * Creates the first admin when there are no users at all. Returns the one-time password
   * (the caller prints it once) or undefined when accounts already exist.
   */
  async ensureFirstAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.kv.list({ limit: 1 })).length > 0) return undefined;
    const password = generatePassword();
    await this.create(
      { username: 'admin', displayName: 'Administrator', role: 'admin', password },
      'system',
      {
        skipPolicy: true,
      },
    );
    return { username: 'admin', password };
  }

  async create(
    /** Checked where it came in (POST /users' schema, create-dsl's flags): a USERNAME, a role. */
    input: {
      username: string;
      displayName?: string | undefined;
      role: Role;
      password?: string | undefined;
      mustChangePassword?: boolean | undefined;
      schools?: readonly string[] | undefined;
    },
    createdBy: string,
    opts: { skipPolicy?: boolean } = {},
  ): Promise<{ user: UserRecord; oneTimePassword: string | undefined }> {
    const displayName = input.displayName ?? input.username;
    let oneTimePassword: string | undefined;
    let password: string;
    if (input.password === undefined) {
      oneTimePassword = generatePassword();
      password = oneTimePassword;
    } else {
      if (!opts.skipPolicy) assertAcceptablePassword(input.password, input.username);
      password = input.password;
    }
    const username = input.username;
    const role = input.role;
    const passwordHash = await hashPassword(password, this.scrypt);
    const now = this.now();
    const user: UserRecord = {
      id: randomUUID(),
      username,
      displayName,
      role,
      passwordHash,
      // A password someone else chose (or generated) is changed by its owner at first login.
      mustChangePassword: oneTimePassword !== undefined || input.mustChangePassword !== false,
      disabled: false,
      createdAt: now,
      updatedAt: now,
      createdBy,
      ...(input.schools !== undefined ? { schools: input.schools } : {}),
    };
    await this.withLock(async () => {
      if (await this.byUsername(username))
        throw new HttpError(409, ErrorCode.CONFLICT, `user ${username} already exists`);
      await this.kv.put(user.id, user);
    });
    return { user, oneTimePassword };
  }

  /** Checks credentials; undefined on any failure (unknown user, disabled, wrong password). */
  async verify(username: string, password: string): Promise<UserRecord | undefined> {
    const user = await this.byUsername(username);
    // An SSO account has no password: it signs in at its provider only (same timing as unknown).
    if (!user || user.sso) {
      this.dummyHash ??= hashPassword(generatePassword(), this.scrypt);
      await verifyPassword(password, await this.dummyHash);
      return undefined;
    }
    const ok = await verifyPassword(password, user.passwordHash);
    if (!ok || user.disabled) return undefined;
    return user;
  }

  async changePassword(id: string, current: string, next: string): Promise<UserRecord> {
    const user = await this.require(id);
    if (!(await verifyPassword(current, user.passwordHash)))
      throw new HttpError(403, ErrorCode.AUTH_FAILED, 'current password is wrong');
    assertAcceptablePassword(next, user.username);
    if (next === current) throw badInput('the new password must differ from the current one');
    return this.update(id, {
      passwordHash: await hashPassword(next, this.scrypt),
      mustChangePassword: false,
    });
  }

  async resetPassword(id: string): Promise<{ user: UserRecord; oneTimePassword: string }> {
    await this.require(id);
    const oneTimePassword = generatePassword();
    const user = await this.update(id, {
      passwordHash: await hashPassword(oneTimePassword, this.scrypt),
      mustChangePassword: true,
    });
    return { user, oneTimePassword };
  }

  async update(
    id: string,
    patch: Partial<Omit<UserRecord, 'id' | 'username' | 'createdAt'>>,
  ): Promise<UserRecord> {
    const next = await this.kv.update(id, (user) => user && { ...user, ...patch, updatedAt: this.now() });
    if (!next) throw notFound('user');
    return next;
  }

  /** Read-modify-write of one account under the store's lock (`change` returns the next record or throws). */
  async modify(id: string, change: (user: UserRecord) => UserRecord): Promise<UserRecord> {
    const next = await this.kv.update(id, (user) => user && { ...change(user), updatedAt: this.now() });
    if (!next) throw notFound('user');
    return next;
  }

  /** Active admins other than `exceptId`: the last one may not be demoted or disabled. */
  async otherActiveAdmins(exceptId: string): Promise<number> {
    return (await this.list()).filter((u) => u.role === 'admin' && !u.disabled && u.id !== exceptId).length;
  }

  /** Active trust-wide admins other than `exceptId`: the last one may not be limited to some schools. */
  async otherTrustWideAdmins(exceptId: string): Promise<number> {
    return (await this.list()).filter(
      (u) => u.role === 'admin' && !u.disabled && u.id !== exceptId && u.schools === undefined,
    ).length;
  }

  private async require(id: string): Promise<UserRecord> {
    const user = await this.get(id);
    if (!user) throw notFound('user');
    return user;
  }
}
