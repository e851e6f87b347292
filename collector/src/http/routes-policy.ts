// Default and per-device policy, and the change log.
import { type App, actorOf } from '../app.ts';
import type { PolicyChange } from '../store/types.ts';
import { intParam, objectBody, textParam } from './query.ts';
import { notFound, type Route } from './router.ts';

/** A change as governors see it: when, what and which version, not who or why. */
export function anonymisedChange(c: PolicyChange): Omit<PolicyChange, 'reason'> & { reason: null } {
  return { ...c, actor: c.actor === 'system' ? 'system' : 'staff', reason: null };
}

export function policyRoutes(app: App): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/policy',
      access: ['admin', 'it', 'dsl'],
      handler: async () => ({ policy: await app.policy.getDefault() }),
    },
    {
      method: 'PUT',
      path: '/api/v1/policy',
      access: ['admin', 'it'],
      handler: async (ctx) => {
        const body = objectBody(ctx.body);
        return {
          policy: await app.policy.updateDefault(body['policy'], body['reason'], actorOf(ctx.principal)),
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/devices/:id/policy',
      access: ['admin', 'it', 'dsl'],
      handler: async (ctx) => {
        const id = ctx.params['id'] as string;
        if (!(await app.store.devices.get(id))) throw notFound(`device ${id}`);
        const override = await app.policy.getOverride(id);
        return { effective: await app.policy.effective(id), override: override ?? null };
      },
    },
    {
      method: 'PUT',
      path: '/api/v1/devices/:id/policy',
      access: ['admin', 'it'],
      handler: async (ctx) => {
        const body = objectBody(ctx.body);
        const effective = await app.policy.updateDevice(
          ctx.params['id'] as string,
          body['policy'] === undefined ? {} : body['policy'],
          body['reason'],
          actorOf(ctx.principal),
        );
        return { effective };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/policy/changes',
      // The DSL sees who changed what and why (capture settings are theirs to watch); governors
      // get the log without names and reasons (a reason can name a pupil or a colleague).
      access: ['admin', 'it', 'dsl', 'governor'],
      handler: async (ctx) => {
        const scope = textParam(ctx.url, 'scope', 128);
        const cursor = ctx.url.searchParams.get('cursor') ?? undefined;
        const page = await app.store.policy.changes({
          limit: intParam(ctx.url, 'limit', 1, 1000) ?? 100,
          ...(scope ? { scope } : {}),
          ...(cursor ? { cursor } : {}),
        });
        if (ctx.principal?.role !== 'governor') return page;
        return { ...page, records: page.records.map(anonymisedChange), anonymised: true };
      },
    },
  ];
}
