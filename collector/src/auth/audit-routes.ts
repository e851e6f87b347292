// GET /api/v1/audit (admin): logins, screenshot views, exports, policy and role changes.
// Filters map straight onto the AuditStore query; `actionPrefix` (e.g. `auth.`) is applied
// here on the page returned.
import { Type } from '@sinclair/typebox';
import { type Route, route } from '../http/router.ts';
import { QueryInt, QueryTime } from '../http/schema.ts';
import type { AuditStore, Store } from '../store/types.ts';
import { aboutCallersSchools, targetResolver } from '../tenancy/targets.ts';

const Str = (maxLength: number, description: string) =>
  Type.Optional(Type.String({ maxLength, description }));
const AuditPage = Type.Object({
  records: Type.Array(
    Type.Object({
      id: Type.String(),
      at: Type.Integer({ description: 'ms since the epoch' }),
      actor: Type.String({ description: 'a username, admin-token, system, or device:<id>' }),
      action: Type.String({ description: 'e.g. auth.login, device.revoke, alert.screenshot.view' }),
      target: Type.String({ description: 'e.g. user:<id>, device:<id>, policy:default' }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      ip: Type.Optional(Type.String()),
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for older records' }),
});
const AuditQuery = Type.Object({
  limit: Type.Optional(QueryInt(1, 1000, 'how many records per page (default 100)')),
  since: Type.Optional(QueryTime('the oldest record')),
  from: Type.Optional(QueryTime('the oldest record (same as since)')),
  until: Type.Optional(QueryTime('the newest record')),
  to: Type.Optional(QueryTime('the newest record (same as until)')),
  action: Str(100, 'only this action, e.g. auth.login'),
  actionPrefix: Str(100, 'only actions starting with this, e.g. auth.'),
  actor: Str(200, 'only this actor (a username, admin-token, device:<id>)'),
  target: Str(300, 'only this target, e.g. user:<id>'),
  cursor: Str(2048, 'nextCursor from the previous page'),
});

export function auditRoutes(deps: { audit: AuditStore; store: Store }): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/audit',
      access: ['admin'],
      // A school-scoped admin sees the entries about its schools' devices, alerts, incidents,
      // staff and the school itself (tenancy/targets.ts); a page may then hold fewer than `limit`.
      tenancy: 'school',
      schema: { query: AuditQuery, response: { 200: AuditPage }, summary: 'The audit log, newest first' },
      handler: async (ctx) => {
        const q = ctx.input.query;
        const since = q.since ?? q.from;
        const until = q.until ?? q.to;
        const { action, actor, target, cursor, actionPrefix: prefix } = q;
        const page = await deps.audit.list({
          limit: q.limit ?? 100,
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          ...(action ? { action } : {}),
          ...(actor ? { actor } : {}),
          ...(target ? { target } : {}),
          ...(cursor ? { cursor } : {}),
        });
        const resolve = targetResolver(deps.store);
        const records = [];
        for (const r of page.records) {
          if (prefix && !r.action.startsWith(prefix)) continue;
          const deviceActor = r.actor.startsWith('device:') ? r.actor : undefined;
          if (await aboutCallersSchools(ctx.principal, [r.target, deviceActor], resolve)) records.push(r);
        }
        return { records, nextCursor: page.nextCursor ?? null };
      },
    }),
  ];
}
