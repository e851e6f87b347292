// Policy along the chain trust default -> school -> group -> device, and the change log of each
// layer. School-scoped staff (tenancy/model.ts scopeOf) see and edit only their schools' layers
// and devices; another school's layer, group or device answers 404, the trust default is
// read-only to them (403 on PUT).
import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { actorOf, HttpError, notFound, type Principal, type Route, route } from '../http/router.ts';
import { Body, IdParams, QueryInt, Reason } from '../http/schema.ts';
import type { PolicyChange, PolicyLayerRef, Store } from '../store/types.ts';
import type { DeviceGroups } from '../tenancy/groups.ts';
import { schoolOfDevice, scopeAllows, scopeOf, TENANT_ID_PATTERN } from '../tenancy/model.ts';
import type { PolicyService } from './service.ts';

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
      scope: Type.String({ description: "'default', 'school:<id>', 'group:<id>' or a device id" }),
      move: Type.Optional(
        Type.Object(
          { from: Type.Union([Type.String(), Type.Null()]), to: Type.Union([Type.String(), Type.Null()]) },
          { description: 'present when a device moved between groups (its chain changed)' },
        ),
      ),
      old: Type.Unknown({ description: 'the policy (or device override) before; null for none' }),
      new: Type.Unknown({ description: 'the policy (or device override) after; null for none' }),
      reason: Type.Union([Type.String(), Type.Null()], { description: 'why; null for governors' }),
      version: Type.Integer(),
    }),
  ),
  nextCursor: Type.Optional(Type.String({ description: 'pass as cursor for older changes' })),
  anonymised: Type.Optional(Type.Literal(true, { description: 'present for governors' })),
});
const LayerBody = Body({
  policy: Type.Union([PolicyPatch, Type.Null()], {
    description: 'the partial policy this layer sets over the layers above it, or null to remove the layer',
  }),
  reason: Reason(),
});
const TenantId = (what: string) =>
  Type.String({ pattern: TENANT_ID_PATTERN, description: `the ${what}'s id (a-z, 0-9, -; 1 to 40)` });
const SchoolParams = Type.Object({ schoolId: TenantId('school') });
const GroupParams = Type.Object({ groupId: TenantId('group') });
const LayerAnswer = Type.Object({
  schoolId: Type.String(),
  groupId: Type.Optional(Type.String()),
  layer: Type.Union([Type.Object({ patch: Type.Unknown(), version: Type.Integer() }), Type.Null()], {
    description: 'the patch this layer sets and the version of its last change; null: no layer',
  }),
  above: Type.Unknown({
    description: "what the layer inherits: the trust default (and a group's school layer)",
  }),
  effective: Type.Unknown({
    description: 'the layer over what it inherits: what its devices get before their own override',
  }),
});
const LayersAnswer = Type.Object({
  effective: Type.Unknown({ description: "the device's effective policy" }),
  layers: Type.Array(
    Type.Object({
      kind: Type.String({ description: 'default, school, group or device' }),
      id: Type.String(),
      version: Type.Integer(),
      patch: Type.Unknown({ description: 'the whole policy for the default; the patch for the others' }),
    }),
  ),
  fields: Type.Array(
    Type.Object({
      field: Type.String({ description: 'e.g. idleLock.idleLockSeconds' }),
      value: Type.Unknown(),
      layer: Type.String({ description: 'which layer set it: default, school, group or device' }),
      id: Type.String({ description: "that layer's id ('default', the school, group or device id)" }),
    }),
  ),
});
const LayerChangesQuery = Type.Object({
  limit: Type.Optional(QueryInt(1, 1000, 'how many changes per page (default 100)')),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor from the previous page' })),
});
const ChangesQuery = Type.Object({
  scope: Type.Optional(
    Type.String({
      maxLength: 128,
      description: '`default`, `school:<id>`, `group:<id>` or a device id: only changes to that layer',
    }),
  ),
  limit: Type.Optional(QueryInt(1, 1000, 'how many changes per page (default 100)')),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor from the previous page' })),
});

/** A change as governors see it: when, what and which version, not who or why. */
/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface PolicyRouteDeps {
  readonly groups: DeviceGroups;
  readonly policy: PolicyService;
  readonly store: Store;
}

export function anonymisedChange(c: PolicyChange): Omit<PolicyChange, 'reason'> & { reason: null } {
  return { ...c, actor: c.actor === 'system' ? 'system' : 'staff', reason: null };
}

/** Another school's device is "not found" to a school-scoped caller (no hint that it exists). */
async function visibleDevice(app: PolicyRouteDeps, principal: Principal | undefined, id: string) {
  const device = await app.store.devices.get(id);
  if (!device || !scopeAllows(scopeOf(principal), schoolOfDevice(device))) throw notFound(`device ${id}`);
  return device;
}

/** The layer's school, if the caller may see it; 404 for an unknown or another school's layer. */
async function visibleLayer(
  app: PolicyRouteDeps,
  principal: Principal | undefined,
  ref: PolicyLayerRef,
): Promise<string> {
  const what = `${ref.kind} ${ref.id}`;
  let schoolId: string;
  try {
    schoolId = await app.policy.schoolOfLayer(ref);
  } catch (err) {
    if ((err as { code?: string }).code === ErrorCode.NOT_FOUND) throw notFound(what);
    throw err;
  }
  if (!scopeAllows(scopeOf(principal), schoolId)) throw notFound(what);
  return schoolId;
}

/** Whether a school-scoped caller may see a change record (the default's: everyone who reads policy). */
function changeFilter(app: PolicyRouteDeps, principal: Principal | undefined) {
  const scope = scopeOf(principal);
  if (scope === 'all') return async () => true;
  const schools = new Map<string, string | undefined>();
  const schoolOf = async (key: string, find: () => Promise<string | undefined>) => {
    if (!schools.has(key)) schools.set(key, await find());
    return schools.get(key);
  };
  return async (c: PolicyChange) => {
    if (c.scope === 'default') return true;
    const colon = c.scope.indexOf(':');
    const kind = colon < 0 ? 'device' : c.scope.slice(0, colon);
    const id = colon < 0 ? c.scope : c.scope.slice(colon + 1);
    const schoolId =
      kind === 'school'
        ? id
        : kind === 'group'
          ? await schoolOf(c.scope, async () => (await app.groups.get(id))?.schoolId)
          : await schoolOf(c.scope, async () => {
              const d = await app.store.devices.get(id);
              return d ? schoolOfDevice(d) : undefined;
            });
    return schoolId !== undefined && scopeAllows(scope, schoolId);
  };
}

async function changesPage(
  app: PolicyRouteDeps,
  principal: Principal | undefined,
  q: { scope?: string | undefined; cursor?: string | undefined; limit?: number | undefined },
) {
  const page = await app.store.policy.changes({
    limit: q.limit ?? 100,
    ...(q.scope ? { scope: q.scope } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
  });
  const visible = changeFilter(app, principal);
  const records: PolicyChange[] = [];
  for (const r of page.records) if (await visible(r)) records.push(r);
  const shown = { ...page, records };
  if (principal?.role !== 'governor') return shown;
  return { ...shown, records: records.map(anonymisedChange), anonymised: true as const };
}

export function policyRoutes(app: PolicyRouteDeps): Route[] {
  const layerRoutes = (kind: 'school' | 'group'): Route[] => {
    const base = kind === 'school' ? '/api/v1/policy/schools/:schoolId' : '/api/v1/policy/groups/:groupId';
    const Params = kind === 'school' ? SchoolParams : GroupParams;
    const refOf = (params: { schoolId?: string; groupId?: string }): PolicyLayerRef => ({
      kind,
      id: (kind === 'school' ? params.schoolId : params.groupId) as string,
    });
    const answer = async (ref: PolicyLayerRef, schoolId: string) => ({
      schoolId,
      ...(kind === 'group' ? { groupId: ref.id } : {}),
      ...(await app.policy.layerView(ref)),
    });
    return [
      route({
        method: 'GET',
        path: base,
        access: ['admin', 'it', 'dsl'],
        tenancy: 'school',
        schema: { params: Params, response: { 200: LayerAnswer }, summary: `A ${kind}'s policy layer` },
        handler: async (ctx) => {
          const ref = refOf(ctx.input.params);
          return answer(ref, await visibleLayer(app, ctx.principal, ref));
        },
      }),
      route({
        method: 'PUT',
        path: base,
        access: ['admin'],
        tenancy: 'school',
        schema: {
          params: Params,
          body: LayerBody,
          response: { 200: LayerAnswer },
          summary: `Set or remove (null) a ${kind}'s policy layer; pushed to its connected devices`,
        },
        handler: async (ctx) => {
          const ref = refOf(ctx.input.params);
          const schoolId = await visibleLayer(app, ctx.principal, ref);
          const { policy, reason } = ctx.input.body;
          await app.policy.updateLayer(ref, policy, reason, actorOf(ctx.principal));
          return answer(ref, schoolId);
        },
      }),
      route({
        method: 'GET',
        path: `${base}/changes`,
        access: ['admin', 'it', 'dsl', 'governor'],
        tenancy: 'school',
        schema: {
          params: Params,
          query: LayerChangesQuery,
          response: { 200: ChangesPage },
          summary: `The change log of a ${kind}'s policy layer (anonymised for governors)`,
        },
        handler: async (ctx) => {
          const ref = refOf(ctx.input.params);
          await visibleLayer(app, ctx.principal, ref);
          return changesPage(app, ctx.principal, { ...ctx.input.query, scope: `${kind}:${ref.id}` });
        },
      }),
    ];
  };
  return [
    ...layerRoutes('school'),
    ...layerRoutes('group'),
    route({
      method: 'GET',
      path: '/api/v1/devices/:id/policy/layers',
      access: ['admin', 'it', 'dsl'],
      tenancy: 'school',
      schema: {
        params: IdParams('device'),
        response: { 200: LayersAnswer },
        summary: "A device's chain of policy layers and which layer set each effective value",
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        await visibleDevice(app, ctx.principal, id);
        return app.policy.layers(id);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/policy',
      access: ['admin', 'it', 'dsl'],
      // The trust default: the same for every school, readable by school-scoped staff.
      tenancy: 'none',
      schema: { summary: 'The default policy' },
      handler: async () => ({ policy: await app.policy.getDefault() }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/policy',
      access: ['admin', 'it'],
      schema: { body: DefaultPolicyBody, summary: 'Change the default policy' },
      handler: async (ctx) => {
        if (scopeOf(ctx.principal) !== 'all')
          throw new HttpError(
            403,
            ErrorCode.FORBIDDEN,
            'the trust default is changed by trust-wide staff only',
          );
        const { policy, reason } = ctx.input.body;
        return { policy: await app.policy.updateDefault(policy, reason, actorOf(ctx.principal)) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/devices/:id/policy',
      access: ['admin', 'it', 'dsl'],
      tenancy: 'school',
      schema: { params: IdParams('device'), summary: "A device's effective policy and its override" },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        await visibleDevice(app, ctx.principal, id);
        const override = await app.policy.getOverride(id);
        return { effective: await app.policy.effective(id), override: override ?? null };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/v1/devices/:id/policy',
      access: ['admin', 'it'],
      tenancy: 'school',
      schema: {
        params: IdParams('device'),
        body: DevicePolicyBody,
        summary: "Change or remove a device's override",
      },
      handler: async (ctx) => {
        await visibleDevice(app, ctx.principal, ctx.input.params.id);
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
      tenancy: 'school',
      schema: {
        query: ChangesQuery,
        response: { 200: ChangesPage },
        summary: 'The policy change log (anonymised for governors)',
      },
      // School-scoped staff see the default's changes and their own schools' layers and devices.
      handler: async (ctx) => changesPage(app, ctx.principal, ctx.input.query),
    }),
  ];
}
