// Default and per-device policy, and the change log.
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import type { PolicyChange } from '../store/types.ts';
import { notFound, type Route, route } from './router.ts';
import { Body, IdParams, QueryInt, Reason } from './schema.ts';

// The patch itself is checked field by field by @custodian/policy (400 CUST_ERR_INVALID_POLICY
// naming every bad field); here it must be an object.
const PolicyPatch = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'a partial policy: only the fields to change (see GET /policy)',
  },
);
const DefaultPolicyBody = Body({ policy: PolicyPatch, reason: Reason() });
const DevicePolicyBody = Body({
  policy: Type.Optional(
    Type.Union([PolicyPatch, Type.Null()], {
      description: "a partial policy for this device, or null to remove the device's override",
    }),
  ),
  reason: Reason(),
});
const ChangesPage = Type.Object({
  records: Type.Array(
    Type.Object({
      id: Type.String(),
      at: Type.Integer({ description: 'ms since the epoch' }),
      actor: Type.String({ description: "who; for governors only 'staff' or 'system'" }),
      scope: Type.String({ description: "'default' or a device id" }),
      old: Type.Unknown({ description: 'the policy (or device override) before; null for none' }),
      new: Type.Unknown({ description: 'the policy (or device override) after; null for none' }),
      reason: Type.Union([Type.String(), Type.Null()], { description: 'why; null for governors' }),
      version: Type.Integer(),
    }),
  ),
  nextCursor: Type.Optional(Type.String({ description: 'pass as cursor for older changes' })),
  anonymised: Type.Optional(Type.Literal(true, { description: 'present for governors' })),
});
const ChangesQuery = Type.Object({
  scope: Type.Optional(
    Type.String({ maxLength: 128, description: '`default` or a device id: only changes to that policy' }),
  ),
  limit: Type.Optional(QueryInt(1, 1000, 'how many changes per page (default 100)')),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor from the previous page' })),
});

/** A change as governors see it: when, what and which version, not who or why. */
export function anonymisedChange(c: PolicyChange): Omit<PolicyChange, 'reason'> & { reason: null } {
  return { ...c, actor: c.actor === 'system' ? 'system' : 'staff', reason: null };
}

export function policyRoutes(app: App): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/policy',
      access: ['admin', 'it', 'dsl'],
      schema: { summary: 'The default policy' },
      handler: async () => ({ policy: await app.policy.getDefault() }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/policy',
      access: ['admin', 'it'],
      schema: { body: DefaultPolicyBody, summary: 'Change the default policy' },
      handler: async (ctx) => {
        const { policy, reason } = ctx.input.body;
        return { policy: await app.policy.updateDefault(policy, reason, actorOf(ctx.principal)) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/devices/:id/policy',
      access: ['admin', 'it', 'dsl'],
      schema: { params: IdParams('device'), summary: "A device's effective policy and its override" },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        if (!(await app.store.devices.get(id))) throw notFound(`device ${id}`);
        const override = await app.policy.getOverride(id);
        return { effective: await app.policy.effective(id), override: override ?? null };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/v1/devices/:id/policy',
      access: ['admin', 'it'],
      schema: {
        params: IdParams('device'),
        body: DevicePolicyBody,
        summary: "Change or remove a device's override",
      },
      handler: async (ctx) => {
        const { policy, reason } = ctx.input.body;
        const effective = await app.policy.updateDevice(
          ctx.input.params.id,
          policy === undefined ? {} : policy,
          reason,
          actorOf(ctx.principal),
        );
        return { effective };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/policy/changes',
      // The DSL sees who changed what and why (capture settings are theirs to watch); governors
      // get the log without names and reasons (a reason can name a pupil or a colleague).
      access: ['admin', 'it', 'dsl', 'governor'],
      schema: {
        query: ChangesQuery,
        response: { 200: ChangesPage },
        summary: 'The policy change log (anonymised for governors)',
      },
      handler: async (ctx) => {
        const { scope, cursor, limit } = ctx.input.query;
        const page = await app.store.policy.changes({
          limit: limit ?? 100,
          ...(scope ? { scope } : {}),
          ...(cursor ? { cursor } : {}),
        });
        if (ctx.principal?.role !== 'governor') return page;
        return { ...page, records: page.records.map(anonymisedChange), anonymised: true };
      },
    }),
  ];
}
