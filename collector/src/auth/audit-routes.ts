// GET /api/v1/audit (admin): logins, screenshot views, exports, policy and role changes.
// Filters map straight onto the AuditStore query; `actionPrefix` (e.g. `auth.`) is applied
// here on the page returned.
import { badInput, type Route } from '../http/router.ts';
import { parseTime } from '../safeguarding/alert-query.ts';
import type { AuditStore } from '../store/types.ts';

export function auditRoutes(deps: { audit: AuditStore }): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/audit',
      access: ['admin'],
      handler: async (ctx) => {
        const q = ctx.url.searchParams;
        const str = (name: string, max: number) => {
          const v = q.get(name);
          if (v === null || v === '') return undefined;
          if (v.length > max) throw badInput(`${name} is too long`, { field: name });
          return v;
        };
        const limitRaw = q.get('limit');
        const limit = limitRaw === null ? 100 : Number(limitRaw);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw badInput('limit must be 1-1000', { field: 'limit' });
        const since = parseTime(q, 'since') ?? parseTime(q, 'from');
        const until = parseTime(q, 'until') ?? parseTime(q, 'to');
        const action = str('action', 100);
        const actor = str('actor', 200);
        const target = str('target', 300);
        const cursor = str('cursor', 2048);
        const prefix = str('actionPrefix', 100);
        const page = await deps.audit.list({
          limit,
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          ...(action ? { action } : {}),
          ...(actor ? { actor } : {}),
          ...(target ? { target } : {}),
          ...(cursor ? { cursor } : {}),
        });
        const records = prefix ? page.records.filter((r) => r.action.startsWith(prefix)) : page.records;
        return { records, nextCursor: page.nextCursor ?? null };
      },
    },
  ];
}
