// The DSL's alert API: the queue, one alert with its context, the decisions, the screenshot
// and a live feed of newly opened alerts (for the severity-5 banner). Safeguarding role only.

import { type StaticDecode, type TSchema, Type } from '@sinclair/typebox';
import { AUDIT, audit } from '../auth/audit.ts';
import { principalStillValid } from '../auth/revalidate.ts';
import { type Principal, type RequestContext, type Route, route } from '../http/router.ts';
import { Id, IdParams } from '../http/schema.ts';
import type { LiveHub } from '../live/hub.ts';
import { openSse } from '../live/sse.ts';
import type { Alert, Store } from '../store/types.ts';
import { alertInScope, recordInScope, schoolOfRecord, wantedSchools } from '../tenancy/scope.ts';
import {
  AcknowledgeBody,
  acknowledgeAlert,
  addNote,
  EscalateBody,
  escalateAlert,
  FalsePositiveBody,
  GradeBody,
  gradeAlert,
  markFalsePositive,
  NoteBody,
  recordViewed,
  ViewedBody,
} from './alert-actions.ts';
import { AlertQuery, alertFilter, applyAlertFilter, effectiveSeverity } from './alert-query.ts';
import { currentUserOf, deviceSummary, screenshotInfo, timelineExcerpt, userAtEvent } from './context.ts';
import type { RevealGate } from './dual-control.ts';
import type { IncidentService } from './incidents.ts';
import { SAFEGUARDING } from './roles.ts';
import { serveScreenshot } from './screenshots.ts';

export interface AlertRouteDeps {
  store: Store;
  incidents: IncidentService;
  live?: LiveHub | undefined;
  /** Dual control: asked before a screenshot is served (dual-control.ts). */
  gate?: RevealGate | undefined;
  /** SSE keep-alive and session re-check period (default 25 s). */
  keepAliveMs?: number;
}

/** How many alerts the queue considers at most (a term of a busy secondary school is well under this). */
export const MAX_ALERTS_SCANNED = 100_000;

const AlertParams = IdParams('alert');

export function screenshotUrl(alertId: string, blobId: string): string {
  return `/api/v1/alerts/${encodeURIComponent(alertId)}/screenshots/${encodeURIComponent(blobId)}`;
}

/** A queue row: what triage needs, with the device's name and user, without the history. */
export function alertSummary(a: Alert, hostname: string, user: string | null) {
  return {
    id: a.id,
    status: a.status,
    category: a.category,
    term: a.term,
    severity: a.severity,
    grade: a.grade ?? null,
    effectiveSeverity: effectiveSeverity(a),
    deviceId: a.deviceId,
    // Tenancy: the school the alert was opened in (absent on alerts made before tenancy: the default school).
    ...(a.schoolId !== undefined ? { schoolId: a.schoolId } : {}),
    hostname,
    user,
    windowTitle: a.windowTitle,
    windowApp: a.windowApp,
    windowUrl: a.windowUrl,
    context: a.context,
    source: a.source,
    educationalContext: a.educationalContext,
    repeatCount: a.repeatCount,
    screenshotCount: a.screenshotBlobIds.length,
    screenshotsExpired: a.screenshotsExpired !== undefined,
    incidentId: a.incidentId ?? null,
    noteCount: a.notes.length,
    occurredAt: a.occurredAt,
    createdAt: a.createdAt,
  };
}

type AlertDecision<B> = (
  store: Store,
  id: string,
  body: B,
  p: Principal | undefined,
  ip: string,
) => Promise<Alert>;

export function alertRoutes(deps: AlertRouteDeps): Route[] {
  const { store, incidents } = deps;

  async function detail(a: Alert) {
    const device = await store.devices.get(a.deviceId);
    const timeline = await timelineExcerpt(store, a);
    const fallbackUser = await currentUserOf(store, device, a.deviceId);
    const screenshots = (await screenshotInfo(store, a)).map((s) => ({
      ...s,
      url: s.available ? screenshotUrl(a.id, s.blobId) : null,
    }));
    return {
      alert: a,
      device: deviceSummary(device, a.deviceId),
      user: userAtEvent(timeline, a, fallbackUser),
      screenshots,
      timeline,
    };
  }

  /** POST /api/v1/alerts/:id/<action>: one DSL decision on one alert, answered with the updated alert. */
  function decisionRoute<B extends TSchema>(
    action: string,
    body: B,
    summary: string,
    decide: AlertDecision<StaticDecode<B>>,
  ): Route {
    return route({
      method: 'POST',
      path: `/api/v1/alerts/:id/${action}`,
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { params: AlertParams, body, summary },
      handler: async (ctx) => ({
        // Another school's alert is "not found" to a school-scoped DSL (checked before any change).
        alert: await decide(
          store,
          (await alertInScope(store, ctx.principal, ctx.input.params.id)).id,
          ctx.input.body as StaticDecode<B>,
          ctx.principal,
          ctx.ip,
        ),
      }),
    });
  }

  return [
    route({
      method: 'GET',
      path: '/api/v1/alerts',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { query: AlertQuery, summary: 'The queue: effective severity first, then newest' },
      handler: async (ctx) => {
        const { school, ...query } = ctx.input.query;
        const filter = alertFilter(query);
        const wanted = wantedSchools(ctx.principal, school);
        const all = (
          await store.alerts.list({
            ...(filter.status ? { status: filter.status } : {}),
            ...(filter.category ? { category: filter.category } : {}),
            ...(filter.deviceId ? { deviceId: filter.deviceId } : {}),
            limit: MAX_ALERTS_SCANNED,
          })
        ).filter((a) => wanted(schoolOfRecord(a)));
        const page = applyAlertFilter(all, filter);
        // The queue shows terms and contexts: a read of safeguarding content like any other.
        await audit(store.audit, ctx.principal, AUDIT.alertQueueViewed, 'alerts:queue', ctx.ip, {
          shown: page.items.length,
        });
        const devices = new Map((await store.devices.list()).map((d) => [d.id, d]));
        const statuses = new Map((await store.status.list()).map((s) => [s.deviceId, s]));
        return {
          alerts: page.items.map((a) => {
            const d = devices.get(a.deviceId);
            const user = statuses.get(a.deviceId)?.loggedInUser || d?.byod?.userName || null;
            return alertSummary(a, d?.hostname ?? '', user);
          }),
          total: page.total,
          nextOffset: page.nextOffset ?? null,
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/alerts/live',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: { summary: 'Server-Sent Events: each newly opened alert (text/event-stream)' },
      handler: (ctx) => streamAlerts(ctx, deps),
    }),
    route({
      method: 'GET',
      path: '/api/v1/alerts/:id',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { params: AlertParams, summary: 'One alert with its device, user, screenshots and timeline' },
      handler: async (ctx) => {
        const a = await alertInScope(store, ctx.principal, ctx.input.params.id);
        const view = await detail(a);
        // Audited once the answer is built and before it is sent: a failed audit write sends nothing.
        await audit(store.audit, ctx.principal, AUDIT.alertViewed, `alert:${a.id}`, ctx.ip, {
          deviceId: a.deviceId,
        });
        return view;
      },
    }),
    decisionRoute('grade', GradeBody, 'Grade an alert', gradeAlert),
    decisionRoute('false-positive', FalsePositiveBody, 'Mark an alert a false positive', markFalsePositive),
    decisionRoute('notes', NoteBody, 'Add a note', addNote),
    decisionRoute(
      'acknowledge',
      AcknowledgeBody,
      'Acknowledge: stops the notification rota',
      acknowledgeAlert,
    ),
    route({
      method: 'POST',
      path: '/api/v1/alerts/:id/viewed',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: {
        params: AlertParams,
        body: ViewedBody,
        summary:
          'Open an alert (the console does this): answers like GET /alerts/:id, records the opening in its history, one view.alert audit record',
      },
      handler: async (ctx) => {
        await alertInScope(store, ctx.principal, ctx.input.params.id);
        return detail(await recordViewed(store, ctx.input.params.id, ctx.input.body, ctx.principal, ctx.ip));
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/alerts/:id/escalate',
      access: SAFEGUARDING,
      tenancy: 'school',
      schema: { params: AlertParams, body: EscalateBody, summary: 'Escalate to a new or existing incident' },
      handler: async (ctx) => {
        await alertInScope(store, ctx.principal, ctx.input.params.id);
        return escalateAlert(store, incidents, ctx.input.params.id, ctx.input.body, ctx.principal, ctx.ip);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/alerts/:id/screenshots/:blobId',
      access: SAFEGUARDING,
      tenancy: 'school',
      raw: true,
      schema: {
        params: Type.Object({ id: Id("the alert's id"), blobId: Id("the screenshot's id") }),
        summary: 'A screenshot of an alert (image, audited)',
      },
      handler: async (ctx) => {
        await alertInScope(store, ctx.principal, ctx.input.params.id);
        return serveScreenshot(store, ctx, deps.gate);
      },
    }),
  ];
}

/**
 * Server-sent events: `event: alert` with a queue row for each newly opened alert. Content is
 * the DSL's, so this feed is separate from the IT live feed (which must not carry it).
 */
async function streamAlerts(ctx: RequestContext, deps: AlertRouteDeps): Promise<void> {
  // One record per feed opened, before its first byte: the alerts it then carries are not audited again.
  await audit(deps.store.audit, ctx.principal, AUDIT.alertFeedOpened, 'alerts:feed', ctx.ip);
  const hub = deps.live;
  if (!hub) {
    ctx.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
    });
    ctx.res.end('event: unavailable\ndata: {}\n\n');
    return;
  }
  // Same writer as /api/v1/live: slow-client buffer cap, per-account stream cap (live/sse.ts).
  const feed = openSse(ctx, {
    limiter: hub.streams,
    keepAliveMs: deps.keepAliveMs ?? 25_000,
    hello: 'custodian alert feed',
  });
  const principal = ctx.principal;
  // Ends the feed when the session behind it no longer holds (logout, timeout, disabled, re-roled).
  const stillValid = async () => {
    if (principal && (await principalStillValid(deps.store, principal))) return true;
    feed.end('end', { reason: 'session ended' });
    return false;
  };
  const onAlert = (a: Alert) => {
    // Tenancy: only alerts of the caller's schools (school recorded on the alert at creation).
    if (!recordInScope(principal, a)) return;
    void (async () => {
      if (!(await stillValid())) return;
      const device = await deps.store.devices.get(a.deviceId);
      const user = await currentUserOf(deps.store, device, a.deviceId);
      feed.send('alert', alertSummary(a, device?.hostname ?? '', user ?? null));
    })().catch(() => feed.destroy());
  };
  hub.on('alert', onAlert);
  const recheck = setInterval(() => {
    void stillValid().catch(() => feed.destroy());
  }, deps.keepAliveMs ?? 25_000);
  feed.onClose(() => {
    clearInterval(recheck);
    hub.off('alert', onAlert);
  });
  return feed.done;
}
