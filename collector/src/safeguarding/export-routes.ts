// Incidents and alerts out as CSV or JSON, for CPOMS, MyConcern or a safeguarding chronology:
// one record, or a date range (alerts also with the queue's filters). Safeguarding role only.
// Every export is audited before a byte is sent: who, which record or range and filters, how
// many records, and the SHA-256 of the exact file (also sent as X-Export-Sha256).

import { createHash, randomBytes } from 'node:crypto';
import { type StaticDecode, Type } from '@sinclair/typebox';
import { AUDIT, audit } from '../auth/audit.ts';
import { toCsv } from '../csv.ts';
import { badInput, notFound, type RequestContext, type Route, route } from '../http/router.ts';
import { IdParams, Literals, QueryTime } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { SchoolId } from '../tenancy/schema.ts';
import { alertInScope, recordInScope, schoolOfRecord, wantedSchools } from '../tenancy/scope.ts';
import { AlertQuery, alertFilter, matches } from './alert-query.ts';
import { MAX_ALERTS_SCANNED } from './alert-routes.ts';
import {
  alertRow,
  bundleIndex,
  CHRONOLOGY_COLUMNS,
  type ChronologyRow,
  incidentRow,
  rowCells,
} from './chronology.ts';
import { INCIDENT_STATUSES, type IncidentService } from './incidents.ts';
import { SAFEGUARDING } from './roles.ts';

export const EXPORT_FORMATS = ['csv', 'json'] as const;
type Format = (typeof EXPORT_FORMATS)[number];

/** Records one range export holds at most; a larger range is refused (narrow it). */
export const MAX_EXPORT_RECORDS = 5000;

const Format = Type.Optional(Literals(EXPORT_FORMATS, 'file format (default csv)'));
const FormatQuery = Type.Object({ format: Format });
const IncidentRangeQuery = Type.Object({
  format: Format,
  from: Type.Optional(QueryTime('incidents that occurred at or after this')),
  to: Type.Optional(QueryTime('incidents that occurred before this')),
  status: Type.Optional(Literals(INCIDENT_STATUSES, 'only incidents in this state')),
  school: Type.Optional(SchoolId('only incidents of this school (within your schools)')),
});
// The queue's filters (GET /alerts) without paging: an export takes the whole range.
const { offset: _o, limit: _l, ...alertFilters } = AlertQuery.properties;
const AlertRangeQuery = Type.Object({ format: Format, ...alertFilters });

interface ExportScope {
  kind: 'incidents' | 'alerts';
  /** `incident:<id>` / `alert:<id>` for one record, `incidents:range` / `alerts:range` for a range. */
  target: string;
  filename: string;
  details: Record<string, unknown>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function rangeName(from: number | undefined, to: number | undefined): string {
  return `${from === undefined ? 'start' : day(from)}-to-${to === undefined ? day(Date.now()) : day(to)}`;
}

function render(format: Format, rows: ChronologyRow[], meta: Record<string, unknown>): string {
  if (format === 'csv')
    return toCsv(
      CHRONOLOGY_COLUMNS,
      rows.map((r) => rowCells(r)),
    );
  return `${JSON.stringify({ export: { ...meta, columns: CHRONOLOGY_COLUMNS }, records: rows }, null, 2)}\n`;
}

async function send(
  store: Store,
  ctx: Pick<RequestContext, 'principal' | 'ip' | 'res'>,
  format: Format,
  scope: ExportScope,
  rows: ChronologyRow[],
): Promise<void> {
  const exportId = `xr_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
  const generatedAt = Date.now();
  const meta = {
    id: exportId,
    kind: scope.kind,
    generatedAt: new Date(generatedAt).toISOString(),
    generatedBy: ctx.principal?.username ?? 'unknown',
    ...scope.details,
    count: rows.length,
  };
  const body = render(format, rows, meta);
  const digest = sha256(body);
  await audit(store.audit, ctx.principal, AUDIT.recordsExported, scope.target, ctx.ip, {
    exportId,
    kind: scope.kind,
    format,
    ...scope.details,
    count: rows.length,
    ids: rows.map((r) => r.record_id),
    sha256: digest,
    bytes: Buffer.byteLength(body),
  });
  ctx.res.writeHead(200, {
    'content-type':
      format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'content-disposition': `attachment; filename="${scope.filename}.${format}"`,
    'cache-control': 'no-store, private',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'referrer-policy': 'no-referrer',
    'x-export-sha256': digest,
    'x-export-id': exportId,
    'x-export-count': String(rows.length),
  });
  ctx.res.end(body);
}

function tooMany(n: number): never {
  throw badInput(
    `the range holds ${n} records; one export holds at most ${MAX_EXPORT_RECORDS}: narrow the dates or filters`,
    { count: n, max: MAX_EXPORT_RECORDS },
  );
}

function checkRange(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && to <= from) throw badInput('to must be after from');
}

export function exportRoutes(deps: { store: Store; incidents: IncidentService }): Route[] {
  const { store, incidents } = deps;
  return [
    route({
      method: 'GET',
      path: '/api/v1/exports/incidents',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: {
        query: IncidentRangeQuery,
        summary:
          'Incidents of a date range as CSV or JSON, oldest first (CPOMS/MyConcern, chronology; audited)',
      },
      handler: async (ctx) => {
        const q = ctx.input.query;
        checkRange(q.from, q.to);
        const wanted = wantedSchools(ctx.principal, q.school);
        const picked = (await incidents.list())
          .filter(
            (i) =>
              wanted(schoolOfRecord(i)) &&
              (q.from === undefined || i.occurredAt >= q.from) &&
              (q.to === undefined || i.occurredAt < q.to) &&
              (q.status === undefined || i.status === q.status),
          )
          .sort((a, b) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : 1));
        if (picked.length > MAX_EXPORT_RECORDS) tooMany(picked.length);
        const rows: ChronologyRow[] = [];
        const bundles = await bundleIndex(store);
        for (const i of picked) rows.push(await incidentRow(store, bundles, i));
        await send(
          store,
          ctx,
          q.format ?? 'csv',
          {
            kind: 'incidents',
            target: 'incidents:range',
            filename: `incidents-${rangeName(q.from, q.to)}`,
            details: {
              scope: 'range',
              from: q.from ?? null,
              to: q.to ?? null,
              filters: q.status ? { status: q.status } : {},
            },
          },
          rows,
        );
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/exports/incidents/:id',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: {
        params: IdParams('incident'),
        query: FormatQuery,
        summary: 'One incident as CSV or JSON (CPOMS/MyConcern, chronology; audited)',
      },
      handler: async (ctx) => {
        const incident = await incidents.require(ctx.input.params.id);
        if (!recordInScope(ctx.principal, incident)) throw notFound('incident');
        await send(
          store,
          ctx,
          ctx.input.query.format ?? 'csv',
          {
            kind: 'incidents',
            target: `incident:${incident.id}`,
            filename: `incident-${incident.id}`,
            details: { scope: 'one', id: incident.id },
          },
          [await incidentRow(store, await bundleIndex(store), incident)],
        );
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/exports/alerts',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: {
        query: AlertRangeQuery,
        summary: "Alerts of a date range with the queue's filters as CSV or JSON, oldest first (audited)",
      },
      handler: async (ctx) => {
        const q = ctx.input.query;
        const filter = alertFilter({ ...q, offset: 0, limit: 1 } as unknown as StaticDecode<
          typeof AlertQuery
        >);
        checkRange(filter.from, filter.to);
        const all = await store.alerts.list({
          ...(filter.status ? { status: filter.status } : {}),
          ...(filter.category ? { category: filter.category } : {}),
          ...(filter.deviceId ? { deviceId: filter.deviceId } : {}),
          limit: MAX_ALERTS_SCANNED,
        });
        const wanted = wantedSchools(ctx.principal, q.school);
        const picked = all
          .filter((a) => wanted(schoolOfRecord(a)) && matches(a, filter))
          .sort((a, b) => a.occurredAt - b.occurredAt || (a.id < b.id ? -1 : 1));
        if (picked.length > MAX_EXPORT_RECORDS) tooMany(picked.length);
        const rows: ChronologyRow[] = [];
        const bundles = await bundleIndex(store);
        for (const a of picked) rows.push(await alertRow(store, bundles, a));
        const { offset: _off, limit: _lim, from, to, ...rest } = filter;
        if (q.school !== undefined) (rest as Record<string, unknown>)['school'] = q.school;
        await send(
          store,
          ctx,
          q.format ?? 'csv',
          {
            kind: 'alerts',
            target: 'alerts:range',
            filename: `alerts-${rangeName(from, to)}`,
            details: { scope: 'range', from: from ?? null, to: to ?? null, filters: rest },
          },
          rows,
        );
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/exports/alerts/:id',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: {
        params: IdParams('alert'),
        query: FormatQuery,
        summary: 'One alert as CSV or JSON (audited)',
      },
      handler: async (ctx) => {
        const alert = await alertInScope(store, ctx.principal, ctx.input.params.id);
        await send(
          store,
          ctx,
          ctx.input.query.format ?? 'csv',
          {
            kind: 'alerts',
            target: `alert:${alert.id}`,
            filename: `alert-${alert.id}`,
            details: { scope: 'one', id: alert.id },
          },
          [await alertRow(store, await bundleIndex(store), alert)],
        );
      },
    }),
  ];
}
