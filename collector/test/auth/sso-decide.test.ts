// The pure decisions behind SSO and TOTP: who gets which role from a groups claim, when a code is
// right, a replay, or wrong; and which sign-in settings are refused before they are stored.
import { Secret, TOTP } from 'otpauth';
import { describe, expect, it } from 'vitest';
import { decideTotp } from '../../src/auth/mfa.ts';
import { decideSsoRole, type SsoIdentity } from '../../src/auth/oidc.ts';
import { checkSettings, DEFAULT_SIGN_IN, type ProviderSettings } from '../../src/auth/sign-in-settings.ts';
import type { UserRecord } from '../../src/auth/users.ts';
import { HttpError } from '../../src/http/router.ts';

const provider: ProviderSettings = {
  id: 'school',
  label: 'School',
  preset: 'generic',
  issuer: 'https://idp.school.example',
  clientId: 'c',
  scopes: ['openid'],
  groupsClaim: 'groups',
  roleMapping: [
    { group: 'it-team', role: 'it' },
    { group: 'governors', role: 'governor' },
  ],
  allowedDomains: [],
  enabled: true,
};
const id = (groups: string[], hd?: string): SsoIdentity => ({
  issuer: provider.issuer,
  subject: 's1',
  email: 'a@school.example',
  name: 'A',
  groups,
  hostedDomain: hd,
});
const user = (over: Partial<UserRecord>): UserRecord => ({
  id: 'u1',
  username: 'a',
  displayName: 'A',
  role: 'it',
  passwordHash: '',
  mustChangePassword: false,
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
  createdBy: 'sso:school',
  ...over,
});

describe('decideSsoRole', () => {
  it("gives and follows a mapping's schools (tenancy), like its role", () => {
    const scoped: ProviderSettings = {
      ...provider,
      roleMapping: [
        { group: 'alpha-it', role: 'it', schools: ['school-b', 'school-a'] },
        ...provider.roleMapping,
      ],
    };
    expect(decideSsoRole(scoped, id(['alpha-it']), undefined)).toEqual({
      kind: 'create',
      role: 'it',
      schools: ['school-a', 'school-b'],
    });
    // A mapping-made trust-wide account whose group now maps to schools is narrowed at sign-in.
    const wide = user({ roleFrom: 'mapping' });
    expect(decideSsoRole(scoped, id(['alpha-it']), wide)).toEqual({
      kind: 'sign-in',
      user: wide,
      newSchools: ['school-a', 'school-b'],
    });
    // Moved to a group without schools: trust-wide again (null), role unchanged.
    const narrow = user({ roleFrom: 'mapping', schools: ['school-a'] });
    expect(decideSsoRole(scoped, id(['it-team']), narrow)).toEqual({
      kind: 'sign-in',
      user: narrow,
      newSchools: null,
    });
    // Schools a person gave (roleFrom admin) stay.
    const given = user({ roleFrom: 'admin', schools: ['school-a'] });
    expect(decideSsoRole(scoped, id(['it-team']), given)).toEqual({ kind: 'sign-in', user: given });
  });

  it('creates with the mapped role, or leaves a new person pending without one', () => {
    expect(decideSsoRole(provider, id(['x', 'governors']), undefined)).toEqual({
      kind: 'create',
      role: 'governor',
    });
    expect(decideSsoRole(provider, id(['x']), undefined)).toEqual({ kind: 'pending' });
  });
  it('follows the mapping at every sign-in for a mapped account, keeps a role a person gave', () => {
    const mapped = user({ roleFrom: 'mapping' });
    expect(decideSsoRole(provider, id([]), mapped)).toEqual({ kind: 'refuse', reason: 'role-lost' });
    expect(decideSsoRole(provider, id(['governors']), mapped)).toEqual({
      kind: 'sign-in',
      user: mapped,
      newRole: 'governor',
    });
    const given = user({ roleFrom: 'admin', role: 'admin' });
    expect(decideSsoRole(provider, id([]), given)).toEqual({ kind: 'sign-in', user: given });
  });
  it('refuses a disabled account and a foreign Google Workspace domain', () => {
    expect(decideSsoRole(provider, id(['it-team']), user({ disabled: true }))).toEqual({
      kind: 'refuse',
      reason: 'disabled',
    });
    const google = { ...provider, allowedDomains: ['school.example'] };
    expect(decideSsoRole(google, id(['it-team'], 'evil.example'), undefined)).toEqual({
      kind: 'refuse',
      reason: 'domain',
    });
    expect(decideSsoRole(google, id(['it-team']), undefined)).toEqual({ kind: 'refuse', reason: 'domain' });
    expect(decideSsoRole(google, id(['it-team'], 'school.example'), undefined).kind).toBe('create');
  });
});

describe('decideTotp (RFC 6238, 30 s, one step either side)', () => {
  const secret = new Secret({ size: 20 }).base32;
  const at = 1_800_000_000_000;
  const code = (t: number) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: t });
  const step = Math.floor(at / 30_000);
  it('accepts this step and its neighbours, refuses two steps away', () => {
    expect(decideTotp(secret, code(at), at, 0)).toEqual({ ok: true, step });
    expect(decideTotp(secret, code(at - 30_000), at, 0)).toEqual({ ok: true, step: step - 1 });
    expect(decideTotp(secret, code(at + 30_000), at, 0)).toEqual({ ok: true, step: step + 1 });
    expect(decideTotp(secret, code(at + 60_000), at, 0)).toEqual({ ok: false, reason: 'wrong' });
    expect(decideTotp(secret, '12345', at, 0)).toEqual({ ok: false, reason: 'wrong' });
  });
  it('refuses the step already used, and any earlier one', () => {
    expect(decideTotp(secret, code(at), at, step)).toEqual({ ok: false, reason: 'replay' });
    expect(decideTotp(secret, code(at - 30_000), at, step)).toEqual({ ok: false, reason: 'replay' });
    expect(decideTotp(secret, code(at + 30_000), at, step)).toEqual({ ok: true, step: step + 1 });
  });
});

describe('checkSettings', () => {
  const ok = { ...DEFAULT_SIGN_IN, publicUrl: 'https://custodian.school.example', providers: [provider] };
  const refused = (s: typeof ok) => {
    try {
      checkSettings(s);
      return undefined;
    } catch (err) {
      return err instanceof HttpError ? err.status : 'other';
    }
  };
  it('accepts a sound record and refuses plain-http issuers, missing openid, no public URL', () => {
    expect(refused(ok)).toBeUndefined();
    expect(refused({ ...ok, providers: [{ ...provider, issuer: 'http://idp.school.example' }] })).toBe(400);
    expect(refused({ ...ok, providers: [{ ...provider, scopes: ['email'] }] })).toBe(400);
    expect(refused({ ...ok, publicUrl: '' })).toBe(400);
    expect(refused({ ...ok, publicUrl: 'https://custodian.school.example/console' })).toBe(400);
    expect(refused({ ...ok, providers: [provider, provider] })).toBe(400);
    expect(refused({ ...ok, providers: [{ ...provider, groupsClaim: '' }] })).toBe(400);
    // Loopback http is for a provider on this machine (the tests' own).
    expect(refused({ ...ok, providers: [{ ...provider, issuer: 'http://127.0.0.1:9000' }] })).toBeUndefined();
  });
});
