// The school's sign-in settings, ONE record (kv `sign-in-settings`, key `current`) read through
// `read()`: OIDC providers, which roles may still use a local password, which roles need TOTP.
// Tenancy later makes this one record per school. The client secret is never answered by the API.

import { type Static, Type } from '@sinclair/typebox';
import { badInput, ROLES, type Role } from '../http/router.ts';
import { Literals, Text } from '../http/schema.ts';
import type { KvNamespace } from '../store/types.ts';
import { TENANT_ID_PATTERN } from '../tenancy/model.ts';

export const SIGN_IN_SETTINGS_NS = 'sign-in-settings';
const KEY = 'current';

/** Roles whose local accounts always need TOTP (issue 19 item 2); the record may add others. */
export const MFA_ALWAYS: readonly Role[] = ['admin', 'dsl'];

export const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The documented presets (PRESETS below); the console's choice list. */
export const SSO_PRESETS = ['google', 'entra', 'generic'] as const;
/** Roles a group mapping or an admin's assignment of a pending SSO user may give: never `dsl`. */
export const SSO_ROLES = ['admin', 'it', 'governor'] as const;
/** Roles whose password sign-in may be switched off: never `admin` (the break-glass). */
export const LOCAL_LOGIN_ROLES = ['it', 'dsl', 'governor'] as const;

export const ProviderSchema = Type.Object(
  {
    id: Type.String({ pattern: PROVIDER_ID.source, description: 'short id used in the callback URL' }),
    label: Text(1, 80, 'the button text: "Sign in with <label>"'),
    preset: Literals(SSO_PRESETS, 'which documented preset this follows'),
    issuer: Type.String({ minLength: 8, maxLength: 500, description: 'the issuer URL (https)' }),
    clientId: Type.String({ minLength: 1, maxLength: 500 }),
    /** Write-only: GET answers `hasClientSecret`. Leave out on PUT to keep the stored one. */
    clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    scopes: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.:/-]{1,100}$' }), { maxItems: 20 }),
    /** Claim holding group ids or app roles (Entra: `groups` or `roles`); empty: admins assign roles. */
    groupsClaim: Type.String({ maxLength: 100 }),
    /** Group (or app role) value → role. `dsl` cannot be granted by a mapping (a DSL approves DSLs). */
    roleMapping: Type.Array(
      Type.Object({
        group: Type.String({ minLength: 1, maxLength: 200 }),
        role: Literals(SSO_ROLES, 'the role members of the group get'),
        /** Tenancy: the schools members of the group see; absent = trust-wide (tenancy/README.md). */
        schools: Type.Optional(
          Type.Array(Type.String({ pattern: TENANT_ID_PATTERN }), { minItems: 1, maxItems: 200 }),
        ),
      }),
      { maxItems: 50 },
    ),
    /** Google Workspace: the `hd` claim must be one of these (the school's domains). */
    allowedDomains: Type.Array(Type.String({ pattern: '^[a-z0-9.-]{3,253}$' }), { maxItems: 10 }),
    enabled: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const SignInSettingsSchema = Type.Object(
  {
    /** The collector's public origin, e.g. https://custodian.school.example: the redirect URI is built from it. */
    publicUrl: Type.String({ maxLength: 300, description: 'origin the browser uses for the console' }),
    providers: Type.Array(ProviderSchema, { maxItems: 5 }),
    /** Roles whose password sign-in is refused (they use SSO). `admin` stays: it is the break-glass. */
    localLoginDisabledRoles: Type.Array(Literals(LOCAL_LOGIN_ROLES, 'a role'), {
      maxItems: 3,
    }),
    /** Roles that need TOTP on local accounts, besides admin and dsl (always). */
    mfaRequiredRoles: Type.Array(Literals(ROLES, 'a role'), { maxItems: 4 }),
  },
  { additionalProperties: false },
);

export type ProviderSettings = Static<typeof ProviderSchema>;
export type SignInSettings = Static<typeof SignInSettingsSchema>;

export const DEFAULT_SIGN_IN: SignInSettings = {
  publicUrl: '',
  providers: [],
  localLoginDisabledRoles: [],
  mfaRequiredRoles: [],
};

/** Documented starting points; the admin still fills in client id, secret and mapping. */
export const PRESETS = {
  google: {
    issuer: 'https://accounts.google.com',
    scopes: ['openid', 'email', 'profile'],
    // Google's ID token carries no groups: roles are assigned by an admin; `hd` limits the domain.
    groupsClaim: '',
  },
  entra: {
    issuer: 'https://login.microsoftonline.com/<tenant-id>/v2.0',
    scopes: ['openid', 'email', 'profile'],
    // App roles (`roles`) avoid the 200-group overage of the `groups` claim.
    groupsClaim: 'roles',
  },
  generic: { issuer: '', scopes: ['openid', 'email', 'profile'], groupsClaim: 'groups' },
} as const;

/** Loopback issuers may be plain http (the test's provider); every other issuer must be https. */
export function issuerAllowed(issuer: string): boolean {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    return false;
  }
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]');
}

/** Checks what the schema cannot: unique ids, issuer scheme, `openid` scope, a usable public URL. */
export function checkSettings(s: SignInSettings): void {
  const ids = new Set<string>();
  for (const p of s.providers) {
    if (ids.has(p.id)) throw badInput(`provider id ${p.id} is used twice`);
    ids.add(p.id);
    if (!issuerAllowed(p.issuer)) throw badInput(`provider ${p.id}: the issuer must be an https URL`);
    if (!p.scopes.includes('openid')) throw badInput(`provider ${p.id}: scopes must include openid`);
    if (p.roleMapping.length > 0 && p.groupsClaim === '')
      throw badInput(`provider ${p.id}: a role mapping needs groupsClaim`);
  }
  if (s.providers.some((p) => p.enabled)) {
    let u: URL | undefined;
    try {
      u = new URL(s.publicUrl);
    } catch {
      u = undefined;
    }
    if (!u || u.origin !== s.publicUrl.replace(/\/$/, '') || !issuerAllowed(u.origin))
      throw badInput(
        'publicUrl must be the https origin of the console (e.g. https://custodian.school.example)',
      );
  }
}

export class SignInSettingsStore {
  private readonly kv: KvNamespace<SignInSettings>;
  /** Roles that need TOTP whatever the record says (config `auth.mfaRequiredRoles`: admin, dsl). */
  private readonly mfaFloor: readonly Role[];
  constructor(kv: KvNamespace<SignInSettings>, mfaFloor: readonly Role[] = MFA_ALWAYS) {
    this.kv = kv;
    this.mfaFloor = mfaFloor;
  }

  /** The roles that need TOTP whatever the record says (shown, not editable, in the console). */
  get floor(): readonly Role[] {
    return this.mfaFloor;
  }

  /** The one read: defaults for anything never saved; the floor roles always need MFA. */
  async read(): Promise<SignInSettings> {
    const saved = await this.kv.get(KEY);
    const s = { ...DEFAULT_SIGN_IN, ...saved };
    return { ...s, mfaRequiredRoles: [...new Set([...this.mfaFloor, ...s.mfaRequiredRoles])] };
  }

  /** Saves, keeping a stored client secret when the new record leaves it out. */
  async write(next: SignInSettings): Promise<SignInSettings> {
    checkSettings(next);
    const before = await this.read();
    const providers = next.providers.map((p) => {
      if (p.clientSecret !== undefined) return p;
      const old = before.providers.find((o) => o.id === p.id);
      return old?.clientSecret !== undefined ? { ...p, clientSecret: old.clientSecret } : p;
    });
    const saved = { ...next, providers };
    await this.kv.put(KEY, saved);
    return saved;
  }
}

/** What GET answers: the secret replaced by whether one is stored. */
export function publicSettings(s: SignInSettings) {
  return {
    ...s,
    providers: s.providers.map(({ clientSecret, ...p }) => ({ ...p, hasClientSecret: !!clientSecret })),
  };
}
