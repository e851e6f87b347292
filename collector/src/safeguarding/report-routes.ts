// GET /api/v1/reports/termly: governors always get the anonymised variant; the DSL and admin
// get the full one unless they ask for `anonymised=1` (to preview what governors see).

import { Type } from '@sinclair/typebox';
import { seesSafeguardingContent } from '../devices/views.ts';
import { badInput, notFound, type Route, route } from '../http/router.ts';
import { Literals, QueryTime } from '../http/schema.ts';
import type { TextScreens } from '../ingest/text-screen.ts';
import type { Store } from '../store/types.ts';
import { schoolOfDevice } from '../tenancy/model.ts';
import { SchoolId } from '../tenancy/schema.ts';
import { inScope, isTrustWide, schoolOfRecord, wantedSchools } from '../tenancy/scope.ts';
import { aboutCallersSchools, targetResolver } from '../tenancy/targets.ts';
import type { IncidentService } from './incidents.ts';
import { readSummary } from './read-summary.ts';
import { buildReport, currentTerm, type DeviceFacts, effectivePolicy } from './reports.ts';
import { REPORT_READERS } from './roles.ts';

const MAX_PERIOD_MS = 400 * 86_400_000;

const ReportQuery = Type.Object({
  from: Type.Optional(QueryTime('the start of the period (default: this term)')),
  to: Type.Optional(QueryTime('the end of the period (default: this term)')),
  anonymised: Type.Optional(Literals(['0', '1'], "1 for the governors' variant")),
  school: Type.Optional(
    SchoolId(
      "one school's report (default: every school in your scope — the whole trust for trust-wide staff)",
    ),
  ),
});

const ReadsQuery = Type.Object({
  from: Type.Optional(QueryTime('the start of the period (default: this term)')),
  to: Type.Optional(QueryTime('the end of the period (default: this term)')),
});

/** The period asked for (default: this term), checked: `to` after `from`, at most 400 days. */
function periodOf(q: { from?: number | undefined; to?: number | undefined }, now: number) {
  const term = currentTerm(now);
  const from = q.from ?? term.from;
  const to = q.to ?? term.to;
  // Rules across fields stay with the handler; the field names follow the schema errors.
  if (to <= from) throw badInput('to must be after from', { field: 'query.to' });
  if (to - from > MAX_PERIOD_MS) throw badInput('the period may be at most 400 days', { field: 'query.to' });
  return { from, to, label: from === term.from && to === term.to ? term.label : null };
}

/** Every audit record from `from` to `to` (the store pages by 1,000). */
async function* auditBetween(store: Store, from: number, to: number) {
  let cursor: string | undefined;
  do {
    const page = await store.audit.list({
      since: from,
      until: to,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    yield* page.records;
    cursor = page.nextCursor;
  } while (cursor);
}

export function reportRoutes(deps: {
  store: Store;
  incidents: IncidentService;
  now?: () => number;
  /** Screens device text (hostnames) that only the DSL may see; without it non-DSL get none. */
  screens?: Pick<TextScreens, 'cached'>;
}): Route[] {
  const { store, incidents } = deps;
  const now = deps.now ?? Date.now;
  return [
    route({
      method: 'GET',
      path: '/api/v1/reports/termly',
      access: REPORT_READERS,
      tenancy: 'school',
      schema: { query: ReportQuery, summary: 'The termly report (anonymised for governors)' },
      handler: async (ctx) => {
        const q = ctx.input.query;
        // Tenancy: the caller's schools only (one of them with ?school=); every count below is of those.
        if (q.school !== undefined && !inScope(ctx.principal, q.school)) throw notFound(`school ${q.school}`);
        const wanted = wantedSchools(ctx.principal, q.school);
        const { from, to, label } = periodOf(q, now());
        const anonymised = ctx.principal?.role === 'governor' || q.anonymised === '1';
        const base = await store.policy.getDefault();
        const overrides = new Map((await store.policy.listOverrides()).map((o) => [o.deviceId, o]));
        const statuses = new Map((await store.status.list()).map((s) => [s.deviceId, s]));
        const devices: DeviceFacts[] = [];
        for (const device of await store.devices.list()) {
          if (device.revokedAt !== undefined || !wanted(schoolOfDevice(device))) continue;
          const lock = await store.timeline.query({
            deviceId: device.id,
            from,
            to,
            kinds: ['lockFailed'],
            limit: 100,
          });
          const usb = await store.timeline.query({
            deviceId: device.id,
            from,
            to,
            kinds: ['usbEnforcementFailed'],
            limit: 100,
          });
          devices.push({
            device,
            status: statuses.get(device.id),
            policy: effectivePolicy(base, overrides.get(device.id)),
            lockFailures: lock.records.length,
            usbFailures: usb.records.length,
          });
        }
        const alerts = (await store.alerts.list({ limit: 100_000 })).filter((a) => wanted(schoolOfRecord(a)));
        const inScopeIncidents = (await incidents.list()).filter((i) => wanted(schoolOfRecord(i)));
        const report = buildReport({ from, to, alerts, incidents: inScopeIncidents, devices }, anonymised);
        // The full report names devices for IT follow-up: a hostname that matches the safeguarding
        // library is the DSL's only (an admin reads this too).
        const list =
          'list' in report.devices
            ? (report.devices.list as ({ deviceId: string; hostname: string } & { hidden?: object })[])
            : undefined;
        if (list && !seesSafeguardingContent(ctx.principal))
          for (const d of list)
            if (!deps.screens || deps.screens.cached(d.deviceId).matches(d.hostname)) {
              d.hostname = '';
              d.hidden = { hostname: 'safeguarding' };
            }
        return {
          ...report,
          period: { ...report.period, label },
          ...(q.school !== undefined ? { school: q.school } : {}),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/reports/reads',
      access: REPORT_READERS,
      // A school-scoped caller counts the views of its schools' alerts, incidents and device
      // timelines only (tenancy/targets.ts); views of the queue or a feed name no school.
      tenancy: 'school',
      schema: {
        query: ReadsQuery,
        summary: 'Views of safeguarding content by staff role and month (no names, no targets)',
      },
      handler: async (ctx) => {
        const { from, to, label } = periodOf(ctx.input.query, now());
        const records = [];
        const scoped = !isTrustWide(ctx.principal);
        const resolve = targetResolver(store);
        for await (const r of auditBetween(store, from, to))
          if (!scoped || (await aboutCallersSchools(ctx.principal, [r.target], resolve))) records.push(r);
        const summary = readSummary(records, from, to);
        return { ...summary, period: { ...summary.period, label } };
      },
    }),
  ];
}
