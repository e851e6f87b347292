// Enrolment: the public enrol endpoint and agreement text, and the admin's codes and secret.
import { ErrorCode } from '@custodian/protocol';
import { type App, actorOf } from '../app.ts';
import { currentAgreement } from '../enrol/agreement.ts';
import { objectBody } from './query.ts';
import { HttpError, type Route } from './router.ts';

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
        if (typeof body['secret'] === 'string') return app.enrol.enrolSchool(body, ctx.ip);
        if (typeof body['code'] === 'string') return app.enrol.enrolByod(body, ctx.ip);
        throw new HttpError(
          400,
          ErrorCode.INVALID_INPUT,
          'send either the enrol secret or a BYOD enrolment code',
        );
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
