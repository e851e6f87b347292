// The incident log API (safeguarding role) and its evidence export.

import { Type } from '@sinclair/typebox';
import { AUDIT, audit } from '../auth/audit.ts';
import { notFound, type Principal, type Route, route } from '../http/router.ts';
import { IdParams, Literals } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { SchoolId } from '../tenancy/schema.ts';
import {
  alertInScope,
  recordInScope,
  schoolForNew,
  schoolOfRecord,
  wantedSchools,
} from '../tenancy/scope.ts';
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
  school: Type.Optional(SchoolId('only incidents of this school (within your schools)')),
});
const CreateBody = Type.Composite(
  [
    IncidentCreateBody,
    Type.Object({
      schoolId: Type.Optional(SchoolId('the school it belongs to (default: yours, or the default school)')),
    }),
  ],
  { additionalProperties: false },
);

export function incidentRoutes(deps: {
  store: Store;
  incidents: IncidentService;
  gate?: RevealGate | undefined;
  schoolExists: (id: string) => Promise<boolean>;
}): Route[] {
  const { store, incidents, gate } = deps;
  /** Another school's incident is "not found" to a school-scoped DSL. */
  const load = async (id: string, principal: Principal | undefined) => {
    const incident = await incidents.require(id);
    if (!recordInScope(principal, incident)) throw notFound('incident');
    return incident;
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/incidents',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { query: IncidentsQuery, summary: 'The incident log' },
      handler: async (ctx) => {
        const { status, school } = ctx.input.query;
        const wanted = wantedSchools(ctx.principal, school);
        const all = (await incidents.list()).filter((i) => wanted(schoolOfRecord(i)));
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
      tenancy: 'school',
      schema: { body: CreateBody, summary: 'Open an incident record' },
      handler: async (ctx) => {
        const { schoolId: named, ...input } = ctx.input.body;
        const schoolId = await schoolForNew(deps.schoolExists, ctx.principal, named);
        const incident = await incidents.create(input, ctx.principal?.username ?? 'unknown', [], schoolId);
        await audit(store.audit, ctx.principal, AUDIT.incidentCreated, `incident:${incident.id}`, ctx.ip);
        ctx.res.statusCode = 201;
        return { incident };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/incidents/:id',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { params: IncidentParams, summary: 'One incident with its history' },
      handler: async (ctx) => {
        const incident = await load(ctx.input.params.id, ctx.principal);
        await audit(store.audit, ctx.principal, AUDIT.incidentViewed, `incident:${incident.id}`, ctx.ip);
        return { incident };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/v1/incidents/:id',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        params: IncidentParams,
        body: IncidentPatchBody,
        summary: 'Change fields (each change is in the history)',
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        const before = await load(id, ctx.principal);
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
      tenancy: 'school',
      raw: true,
      schema: { params: IncidentParams, summary: 'Evidence export of an incident (HTML, audited)' },
      handler: async (ctx) => {
        await load(ctx.input.params.id, ctx.principal);
        return exportIncident(store, incidents, ctx, gate);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/alerts/:id/export',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: { params: IdParams('alert'), summary: 'Evidence export of an alert (HTML, audited)' },
      handler: async (ctx) => {
        await alertInScope(store, ctx.principal, ctx.input.params.id);
        return exportAlert(store, ctx, gate);
      },
    }),
  ];
}
