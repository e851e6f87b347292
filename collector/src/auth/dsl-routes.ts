// The DSL's side of DSL-account approval (dsl-approval.ts) and the stored notifications (each
// role reads its own).
import { Type } from '@sinclair/typebox';
import { ROLES, type Route, route } from '../http/router.ts';
import { Body, IdParams, Text } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { managesAccount } from '../tenancy/staff-scope.ts';
import { aboutCallersSchools, targetResolver } from '../tenancy/targets.ts';
import type { DslApproval } from './dsl-approval.ts';
import type { Notifications } from './notifications.ts';
import { publicUser } from './users.ts';

const RequestParams = IdParams('DSL account request');

export function dslRoutes(deps: { dsl: DslApproval; notifications: Notifications; store: Store }): Route[] {
  const { dsl, notifications } = deps;
  return [
    route({
      method: 'GET',
      path: '/api/v1/dsl-requests',
      access: ['dsl', 'admin'],
      // An account limited to some schools sees the requests for accounts within them.
      tenancy: 'school',
      schema: { summary: 'Requests for DSL accounts' },
      handler: async (ctx) => ({ requests: await dsl.list(ctx.principal) }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/dsl-requests/:id/approve',
      access: ['dsl'],
      // A DSL of some schools decides the requests for accounts within them (others: 404).
      tenancy: 'school',
      schema: {
        params: RequestParams,
        body: Body({}),
        summary: 'Approve (the one-time password is shown once)',
      },
      handler: async (ctx) => {
        const { request, user, oneTimePassword } = await dsl.approve(
          ctx.input.params.id,
          ctx.principal,
          ctx.ip,
        );
        // Shown once, to the approving DSL, who hands it over; it must be changed at first sign-in.
        return { request, user: publicUser(user), oneTimePassword };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/dsl-requests/:id/reject',
      access: ['dsl'],
      tenancy: 'school',
      schema: {
        params: RequestParams,
        body: Body({ reason: Type.Optional(Text(0, 1000, 'why (the requesting admin sees it)')) }),
        summary: 'Reject a request for a DSL account',
      },
      handler: async (ctx) => ({
        request: await dsl.reject(ctx.input.params.id, ctx.principal, ctx.ip, ctx.input.body.reason ?? ''),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/notifications',
      // Each role reads what was addressed to it (notify(role, …)): the DSL its notices, admins
      // the SSO sign-ins waiting for a role, IT the device health digests. Never another role's.
      // A school-scoped account sees those about its schools' alerts and devices (tenancy/targets.ts).
      access: ROLES,
      tenancy: 'school',
      schema: {
        summary:
          "The notifications addressed to the caller's role (DSL: capture lowered, DSL accounts; admin: SSO sign-ins waiting; it: device health)",
      },
      handler: async (ctx) => {
        if (!ctx.principal) return { notifications: [] };
        const resolve = targetResolver(deps.store);
        const out = [];
        for (const n of await notifications.list(ctx.principal.role)) {
          const d = n.details;
          const ref = (kind: string, v: unknown) => (typeof v === 'string' ? `${kind}:${v}` : undefined);
          // A DSL account request names the account's schools (null: a trust-wide account).
          const account = Array.isArray(d['schools'])
            ? managesAccount(ctx.principal, { schools: d['schools'] as string[] })
            : false;
          if (
            account ||
            (await aboutCallersSchools(
              ctx.principal,
              [ref('alert', d['alertId']), ref('device', d['deviceId']), ref('device', d['scope'])],
              resolve,
            ))
          )
            out.push(n);
        }
        return { notifications: out };
      },
    }),
  ];
}
