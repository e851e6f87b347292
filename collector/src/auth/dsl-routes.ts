// The DSL's side of DSL-account approval (dsl-approval.ts) and the stored notifications.
import { badInput, type Route } from '../http/router.ts';
import type { DslApproval } from './dsl-approval.ts';
import type { Notifications } from './notifications.ts';
import { publicUser } from './users.ts';

export function dslRoutes(deps: { dsl: DslApproval; notifications: Notifications }): Route[] {
  const { dsl, notifications } = deps;
  return [
    {
      method: 'GET',
      path: '/api/v1/dsl-requests',
      access: ['dsl', 'admin'],
      handler: async () => ({ requests: await dsl.list() }),
    },
    {
      method: 'POST',
      path: '/api/v1/dsl-requests/:id/approve',
      access: ['dsl'],
      handler: async (ctx) => {
        const { request, user, oneTimePassword } = await dsl.approve(
          ctx.params.id as string,
          ctx.principal,
          ctx.ip,
        );
        // Shown once, to the approving DSL, who hands it over; it must be changed at first sign-in.
        return { request, user: publicUser(user), oneTimePassword };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/dsl-requests/:id/reject',
      access: ['dsl'],
      handler: async (ctx) => {
        const b = (ctx.body ?? {}) as Record<string, unknown>;
        const reason = b.reason === undefined ? '' : b.reason;
        if (typeof reason !== 'string' || reason.length > 1000) throw badInput('reason must be a string');
        return { request: await dsl.reject(ctx.params.id as string, ctx.principal, ctx.ip, reason) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/notifications',
      access: ['dsl'],
      handler: async () => ({ notifications: await notifications.list('dsl') }),
    },
  ];
}
