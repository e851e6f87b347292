// The incident log API (safeguarding role) and its evidence export.

import { Type } from '@sinclair/typebox';
import { AUDIT, audit } from '../auth/audit.ts';
import { type Route, route } from '../http/router.ts';
import { IdParams, Literals } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import type { RevealGate } from './dual-control.ts';
import { exportAlert, exportIncident } from './evidence.ts';
import {
  INCIDENT_STATUSES,
  IncidentCreateBody,
  IncidentPatchBody,
  type IncidentService,
} from './incidents.ts';
import { SAFEGUARDING } from './roles.ts';

const IncidentParams = IdParams('incident');
const IncidentsQuery = Type.Object({
  status: Type.Optional(Literals(INCIDENT_STATUSES, 'only incidents in this state')),
});

export function incidentRoutes(deps: {
  store: Store;
  incidents: IncidentService;
  gate?: RevealGate | undefined;
}): Route[] {
  const { store, incidents, gate } = deps;
  return [
    route({
      method: 'GET',
      path: '/api/v1/incidents',
      access: SAFEGUARDING,
      schema: { query: IncidentsQuery, summary: 'The incident log' },
      handler: async (ctx) => {
        const { status } = ctx.input.query;
        const all = await incidents.list();
        await audit(store.audit, ctx.principal, AUDIT.incidentListViewed, 'incidents:list', ctx.ip, {
          ...(status ? { status } : {}),
        });
        return { incidents: status === undefined ? all : all.filter((i) => i.status === status) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/incidents',
      access: SAFEGUARDING,
      schema: { body: IncidentCreateBody, summary: 'Open an incident record' },
      handler: async (ctx) => {
        const incident = await incidents.create(ctx.input.body, ctx.principal?.username ?? 'unknown');
        await audit(store.audit, ctx.principal, AUDIT.incidentCreated, `incident:${incident.id}`, ctx.ip);
        ctx.res.statusCode = 201;
        return { incident };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/incidents/:id',
      access: SAFEGUARDING,
      schema: { params: IncidentParams, summary: 'One incident with its history' },
      handler: async (ctx) => {
        const incident = await incidents.require(ctx.input.params.id);
        await audit(store.audit, ctx.principal, AUDIT.incidentViewed, `incident:${incident.id}`, ctx.ip);
        return { incident };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/v1/incidents/:id',
      access: SAFEGUARDING,
      schema: {
        params: IncidentParams,
        body: IncidentPatchBody,
        summary: 'Change fields (each change is in the history)',
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        const before = await incidents.require(id);
        const incident = await incidents.update(id, ctx.input.body, ctx.principal?.username ?? 'unknown');
        if (incident.history.length !== before.history.length)
          await audit(store.audit, ctx.principal, AUDIT.incidentUpdated, `incident:${id}`, ctx.ip, {
            fields: Object.keys(incident.history[incident.history.length - 1]?.changes ?? {}),
          });
        return { incident };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/incidents/:id/export',
      access: SAFEGUARDING,
      raw: true,
      schema: { params: IncidentParams, summary: 'Evidence export of an incident (HTML, audited)' },
      handler: (ctx) => exportIncident(store, incidents, ctx, gate),
    }),
    route({
      method: 'GET',
      path: '/api/v1/alerts/:id/export',
      access: SAFEGUARDING,
      raw: true,
      schema: { params: IdParams('alert'), summary: 'Evidence export of an alert (HTML, audited)' },
      handler: (ctx) => exportAlert(store, ctx, gate),
    }),
  ];
}
