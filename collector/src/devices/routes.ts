// Devices, their timelines and streams, revocation and retirement.
import { EVENT_KINDS } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { AUDIT, audit } from '../auth/audit.ts';
import type { CollectorConfig } from '../config.ts';
import type { EnrolService } from '../enrol/service.ts';
import type { Principal, Route } from '../http/router.ts';
import { actorOf, route } from '../http/router.ts';
import { Body, IdParams, QueryInt, QueryList, QueryTime, Reason } from '../http/schema.ts';
import type { TextScreens } from '../ingest/text-screen.ts';
import type { StatusTracker } from '../live/status.ts';
import type { Device, Store } from '../store/types.ts';
import { schoolOfDevice } from '../tenancy/model.ts';
import { SchoolId } from '../tenancy/schema.ts';
import { deviceInScope, wantedSchools } from '../tenancy/scope.ts';
import { deviceView, seesSafeguardingContent, timelineItem, type ViewOptions } from './views.ts';

/** How `principal` may see device `deviceId`'s text (role, itBrowsingDetail, its library). */
/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface DeviceRouteDeps {
  readonly config: CollectorConfig;
  readonly enrol: EnrolService;
  readonly screens: TextScreens;
  readonly status: StatusTracker;
  readonly store: Store;
}

export function viewOptions(
  app: Pick<DeviceRouteDeps, 'config' | 'screens'>,
  principal: Principal | undefined,
  deviceId: string,
): ViewOptions {
  return { principal, browsing: app.config.itBrowsingDetail, screen: app.screens.cached(deviceId) };
}

const DEVICE_READERS = ['admin', 'it', 'dsl'] as const;

/** Event kinds that show what a person did (windows, sites, files, flags); 'unknown' may be anything. */
const ACTIVITY_KINDS: readonly string[] = ['activeWindow', 'flaggedActivity', 'fileWritten', 'unknown'];

const DeviceParams = IdParams('device');
const TimelineQuery = Type.Object({
  from: Type.Optional(QueryTime('the oldest event to include')),
  to: Type.Optional(QueryTime('the newest event to include')),
  kinds: Type.Optional(QueryList([...EVENT_KINDS, 'unknown'], 'only these event kinds')),
  limit: Type.Optional(QueryInt(1, 1000, 'how many events per page (default 100)')),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor from the previous page' })),
});
const ReasonBody = Body({ reason: Reason() });
const DeviceListQuery = Type.Object({
  school: Type.Optional(SchoolId('only devices of this school (within your schools)')),
});

/**
 * A BYOD device whose owner accepted an older agreement than the current one says so
 * (`agreementOutdated`): there is no renewal, so IT sees it here and the owner accepts the new
 * text at the device's next enrolment (the collector accepts only the current version).
 */
function withAgreementState(view: Record<string, unknown>, d: Device, currentSha256: string) {
  return d.byod ? { ...view, agreementOutdated: d.byod.agreementSha256 !== currentSha256 } : view;
}

export function devicesRoutes(app: DeviceRouteDeps): Route[] {
  // A device of another school is "not found" to a school-scoped caller (tenancy/scope.ts).
  const load = (id: string, principal: Principal | undefined) => deviceInScope(app.store, principal, id);
  return [
    route({
      method: 'GET',
      path: '/api/v1/devices',
      access: DEVICE_READERS,
      tenancy: 'school',
      schema: {
        query: DeviceListQuery,
        summary: "Every device (of the caller's schools) with its live status",
      },
      handler: async (ctx) => {
        const { sha256 } = await app.enrol.agreements.current();
        const wanted = wantedSchools(ctx.principal, ctx.input.query.school);
        return {
          devices: (await app.store.devices.list())
            .filter((d) => wanted(schoolOfDevice(d)))
            .map((d) =>
              withAgreementState(
                deviceView(d, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)),
                d,
                sha256,
              ),
            ),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/devices/:id',
      access: DEVICE_READERS,
      tenancy: 'school',
      schema: { params: DeviceParams, summary: 'One device with its live status' },
      handler: async (ctx) => {
        const d = await load(ctx.input.params.id, ctx.principal);
        const { sha256 } = await app.enrol.agreements.current();
        return {
          device: withAgreementState(
            deviceView(d, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)),
            d,
            sha256,
          ),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/devices/:id/timeline',
      access: DEVICE_READERS,
      tenancy: 'school',
      schema: { params: DeviceParams, query: TimelineQuery, summary: "A device's timeline, newest first" },
      handler: async (ctx) => {
        const d = await load(ctx.input.params.id, ctx.principal);
        const { from, to, kinds, cursor, limit } = ctx.input.query;
        // A look at a pupil's activity: audited before it is answered (governors see the counts).
        // A page asking only for kinds without activity (inventory, USB history) is not.
        if (!kinds || kinds.some((k) => ACTIVITY_KINDS.includes(k)))
          await audit(app.store.audit, ctx.principal, AUDIT.timelineViewed, `device:${d.id}`, ctx.ip, {
            safeguardingContent: seesSafeguardingContent(ctx.principal),
          });
        // Records stored before ingest screened text are screened here with the device's library.
        const view = { ...viewOptions(app, ctx.principal, d.id), screen: await app.screens.forDevice(d.id) };
        const page = await app.store.timeline.query({
          deviceId: d.id,
          limit: limit ?? 100,
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
    }),
    route({
      method: 'GET',
      path: '/api/v1/devices/:id/streams',
      access: ['admin', 'it'],
      tenancy: 'school',
      schema: { params: DeviceParams, summary: "A device's streams: max seq, count, gaps, duplicates" },
      handler: async (ctx) => {
        const d = await load(ctx.input.params.id, ctx.principal);
        return { streams: await app.store.timeline.listStreams(d.id) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/devices/:id/revoke',
      access: ['admin', 'it'],
      tenancy: 'school',
      schema: { params: DeviceParams, body: ReasonBody, summary: 'Revoke a device (its session closes)' },
      handler: async (ctx) => {
        const d = await load(ctx.input.params.id, ctx.principal);
        const revoked = await app.enrol.revoke(d.id, ctx.input.body.reason, actorOf(ctx.principal));
        return {
          device: deviceView(revoked, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)),
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/devices/:id/retire',
      access: ['admin', 'it'],
      tenancy: 'school',
      schema: { params: DeviceParams, body: ReasonBody, summary: 'Retire a device for good' },
      handler: async (ctx) => {
        const d = await load(ctx.input.params.id, ctx.principal);
        const retired = await app.enrol.retire(d.id, ctx.input.body.reason, actorOf(ctx.principal));
        return { device: deviceView(retired, app.status.get(d.id), viewOptions(app, ctx.principal, d.id)) };
      },
    }),
  ];
}
