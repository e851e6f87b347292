// Enrolment: the public enrol endpoint and agreement text, and the admin's codes and secret.
import { ErrorCode } from '@custodian/protocol';
import { type App, actorOf } from '../app.ts';
import { currentAgreement } from '../enrol/agreement.ts';
import type { EnrolResult } from '../enrol/service.ts';
import { objectBody } from './query.ts';
import { HttpError, type Route } from './router.ts';

/** Who may see and decide queued replacement enrolments. */
const REPLACEMENT_DECIDERS = ['admin', 'it'] as const;

export function enrolRoutes(app: App): Route[] {
  return [
    { method: 'GET', path: '/api/v1/agreement', access: 'public', handler: () => currentAgreement() },
    {
      method: 'POST',
      path: '/api/v1/enrol',
      access: 'public',
      // Agents have no cookie session; the secret or code in the body is the credential.
      csrf: false,
      handler: async (ctx) => {
        const body = objectBody(ctx.body);
        const answer = (r: EnrolResult) => {
          if (r.status === 'pending') ctx.res.statusCode = 202;
          return r;
        };
        if (typeof body['secret'] === 'string') return answer(await app.enrol.enrolSchool(body, ctx.ip));
        if (typeof body['code'] === 'string') return answer(await app.enrol.enrolByod(body, ctx.ip));
        throw new HttpError(
          400,
          ErrorCode.INVALID_INPUT,
          'send either the enrol secret or a BYOD enrolment code',
        );
      },
    },
    {
      method: 'POST',
      path: '/api/v1/enrol/claim',
      access: 'public',
      // The requester of a queued replacement; the key it was given is the credential.
      csrf: false,
      handler: async (ctx) => {
        const r = await app.enrol.replacements.claim(objectBody(ctx.body));
        if (r.status === 'pending') ctx.res.statusCode = 202;
        return r;
      },
    },
    {
      method: 'GET',
      path: '/api/v1/enrol/replacements',
      access: REPLACEMENT_DECIDERS,
      handler: async (ctx) => {
        const state = ctx.url.searchParams.get('state') ?? undefined;
        if (state !== undefined && !['pending', 'approved', 'denied'].includes(state))
          throw new HttpError(400, ErrorCode.INVALID_INPUT, 'state must be pending, approved or denied');
        const list = await app.store.enrol.listReplacements(
          state ? { state: state as 'pending' | 'approved' | 'denied' } : {},
        );
        return {
          replacements: list.map(({ keyHash: _k, byod, ...r }) => ({
            ...r,
            // The code's hash stays in the store: the list needs who accepted, not which code.
            ...(byod ? { byod: { ...byod, codeHash: undefined } } : {}),
            replacesLastSeenAt: app.status.get(r.replaces).lastSeenAt ?? null,
            replacesConnected: app.status.get(r.replaces).connected,
          })),
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/enrol/replacements/:id/approve',
      access: REPLACEMENT_DECIDERS,
      handler: async (ctx) => {
        const body = objectBody(ctx.body);
        const { keyHash: _k, ...r } = await app.enrol.replacements.approve(
          ctx.params['id'] as string,
          body['reason'] as string,
          actorOf(ctx.principal),
        );
        return { replacement: r };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/enrol/replacements/:id/deny',
      access: REPLACEMENT_DECIDERS,
      handler: async (ctx) => {
        const body = objectBody(ctx.body);
        const { keyHash: _k, ...r } = await app.enrol.replacements.deny(
          ctx.params['id'] as string,
          body['reason'] as string,
          actorOf(ctx.principal),
        );
        return { replacement: r };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/enrol/codes',
      access: ['admin'],
      handler: async (ctx) => {
        const body = ctx.body === undefined ? {} : objectBody(ctx.body);
        const created = await app.enrol.createCode({
          ...(body['ttlHours'] !== undefined ? { ttlHours: body['ttlHours'] as number } : {}),
          ...(body['note'] !== undefined ? { note: body['note'] as string } : {}),
          actor: actorOf(ctx.principal),
        });
        ctx.res.statusCode = 201;
        return created;
      },
    },
    {
      method: 'GET',
      path: '/api/v1/enrol/codes',
      access: ['admin'],
      handler: async () => ({
        codes: (await app.store.enrol.listCodes()).map(({ codeHash: _h, ...c }) => ({
          ...c,
          state: c.usedAt !== undefined ? 'used' : c.expiresAt <= Date.now() ? 'expired' : 'open',
        })),
      }),
    },
    {
      method: 'POST',
      path: '/api/v1/enrol/secret/rotate',
      access: ['admin'],
      handler: async (ctx) => ({ secret: await app.enrol.rotateSecret(actorOf(ctx.principal)) }),
    },
  ];
}
