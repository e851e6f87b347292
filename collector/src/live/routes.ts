// The live feed for the console (Server-Sent Events): device status changes and new events for
// IT, DSL and admins, with flag content and flagged device text redacted for all but the DSL
// (views.ts). New alerts go
// to the DSL's own feed (/api/v1/alerts/live). Everything sent here is already durable (the hub
// fires after the commit).
import { AUDIT, audit } from '../auth/audit.ts';
import { principalStillValid } from '../auth/revalidate.ts';
import type { CollectorConfig } from '../config.ts';
import { viewOptions } from '../devices/routes.ts';
import { deviceView, liveEventView, seesSafeguardingContent, statusView } from '../devices/views.ts';
import { type Route, route } from '../http/router.ts';
import type { TextScreens } from '../ingest/text-screen.ts';
import type { Device, DeviceLiveStatus, Store } from '../store/types.ts';
import type { DeviceSchools } from '../tenancy/device-schools.ts';
import { schoolOfDevice } from '../tenancy/model.ts';
import { deviceVisible, inScope } from '../tenancy/scope.ts';
import type { LiveEvent, LiveHub } from './hub.ts';
import { openSse } from './sse.ts';
import type { StatusTracker } from './status.ts';

/** How often an open feed re-checks the session behind it. */
export const LIVE_RECHECK_MS = 5_000;

/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface LiveRouteDeps {
  readonly config: CollectorConfig;
  readonly screens: TextScreens;
  readonly deviceSchools: DeviceSchools;
  readonly live: LiveHub;
  readonly status: StatusTracker;
  readonly store: Store;
}

export function liveRoutes(app: LiveRouteDeps): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/live',
      access: ['admin', 'it', 'dsl'],
      tenancy: 'school',
      raw: true,
      schema: { summary: 'Server-Sent Events: snapshot, status, event, device (text/event-stream)' },
      handler: async (ctx) => {
        const { principal } = ctx;
        // The DSL's feed carries flag content (the matched words of new events): opening it is a
        // read of safeguarding content, audited once per feed before its first byte.
        if (seesSafeguardingContent(principal))
          await audit(app.store.audit, principal, AUDIT.liveFeedOpened, 'live:feed', ctx.ip);
        // Slow-client cap, per-account stream cap and keep-alive: live/sse.ts.
        const feed = openSse(ctx, { limiter: app.live.streams });
        // Every item is cut to what this caller may see (views.ts): device text the safeguarding
        // library matches is the DSL's only, browsing detail for IT as configured.
        const view = (deviceId: string) => viewOptions(app, principal, deviceId);
        // Tenancy: only the caller's schools' devices, checked per item (a device moved away stops showing).
        const mine = (deviceId: string) => deviceVisible(app.deviceSchools, principal, deviceId);
        feed.send('snapshot', {
          statuses: app.status
            .list()
            .filter((s) => mine(s.deviceId))
            .map((s) => statusView(s, view(s.deviceId))),
        });
        const onStatus = (s: DeviceLiveStatus) => {
          if (mine(s.deviceId)) feed.send('status', statusView(s, view(s.deviceId)));
        };
        const onEvent = (e: LiveEvent) => {
          if (mine(e.deviceId)) feed.send('event', liveEventView(e, view(e.deviceId)));
        };
        const onDevice = (d: Device) => {
          if (inScope(principal, schoolOfDevice(d)))
            feed.send('device', deviceView(d, app.status.get(d.id), view(d.id)));
        };
        app.live.on('status', onStatus);
        app.live.on('event', onEvent);
        app.live.on('device', onDevice);
        // New alerts are not sent here: the DSL's own feed (/api/v1/alerts/live) carries them.
        // The feed authenticated once, at connect: re-check the session so it stops when the
        // session ends, times out, or the account is disabled or re-roled.
        const recheck = setInterval(() => {
          if (!principal) return;
          principalStillValid(app.store, principal).then(
            (ok) => {
              if (!ok) feed.end('end', { reason: 'session ended' });
            },
            () => feed.destroy(),
          );
        }, LIVE_RECHECK_MS);
        feed.onClose(() => {
          clearInterval(recheck);
          app.live.off('status', onStatus);
          app.live.off('event', onEvent);
          app.live.off('device', onDevice);
        });
      },
    }),
  ];
}
