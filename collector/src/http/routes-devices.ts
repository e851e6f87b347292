// Devices, their timelines and streams, revocation and retirement.
import { EVENT_KINDS } from '@custodian/protocol';
import { type App, actorOf } from '../app.ts';
import { intParam, listParam, objectBody, timeParam } from './query.ts';
import { notFound, type Principal, type Route } from './router.ts';
import { deviceView, timelineItem, type ViewOptions } from './views.ts';

/** How `principal` may see device `deviceId`'s text (role, itBrowsingDetail, its library). */
export function viewOptions(app: App, principal: Principal | undefined, deviceId: string): ViewOptions {
  return { principal, browsing: app.config.itBrowsingDetail, screen: app.screens.cached(deviceId) };
}

const DEVICE_READERS = ['admin', 'it', 'dsl'] as const;

export function devicesRoutes(app: App): Route[] {
  const load = async (id: string) => {
    const d = await app.store.devices.get(id);
    if (!d) throw notFound(`device ${id}`);
    return d;
  };
  return [
    {
      method: 'GET',
      path: '/api/v1/devices',
      access: DEVICE_READERS,
      handler: async (ctx) => ({
        devices: (await app.store.devices.list()).map((d) =>
          deviceView(d, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)),
        ),
      }),
    },
    {
      method: 'GET',
      path: '/api/v1/devices/:id',
      access: DEVICE_READERS,
      handler: async (ctx) => {
        const d = await load(ctx.params['id'] as string);
        return { device: deviceView(d, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/devices/:id/timeline',
      access: DEVICE_READERS,
      handler: async (ctx) => {
        const d = await load(ctx.params['id'] as string);
        const from = timeParam(ctx.url, 'from');
        const to = timeParam(ctx.url, 'to');
        const kinds = listParam(ctx.url, 'kinds', [...EVENT_KINDS, 'unknown']);
        const cursor = ctx.url.searchParams.get('cursor') ?? undefined;
        // Records stored before ingest screened text are screened here with the device's library.
        const view = { ...viewOptions(app, ctx.principal, d.id), screen: await app.screens.forDevice(d.id) };
        const page = await app.store.timeline.query({
          deviceId: d.id,
          limit: intParam(ctx.url, 'limit', 1, 1000) ?? 100,
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(kinds ? { kinds } : {}),
          ...(cursor ? { cursor } : {}),
        });
        return {
          events: page.records.map((r) => timelineItem(r, view)),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/devices/:id/streams',
      access: ['admin', 'it'],
      handler: async (ctx) => {
        const d = await load(ctx.params['id'] as string);
        return { streams: await app.store.timeline.listStreams(d.id) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/devices/:id/revoke',
      access: ['admin', 'it'],
      handler: async (ctx) => {
        const d = await load(ctx.params['id'] as string);
        const body = objectBody(ctx.body);
        const revoked = await app.enrol.revoke(d.id, body['reason'] as string, actorOf(ctx.principal));
        return {
          device: deviceView(revoked, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)),
        };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/devices/:id/retire',
      access: ['admin', 'it'],
      handler: async (ctx) => {
        const d = await load(ctx.params['id'] as string);
        const body = objectBody(ctx.body);
        const retired = await app.enrol.retire(d.id, body['reason'] as string, actorOf(ctx.principal));
        return { device: deviceView(retired, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)) };
      },
    },
  ];
}
