// OIDC sign-in routes (start and callback are public: the browser arrives from the provider with
// no session), the sign-in settings record (admin) and the SSO users waiting for a role (admin).
// Start and callback answer redirects; a refusal lands on the login page with `?sso=<code>`.

import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { HttpError, notFound, type RequestContext, type Route, route } from '../http/router.ts';
import { Body, IdParams, Literals, Reason } from '../http/schema.ts';
import type { AuditStore, KvNamespace } from '../store/types.ts';
import { AUDIT_SCHOOLS } from '../tenancy/schools.ts';
import { AUDIT, audit } from './audit.ts';
import { parseCookies, serializeCookie } from './cookies.ts';
import type { Notifications } from './notifications.ts';
import { decideSsoRole, type OidcClient, type PendingSsoUser, pendingId, SsoRefusal } from './oidc.ts';
import { issueSession } from './session-issue.ts';
import {
  PRESETS,
  PROVIDER_ID,
  type ProviderSettings,
  publicSettings,
  SignInSettingsSchema,
  type SignInSettingsStore,
  SSO_ROLES,
} from './sign-in-settings.ts';
import type { StaffAuth } from './staff-auth.ts';
import { publicUser } from './users.ts';

export interface SsoRouteDeps {
  auth: StaffAuth;
  oidc: OidcClient;
  settings: SignInSettingsStore;
  pending: KvNamespace<PendingSsoUser>;
  notifications: Notifications;
  audit: AuditStore;
  now?: () => number;
}

/** Lax, not Strict: it must come back on the provider's cross-site redirect to the callback. */
export const SSO_BINDING_COOKIE = 'custodian_sso';
const ProviderParams = Type.Object({
  provider: Type.String({ pattern: PROVIDER_ID.source, description: 'the provider id from the settings' }),
});

function redirect(ctx: Pick<RequestContext, 'res'>, location: string) {
  ctx.res.writeHead(302, { Location: location, 'Cache-Control': 'no-store' });
  ctx.res.end();
}

export function ssoRoutes(deps: SsoRouteDeps): Route[] {
  const { auth, oidc, settings } = deps;
  const now = deps.now ?? Date.now;
  const bindingCookie = (value: string, maxAge: number) =>
    serializeCookie(SSO_BINDING_COOKIE, value, {
      secure: auth.secureCookies,
      maxAgeSeconds: maxAge,
      path: '/api/v1/auth/sso',
    }).replace('SameSite=Strict', 'SameSite=Lax');

  async function provider(id: string): Promise<{ p: ProviderSettings; base: string } | undefined> {
    const s = await settings.read();
    const p = s.providers.find((x) => x.id === id && x.enabled);
    return p ? { p, base: s.publicUrl.replace(/\/$/, '') } : undefined;
  }
  const discoveryAudited = new Map<string, number>();
  const callbackPath = (id: string) => `/api/v1/auth/sso/${id}/callback`;

  async function refuse(
    ctx: RequestContext,
    base: string,
    providerId: string,
    code: string,
    reason: string,
    details = {},
  ) {
    await audit(deps.audit, undefined, AUDIT.ssoFailed, `sso:${providerId}`, ctx.ip, { reason, ...details });
    ctx.res.setHeader('Set-Cookie', bindingCookie('', 0));
    redirect(ctx, `${base}/#/login?sso=${encodeURIComponent(code)}`);
  }

  return [
    route({
      method: 'GET',
      path: '/api/v1/auth/sso/providers',
      access: 'public',
      schema: { summary: 'The enabled sign-in providers, for the login page buttons' },
      handler: async () => ({
        providers: (await settings.read()).providers
          .filter((p) => p.enabled)
          .map((p) => ({ id: p.id, label: p.label, start: `/api/v1/auth/sso/${p.id}/start` })),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/auth/sso/:provider/start',
      access: 'public',
      schema: { params: ProviderParams, summary: 'Redirects to the provider (PKCE, state, nonce)' },
      handler: async (ctx) => {
        const found = await provider(ctx.input.params.provider);
        if (!found) throw notFound('sign-in provider');
        let url: string;
        let binding: string;
        try {
          ({ url, binding } = await oidc.start(found.p, found.base + callbackPath(found.p.id), ctx.ip));
        } catch (err) {
          if (err instanceof SsoRefusal) {
            // Not audited: a flood of starts must not become a flood of audit writes.
            ctx.res.setHeader('Retry-After', '60');
            throw new HttpError(429, ErrorCode.RATE_LIMITED, err.message);
          }
          const msg = err instanceof Error ? err.message : String(err);
          // The provider is unreachable: audited once a minute per provider, not per (anonymous) request.
          const last = discoveryAudited.get(found.p.id) ?? -Infinity;
          if (now() - last >= 60_000) {
            discoveryAudited.set(found.p.id, now());
            await audit(deps.audit, undefined, AUDIT.ssoFailed, `sso:${found.p.id}`, ctx.ip, {
              reason: 'discovery',
              error: msg.slice(0, 200),
            });
          }
          redirect(ctx, `${found.base}/#/login?sso=${encodeURIComponent(ErrorCode.SSO_FAILED)}`);
          return;
        }
        ctx.res.setHeader('Set-Cookie', bindingCookie(binding, 600));
        redirect(ctx, url);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/auth/sso/:provider/callback',
      access: 'public',
      schema: {
        params: ProviderParams,
        query: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4096 }) }),
        summary: 'The provider sends the browser back here: checks everything, then signs in',
      },
      handler: async (ctx) => {
        const found = await provider(ctx.input.params.provider);
        if (!found) throw notFound('sign-in provider');
        const { p, base } = found;
        // The URL the provider redirected to, rebuilt from the configured origin (not the Host header).
        const current = new URL(base + callbackPath(p.id) + ctx.url.search);
        const binding = parseCookies(ctx.req.headers.cookie).get(SSO_BINDING_COOKIE);
        let id: Awaited<ReturnType<OidcClient['finish']>>;
        try {
          id = await oidc.finish(p, current, binding);
        } catch (err) {
          const reason = err instanceof SsoRefusal ? err.reason : 'error';
          const msg = err instanceof Error ? err.message : String(err);
          await refuse(ctx, base, p.id, ErrorCode.SSO_FAILED, reason, { error: msg.slice(0, 200) });
          return;
        }
        const existing = await auth.users.bySubject(id.issuer, id.subject);
        const d = decideSsoRole(p, id, existing);
        const who = { provider: p.id, email: id.email, subject: id.subject };
        if (d.kind === 'refuse') {
          if (d.reason === 'role-lost' && existing) {
            await auth.sessions.revokeUser(existing.id);
            await audit(deps.audit, undefined, AUDIT.ssoRoleLost, `user:${existing.id}`, ctx.ip, {
              ...who,
              username: existing.username,
              role: existing.role,
            });
          }
          const code = d.reason === 'role-lost' ? ErrorCode.SSO_NO_ROLE : ErrorCode.AUTH_FAILED;
          await refuse(ctx, base, p.id, code, d.reason, who);
          return;
        }
        if (d.kind === 'pending') {
          const key = pendingId(id.issuer, id.subject);
          const t = now();
          let isNew = false;
          await deps.pending.update(key, (cur) => {
            isNew = cur === undefined;
            return {
              id: key,
              provider: p.id,
              issuer: id.issuer,
              subject: id.subject,
              email: id.email,
              name: id.name,
              firstSeenAt: cur?.firstSeenAt ?? t,
              lastSeenAt: t,
            };
          });
          await audit(deps.audit, undefined, AUDIT.ssoPending, `sso-pending:${key}`, ctx.ip, who);
          if (isNew)
            await deps.notifications.notify(
              'admin',
              'sso.pending',
              `${id.email || id.subject} signed in with ${p.label} and waits for a role`,
              { provider: p.id, pendingId: key },
            );
          await refuse(ctx, base, p.id, ErrorCode.SSO_NO_ROLE, 'pending', who);
          return;
        }
        let user = d.kind === 'sign-in' ? d.user : undefined;
        if (d.kind === 'create') {
          user = await auth.users.createSso(
            { provider: p.id, issuer: id.issuer, subject: id.subject, email: id.email },
            {
              displayName: id.name || id.email,
              role: d.role,
              roleFrom: 'mapping',
              ...(d.schools ? { schools: d.schools } : {}),
            },
            `sso:${p.id}`,
          );
          await audit(deps.audit, undefined, AUDIT.userCreated, `user:${user.id}`, ctx.ip, {
            ...who,
            username: user.username,
            newRole: user.role,
            roleFrom: 'mapping',
            schools: user.schools ?? 'all',
          });
        }
        if (d.kind === 'sign-in' && d.newSchools !== undefined && user) {
          const from = user.schools;
          const next = d.newSchools;
          user = await auth.users.modify(user.id, (u) => {
            const { schools: _old, ...rest } = u;
            return next === null ? rest : { ...rest, schools: next };
          });
          await audit(deps.audit, undefined, AUDIT_SCHOOLS.userSchoolsChanged, `user:${user.id}`, ctx.ip, {
            ...who,
            username: user.username,
            from: from ?? 'all',
            to: next ?? 'all',
            reason: 'group mapping at SSO sign-in',
          });
        }
        if (d.kind === 'sign-in' && d.newRole && user) {
          const from = user.role;
          user = await auth.users.update(user.id, { role: d.newRole });
          await auth.sessions.revokeUser(user.id);
          await audit(deps.audit, undefined, AUDIT.userRoleChanged, `user:${user.id}`, ctx.ip, {
            ...who,
            username: user.username,
            from,
            to: user.role,
            reason: 'group mapping at SSO sign-in',
          });
        }
        if (!user) throw new HttpError(500, ErrorCode.INTERNAL, 'no account after SSO decision');
        await issueSession(auth, deps.audit, ctx, user, 'sso', who);
        // issueSession set the session cookie; keep both headers.
        const cookies = ctx.res.getHeader('Set-Cookie');
        ctx.res.setHeader('Set-Cookie', [
          bindingCookie('', 0),
          ...(Array.isArray(cookies) ? cookies : [String(cookies)]),
        ]);
        redirect(ctx, `${base}/#/`);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/auth/sign-in-settings',
      access: ['admin'],
      schema: {
        summary:
          'Sign-in settings (providers without their secret), the documented presets, and the roles that always need MFA (mfaFloor)',
      },
      handler: async () => ({
        settings: publicSettings(await settings.read()),
        presets: PRESETS,
        mfaFloor: settings.floor,
      }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/auth/sign-in-settings',
      access: ['admin'],
      schema: {
        body: SignInSettingsSchema,
        summary: 'Replace the sign-in settings (a left-out clientSecret is kept)',
      },
      handler: async (ctx) => {
        const saved = await settings.write(ctx.input.body);
        await audit(deps.audit, ctx.principal, AUDIT.signInSettingsChanged, 'settings:sign-in', ctx.ip, {
          providers: saved.providers.map((p) => ({ id: p.id, issuer: p.issuer, enabled: p.enabled })),
          localLoginDisabledRoles: saved.localLoginDisabledRoles,
          mfaRequiredRoles: saved.mfaRequiredRoles,
        });
        return { settings: publicSettings(await settings.read()) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/auth/sso/pending',
      access: ['admin'],
      schema: { summary: 'People who signed in with SSO and wait for a role' },
      handler: async () => ({
        pending: (await deps.pending.list()).map((e) => e.value).sort((a, b) => b.lastSeenAt - a.lastSeenAt),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/sso/pending/:id/assign',
      access: ['admin'],
      schema: {
        params: IdParams('pending SSO user'),
        body: Body({
          // A DSL is made through a DSL's approval: assign another role, then request dsl on the Staff page.
          role: Literals(SSO_ROLES, 'the role to give'),
          reason: Reason(),
        }),
        summary: 'Give a pending SSO user a role: their account is created, linked to (issuer, subject)',
      },
      handler: async (ctx) => {
        const key = ctx.input.params.id;
        let taken: PendingSsoUser | undefined;
        await deps.pending.update(key, (cur) => {
          taken = cur;
          return undefined;
        });
        const pend = taken as PendingSsoUser | undefined;
        if (!pend) throw notFound('pending SSO user');
        const user = await auth.users.createSso(
          { provider: pend.provider, issuer: pend.issuer, subject: pend.subject, email: pend.email },
          { displayName: pend.name || pend.email, role: ctx.input.body.role, roleFrom: 'admin' },
          ctx.principal?.username ?? 'unknown',
        );
        await audit(deps.audit, ctx.principal, AUDIT.ssoRoleAssigned, `user:${user.id}`, ctx.ip, {
          username: user.username,
          email: pend.email,
          provider: pend.provider,
          newRole: user.role,
          reason: ctx.input.body.reason,
        });
        ctx.res.statusCode = 201;
        return { user: publicUser(user) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/auth/sso/pending/:id/refuse',
      access: ['admin'],
      schema: {
        params: IdParams('pending SSO user'),
        body: Body({ reason: Reason() }),
        summary:
          'Refuse a pending SSO user: taken off the waiting list, no account made (signing in again puts them back on it)',
      },
      handler: async (ctx) => {
        const key = ctx.input.params.id;
        let taken: PendingSsoUser | undefined;
        await deps.pending.update(key, (cur) => {
          taken = cur;
          return undefined;
        });
        const pend = taken as PendingSsoUser | undefined;
        if (!pend) throw notFound('pending SSO user');
        await audit(deps.audit, ctx.principal, AUDIT.ssoPendingRefused, `sso-pending:${key}`, ctx.ip, {
          email: pend.email,
          provider: pend.provider,
          reason: ctx.input.body.reason,
        });
        return { refused: { id: key, email: pend.email, provider: pend.provider } };
      },
    }),
  ];
}
