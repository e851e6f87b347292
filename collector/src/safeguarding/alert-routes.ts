// The DSL's alert API: the queue, one alert with its context, the decisions, the screenshot
// and a live feed of newly opened alerts (for the severity-5 banner). Safeguarding role only.

import { principalStillValid } from '../auth/revalidate.ts';
import { badInput, notFound, type Principal, type RequestContext, type Route } from '../http/router.ts';
import type { LiveHub } from '../live/hub.ts';
import type { Alert, Store } from '../store/types.ts';
import { addNote, escalateAlert, gradeAlert, markFalsePositive } from './alert-actions.ts';
import { applyAlertFilter, effectiveSeverity, parseAlertFilter } from './alert-query.ts';
import { currentUserOf, deviceSummary, screenshotInfo, timelineExcerpt, userAtEvent } from './context.ts';
import type { IncidentService } from './incidents.ts';
import { SAFEGUARDING } from './roles.ts';
import { serveScreenshot } from './screenshots.ts';

export interface AlertRouteDeps {
  store: Store;
  incidents: IncidentService;
  live?: LiveHub | undefined;
  /** SSE keep-alive and session re-check period (default 25 s). */
  keepAliveMs?: number;
}

/** How many alerts the queue considers at most (a term of a busy secondary school is well under this). */
export const MAX_ALERTS_SCANNED = 100_000;

function body(ctx: RequestContext): Record<string, unknown> {
  const b = ctx.body ?? {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw badInput('body must be a JSON object');
  return b as Record<string, unknown>;
}

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

type AlertDecision = (
  store: Store,
  id: string,
  body: Record<string, unknown>,
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
  function decisionRoute(action: string, decide: AlertDecision): Route {
    return {
      method: 'POST',
      path: `/api/v1/alerts/:id/${action}`,
      access: SAFEGUARDING,
      handler: async (ctx) => ({
        alert: await decide(store, ctx.params.id as string, body(ctx), ctx.principal, ctx.ip),
      }),
    };
  }

  return [
    {
      method: 'GET',
      path: '/api/v1/alerts',
      access: SAFEGUARDING,
      handler: async (ctx) => {
        const filter = parseAlertFilter(ctx.url.searchParams);
        const all = await store.alerts.list({
          ...(filter.status ? { status: filter.status } : {}),
          ...(filter.category ? { category: filter.category } : {}),
          ...(filter.deviceId ? { deviceId: filter.deviceId } : {}),
          limit: MAX_ALERTS_SCANNED,
        });
        const page = applyAlertFilter(all, filter);
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
    },
    {
      method: 'GET',
      path: '/api/v1/alerts/live',
      access: SAFEGUARDING,
      raw: true,
      handler: (ctx) => streamAlerts(ctx, deps),
    },
    {
      method: 'GET',
      path: '/api/v1/alerts/:id',
      access: SAFEGUARDING,
      handler: async (ctx) => {
        const a = await store.alerts.get(ctx.params.id as string);
        if (!a) throw notFound('alert');
        return detail(a);
      },
    },
    decisionRoute('grade', gradeAlert),
    decisionRoute('false-positive', markFalsePositive),
    decisionRoute('notes', addNote),
    {
      method: 'POST',
      path: '/api/v1/alerts/:id/escalate',
      access: SAFEGUARDING,
      handler: async (ctx) =>
        escalateAlert(store, incidents, ctx.params.id as string, body(ctx), ctx.principal, ctx.ip),
    },
    {
      method: 'GET',
      path: '/api/v1/alerts/:id/screenshots/:blobId',
      access: SAFEGUARDING,
      raw: true,
      handler: (ctx) => serveScreenshot(store, ctx),
    },
  ];
}

/**
 * Server-sent events: `event: alert` with a queue row for each newly opened alert. Content is
 * the DSL's, so this feed is separate from the IT live feed (which must not carry it).
 */
function streamAlerts(ctx: RequestContext, deps: AlertRouteDeps): Promise<void> {
  const { res, req } = ctx;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  res.write(': custodian alert feed\n\n');
  const hub = deps.live;
  if (!hub) {
    res.end('event: unavailable\ndata: {}\n\n');
    return Promise.resolve();
  }
  const principal = ctx.principal;
  // Ends the feed when the session behind it no longer holds (logout, timeout, disabled, re-roled).
  const stillValid = async () => {
    if (principal && (await principalStillValid(deps.store, principal))) return true;
    res.end('event: end\ndata: {"reason":"session ended"}\n\n');
    return false;
  };
  const onAlert = (a: Alert) => {
    void (async () => {
      if (!(await stillValid())) return;
      const device = await deps.store.devices.get(a.deviceId);
      const user = await currentUserOf(deps.store, device, a.deviceId);
      res.write(
        `event: alert\ndata: ${JSON.stringify(alertSummary(a, device?.hostname ?? '', user ?? null))}\n\n`,
      );
    })().catch(() => res.destroy());
  };
  hub.on('alert', onAlert);
  const keepAlive = setInterval(() => {
    void stillValid()
      .then((ok) => ok && res.write(': keep-alive\n\n'))
      .catch(() => res.destroy());
  }, deps.keepAliveMs ?? 25_000);
  return new Promise((resolve) => {
    const done = () => {
      clearInterval(keepAlive);
      hub.off('alert', onAlert);
      resolve();
    };
    req.on('close', done);
    res.on('close', done);
  });
}
