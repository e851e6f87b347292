// A school's own notify layer over HTTP (issue 20): read, set and remove who is told of that
// school's alerts. `tenancy: 'school'`: a school-scoped admin or DSL manages its own schools'
// layers; another school's id (or one that does not exist) answers 404, as if absent. The layer
// holds no secret (the relay and webhooks stay the trust's), so the answer is the record itself.
import { Type } from '@sinclair/typebox';
import { AUDIT, auditInput } from '../auth/audit.ts';
import { notFound, type Principal, type Route, route } from '../http/router.ts';
import { SchoolId } from '../tenancy/schema.ts';
import { inScope } from '../tenancy/scope.ts';
import { NOTIFY_SETTINGS_ACCESS } from './routes.ts';
import type { SchoolNotifyLayer } from './school-layer.ts';
import type { SettingsStore } from './settings.ts';
import { applyLayerPatch, type LayerPatch, SchoolLayerBody } from './settings-schema.ts';

const SchoolParams = Type.Object({ schoolId: SchoolId("the school's id") });

const PATH = '/api/v1/notify/schools/:schoolId/settings';

export function schoolNotifyRoutes(deps: {
  settings: SettingsStore;
  schoolExists: (id: string) => Promise<boolean>;
  now: () => number;
}): Route[] {
  const { settings } = deps;
  const access = NOTIFY_SETTINGS_ACCESS;
  /** The school if the caller may see it and it exists; otherwise 404 (the same answer either way). */
  const school = async (principal: Principal | undefined, id: string): Promise<string> => {
    if (!inScope(principal, id) || !(await deps.schoolExists(id))) throw notFound(`school ${id}`);
    return id;
  };
  const answer = (schoolId: string, layer: SchoolNotifyLayer | null) => ({ schoolId, layer });
  const write = (
    ctx: { principal: Principal | undefined; ip: string | undefined },
    schoolId: string,
    change: (cur: SchoolNotifyLayer | null) => SchoolNotifyLayer | undefined,
  ) =>
    settings.updateLayer(schoolId, change, (old, next) =>
      auditInput(ctx.principal, AUDIT.notifySchoolSettingsChanged, `school:${schoolId}`, ctx.ip, {
        old,
        new: next,
      }),
    );
  return [
    route({
      method: 'GET',
      path: PATH,
      access,
      tenancy: 'school',
      schema: {
        params: SchoolParams,
        summary:
          "A school's own notify layer (its contacts, rota, schedule); null: the trust's settings apply",
      },
      handler: async (ctx) => {
        const id = await school(ctx.principal, ctx.input.params.schoolId);
        return answer(id, await settings.layerOf(id));
      },
    }),
    route({
      method: 'PUT',
      path: PATH,
      access,
      tenancy: 'school',
      schema: {
        params: SchoolParams,
        body: SchoolLayerBody,
        summary:
          "Set or change a school's notify layer (fields left out are kept; null schedule fields: the trust's)",
      },
      handler: async (ctx) => {
        const id = await school(ctx.principal, ctx.input.params.schoolId);
        const body = ctx.input.body as LayerPatch;
        const by = ctx.principal?.username ?? 'unknown';
        const trust = await settings.read();
        const saved = await write(ctx, id, (cur) => applyLayerPatch(trust, cur, id, body, by, deps.now()));
        return answer(id, saved);
      },
    }),
    route({
      method: 'DELETE',
      path: PATH,
      access,
      tenancy: 'school',
      schema: {
        params: SchoolParams,
        summary: "Remove a school's notify layer: its alerts go by the trust's settings again",
      },
      handler: async (ctx) => {
        const id = await school(ctx.principal, ctx.input.params.schoolId);
        if (!(await settings.layerOf(id))) throw notFound(`notify layer of school ${id}`);
        await write(ctx, id, () => undefined);
        return answer(id, null);
      },
    }),
  ];
}
