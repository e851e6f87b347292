// The incident log API (safeguarding role) and its evidence export.
import { AUDIT, audit } from '../auth/audit.ts';
import { badInput, type RequestContext, type Route } from '../http/router.ts';
import type { Store } from '../store/types.ts';
import { exportAlert, exportIncident } from './evidence.ts';
import { INCIDENT_STATUSES, type IncidentService } from './incidents.ts';
import { SAFEGUARDING } from './roles.ts';

function body(ctx: RequestContext): Record<string, unknown> {
  const b = ctx.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badInput('body must be a JSON object');
  return b as Record<string, unknown>;
}

export function incidentRoutes(deps: { store: Store; incidents: IncidentService }): Route[] {
  const { store, incidents } = deps;
  return [
    {
      method: 'GET',
      path: '/api/v1/incidents',
      access: SAFEGUARDING,
      handler: async (ctx) => {
        const status = ctx.url.searchParams.get('status');
        if (status !== null && !(INCIDENT_STATUSES as readonly string[]).includes(status))
          throw badInput(`status must be one of ${INCIDENT_STATUSES.join(', ')}`, { field: 'status' });
        const all = await incidents.list();
        return { incidents: status === null ? all : all.filter((i) => i.status === status) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/incidents',
      access: SAFEGUARDING,
      handler: async (ctx) => {
        const b = body(ctx);
        const incident = await incidents.create(b, ctx.principal?.username ?? 'unknown');
        await audit(store.audit, ctx.principal, AUDIT.incidentCreated, `incident:${incident.id}`, ctx.ip);
        ctx.res.statusCode = 201;
        return { incident };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/incidents/:id',
      access: SAFEGUARDING,
      handler: async (ctx) => ({ incident: await incidents.require(ctx.params.id as string) }),
    },
    {
      method: 'PATCH',
      path: '/api/v1/incidents/:id',
      access: SAFEGUARDING,
      handler: async (ctx) => {
        const id = ctx.params.id as string;
        const before = await incidents.require(id);
        const incident = await incidents.update(id, body(ctx), ctx.principal?.username ?? 'unknown');
        if (incident.history.length !== before.history.length)
          await audit(store.audit, ctx.principal, AUDIT.incidentUpdated, `incident:${id}`, ctx.ip, {
            fields: Object.keys(incident.history[incident.history.length - 1]?.changes ?? {}),
          });
        return { incident };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/incidents/:id/export',
      access: SAFEGUARDING,
      raw: true,
      handler: (ctx) => exportIncident(store, incidents, ctx),
    },
    {
      method: 'GET',
      path: '/api/v1/alerts/:id/export',
      access: SAFEGUARDING,
      raw: true,
      handler: (ctx) => exportAlert(store, ctx),
    },
  ];
}
