// OpenID Connect sign-in with `openid-client` (v6): authorization code flow with PKCE, state and
// nonce. The flow's secrets stay server-side, in memory (keyed by the SHA-256 of the state,
// 10 minutes, deleted on first use; bounded in number and per address, so anonymous /start
// requests cost no disk write and cannot grow the store) and are bound to the browser that
// started it by a random cookie whose hash the flow keeps. A restart drops flows in progress. Who the person is: (issuer, subject) — never the email.
// What they may do: `decideSsoRole()` (pure) from the account on file and the groups claim.

import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Role } from '../http/router.ts';
import { sameSchools } from '../tenancy/staff-scope.ts';
import { issuerAllowed, type ProviderSettings } from './sign-in-settings.ts';
import type { UserRecord } from './users.ts';

export const FLOW_TTL_MS = 10 * 60_000;
/** Sign-ins in progress at once, collector-wide; the oldest is dropped beyond this. */
export const MAX_FLOWS = 10_000;
/** Sign-ins in progress from one client address (a school behind NAT still gets plenty). */
export const MAX_FLOWS_PER_IP = 200;
const DISCOVERY_TTL_MS = 10 * 60_000;

export interface SsoFlow {
  stateHash: string;
  provider: string;
  codeVerifier: string;
  nonce: string;
  /** SHA-256 of the browser-binding cookie set at start. */
  bindingHash: string;
  expiresAt: number;
  ip: string;
}

export interface PendingSsoUser {
  id: string;
  provider: string;
  issuer: string;
  subject: string;
  email: string;
  name: string;
  firstSeenAt: number;
  lastSeenAt: number;
}

export interface SsoIdentity {
  issuer: string;
  subject: string;
  email: string;
  name: string;
  groups: string[];
  hostedDomain: string | undefined;
}

/** Why a sign-in was refused (audited; the browser gets the error code only). */
export class SsoRefusal extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
export const pendingId = (issuer: string, subject: string) => sha(`${issuer}\u0000${subject}`).slice(0, 32);

/** The role a group claim maps to: the first mapping entry the person's groups match. */
export function mappedRole(p: ProviderSettings, groups: readonly string[]): Role | undefined {
  return p.roleMapping.find((m) => groups.includes(m.group))?.role;
}

/** The schools the first matching mapping entry gives (tenancy); undefined = trust-wide. */
export function mappedSchools(p: ProviderSettings, groups: readonly string[]): readonly string[] | undefined {
  const s = p.roleMapping.find((m) => groups.includes(m.group))?.schools;
  return s ? [...new Set(s)].sort() : undefined;
}

export type SsoDecision =
  | { kind: 'refuse'; reason: 'disabled' | 'role-lost' | 'domain' }
  | { kind: 'pending' }
  | { kind: 'create'; role: Role; schools?: readonly string[] }
  | { kind: 'sign-in'; user: UserRecord; newRole?: Role; newSchools?: readonly string[] | null };

/**
 * Pure: what an SSO sign-in leads to. An account whose role came from the mapping follows the
 * mapping at every sign-in (removed from the group → refused); a role a person assigned stays.
 */
export function decideSsoRole(
  p: ProviderSettings,
  id: SsoIdentity,
  existing: UserRecord | undefined,
): SsoDecision {
  if (p.allowedDomains.length > 0 && !p.allowedDomains.includes(id.hostedDomain ?? ''))
    return { kind: 'refuse', reason: 'domain' };
  const mapped = mappedRole(p, id.groups);
  const schools = mappedSchools(p, id.groups);
  if (!existing)
    return mapped ? { kind: 'create', role: mapped, ...(schools ? { schools } : {}) } : { kind: 'pending' };
  if (existing.disabled) return { kind: 'refuse', reason: 'disabled' };
  if (existing.roleFrom === 'mapping') {
    if (!mapped) return { kind: 'refuse', reason: 'role-lost' };
    // The mapping's schools are followed like its role (null: the mapping now makes it trust-wide).
    const schoolsChanged = !sameSchools(schools, existing.schools);
    if (mapped !== existing.role || schoolsChanged)
      return {
        kind: 'sign-in',
        user: existing,
        ...(mapped !== existing.role ? { newRole: mapped } : {}),
        ...(schoolsChanged ? { newSchools: schools ?? null } : {}),
      };
  }
  return { kind: 'sign-in', user: existing };
}

function stringClaim(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function groupsOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'string') return [v];
  return [];
}

/**
 * openid-client wraps oauth4webapi's error, which names the ID token claim that failed in
 * `cause.claim`: walk the chain so the audit says `nonce` rather than a generic token failure.
 */
function refusalFrom(err: unknown): SsoRefusal {
  const messages: string[] = [];
  let claim: unknown;
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const o = e as { message?: unknown; claim?: unknown; cause?: unknown };
    if (typeof o.message === 'string') messages.push(o.message);
    if (typeof o.claim === 'string') claim ??= o.claim;
    e = o.cause;
  }
  const text = messages.join(': ') || String(err);
  const reason = claim === 'nonce' || /"nonce"/.test(text) ? 'nonce' : 'token';
  return new SsoRefusal(reason, text.slice(0, 300));
}

export class OidcClient {
  /** In insertion (= age) order, so the oldest is the first key. */
  private readonly flows = new Map<string, SsoFlow>();
  private readonly perIp = new Map<string, number>();
  private readonly now: () => number;
  private readonly discovered = new Map<string, { at: number; config: Promise<client.Configuration> }>();

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  private take(key: string): SsoFlow | undefined {
    const f = this.flows.get(key);
    if (!f) return undefined;
    this.flows.delete(key);
    const n = (this.perIp.get(f.ip) ?? 1) - 1;
    if (n > 0) this.perIp.set(f.ip, n);
    else this.perIp.delete(f.ip);
    return f;
  }

  /** Flows in progress (for tests and metrics). */
  get inProgress(): number {
    return this.flows.size;
  }

  private configFor(p: ProviderSettings): Promise<client.Configuration> {
    const key = `${p.id}\u0000${p.issuer}\u0000${p.clientId}\u0000${p.clientSecret ?? ''}`;
    const hit = this.discovered.get(key);
    if (hit && this.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
    const insecure = new URL(p.issuer).protocol === 'http:' && issuerAllowed(p.issuer);
    const config = client.discovery(
      new URL(p.issuer),
      p.clientId,
      p.clientSecret,
      undefined,
      insecure ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    config.catch(() => this.discovered.delete(key));
    this.discovered.set(key, { at: this.now(), config });
    return config;
  }

  /** The provider URL to send the browser to, and the binding cookie value to set. */
  async start(
    p: ProviderSettings,
    redirectUri: string,
    ip: string,
  ): Promise<{ url: string; binding: string }> {
    this.sweep();
    if ((this.perIp.get(ip) ?? 0) >= MAX_FLOWS_PER_IP)
      throw new SsoRefusal('busy', 'too many sign-ins in progress from this address');
    const config = await this.configFor(p);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const binding = randomBytes(32).toString('base64url');
    while (this.flows.size >= MAX_FLOWS) {
      const oldest = this.flows.keys().next().value;
      if (oldest === undefined) break;
      this.take(oldest);
    }
    this.flows.set(sha(state), {
      stateHash: sha(state),
      provider: p.id,
      codeVerifier,
      nonce,
      bindingHash: sha(binding),
      expiresAt: this.now() + FLOW_TTL_MS,
      ip,
    });
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: p.scopes.join(' '),
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...(p.preset === 'google' && p.allowedDomains[0] ? { hd: p.allowedDomains[0] } : {}),
    });
    return { url: url.href, binding };
  }

  /**
   * Spends the flow named by `state` (once, whatever happens next), checks the browser binding,
   * then lets openid-client check the code exchange, PKCE, the ID token's signature, issuer,
   * audience, expiry and nonce.
   */
  async finish(p: ProviderSettings, callbackUrl: URL, binding: string | undefined): Promise<SsoIdentity> {
    const providerError = callbackUrl.searchParams.get('error');
    const state = callbackUrl.searchParams.get('state') ?? '';
    const f = state.length > 0 && state.length <= 200 ? this.take(sha(state)) : undefined;
    if (!f || f.expiresAt <= this.now() || f.provider !== p.id)
      throw new SsoRefusal('state', 'unknown, used or expired sign-in state');
    if (binding === undefined || sha(binding) !== f.bindingHash)
      throw new SsoRefusal('binding', 'the sign-in was started in another browser');
    if (providerError)
      throw new SsoRefusal('provider', `the provider refused: ${providerError.slice(0, 100)}`);
    const config = await this.configFor(p);
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: f.codeVerifier,
        expectedState: state,
        expectedNonce: f.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw refusalFrom(err);
    }
    const claims = tokens.claims();
    if (!claims) throw new SsoRefusal('token', 'no ID token');
    let all: Record<string, unknown> = { ...claims };
    // Some providers put groups (and email) only in userinfo; its `sub` must match the ID token's.
    if (p.groupsClaim !== '' && !(p.groupsClaim in claims) && config.serverMetadata().userinfo_endpoint) {
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      all = { ...info, ...claims };
    }
    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: stringClaim(all.email).toLowerCase(),
      name: stringClaim(all.name) || stringClaim(all.preferred_username),
      groups: p.groupsClaim === '' ? [] : groupsOf(all[p.groupsClaim]),
      hostedDomain: typeof all.hd === 'string' ? all.hd : undefined,
    };
  }

  /** Drops expired flows (oldest first: they expire in the order they were made). */
  sweep(): void {
    const now = this.now();
    for (const [key, f] of this.flows) {
      if (f.expiresAt > now) break;
      this.take(key);
    }
  }
}
