// The live feed for the console (Server-Sent Events): device status changes and new events for
// IT, DSL and admins; alerts only for those who may see safeguarding content. Everything sent
// here is already durable (the hub fires after the commit).
import type { App } from '../app.ts';
import type { LiveEvent } from '../live/hub.ts';
import type { Alert, Device, DeviceLiveStatus } from '../store/types.ts';
import type { Route } from './router.ts';
import { deviceView, liveEventView, seesSafeguardingContent } from './views.ts';

/** Buffered bytes past which a slow SSE client is dropped rather than buffered without bound. */
const MAX_SSE_BUFFER = 4 * 1024 * 1024;

export function liveRoutes(app: App): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/live',
      access: ['admin', 'it', 'dsl'],
      raw: true,
      handler: (ctx) => {
        const { res, req, principal } = ctx;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          connection: 'keep-alive',
        });
        const send = (type: string, data: unknown) => {
          if (res.writableLength > MAX_SSE_BUFFER) {
            res.destroy();
            return;
          }
          res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
        };
        send('snapshot', { statuses: app.status.list() });
        const onStatus = (s: DeviceLiveStatus) => send('status', s);
        const onEvent = (e: LiveEvent) => send('event', liveEventView(e, principal));
        const onAlert = (a: Alert) => send('alert', a);
        const onDevice = (d: Device) => send('device', deviceView(d, app.status.get(d.id)));
        app.live.on('status', onStatus);
        app.live.on('event', onEvent);
        app.live.on('device', onDevice);
        if (seesSafeguardingContent(principal)) app.live.on('alert', onAlert);
        const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 25_000);
        const cleanup = () => {
          clearInterval(keepAlive);
          app.live.off('status', onStatus);
          app.live.off('event', onEvent);
          app.live.off('device', onDevice);
          app.live.off('alert', onAlert);
        };
        req.on('close', cleanup);
        res.on('close', cleanup);
      },
    },
  ];
}
