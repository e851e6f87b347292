// Device health routes (admin and IT): the health queue (list, acknowledge, resolve), the
// school's health settings record, and a check on demand.

import { minutesOf } from '@custodian/policy';
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import { viewOptions } from '../devices/routes.ts';
import { deviceView } from '../devices/views.ts';
import { badInput, notFound, type Principal, type Route, route } from '../http/router.ts';
import { Body, Id, IdParams, QueryList, Text } from '../http/schema.ts';
import { deviceVisible } from '../tenancy/scope.ts';
import { HEALTH_STATES } from './decide.ts';
import type { HealthMonitor } from './monitor.ts';
import type { HealthQueue } from './queue.ts';
import { HealthSettingsBody, readHealthSettings, writeHealthSettings } from './settings.ts';

const IT = ['admin', 'it'] as const;

const NoteBody = Body({ note: Type.Optional(Text(1, 500, 'a note for the queue and the audit log')) });
const AlertsQuery = Type.Object({
  state: Type.Optional(QueryList(HEALTH_STATES, 'only alerts in these states (default open,acknowledged)')),
  deviceId: Type.Optional(Id('only this device')),
});

export function healthRoutes(
  app: App,
  queue: HealthQueue,
  monitor: HealthMonitor,
  now: () => number,
): Route[] {
  /** The id of a health alert about a device of the caller's schools; otherwise 404 as if unknown. */
  const inScopeId = async (id: string, principal: Principal | undefined) => {
    const a = await queue.get(id);
    if (!a || !deviceVisible(app.deviceSchools, principal, a.deviceId)) throw notFound(`health alert ${id}`);
    return id;
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/device-health/alerts',
      access: IT,
      tenancy: 'school',
      schema: { query: AlertsQuery, summary: 'The device health queue, newest first' },
      handler: async (ctx) => {
        const alerts = (
          await queue.list({
            states: ctx.input.query.state ?? ['open', 'acknowledged'],
            ...(ctx.input.query.deviceId ? { deviceId: ctx.input.query.deviceId } : {}),
          })
        ).filter((a) => deviceVisible(app.deviceSchools, ctx.principal, a.deviceId));
        // The device's hostname as this caller may see it (device text: cut as on the device list).
        const hostnames = new Map<string, unknown>();
        for (const id of new Set(alerts.map((a) => a.deviceId))) {
          const d = await app.store.devices.get(id);
          if (d) hostnames.set(id, deviceView(d, undefined, viewOptions(app, ctx.principal, id))['hostname']);
        }
        return { alerts: alerts.map((a) => ({ ...a, hostname: hostnames.get(a.deviceId) ?? '' })) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/device-health/alerts/:id/acknowledge',
      access: IT,
      tenancy: 'school',
      schema: { params: IdParams('health alert'), body: NoteBody, summary: 'Acknowledge a health alert' },
      handler: async (ctx) => ({
        alert: await queue.acknowledge(
          await inScopeId(ctx.input.params.id, ctx.principal),
          actorOf(ctx.principal),
          ctx.input.body.note,
          ctx.ip,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/device-health/alerts/:id/resolve',
      access: IT,
      tenancy: 'school',
      schema: { params: IdParams('health alert'), body: NoteBody, summary: 'Resolve a health alert' },
      handler: async (ctx) => ({
        alert: await queue.resolve(
          await inScopeId(ctx.input.params.id, ctx.principal),
          actorOf(ctx.principal),
          ctx.input.body.note,
          ctx.ip,
        ),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/device-health/check',
      access: IT,
      schema: { summary: 'Check every device now (the timer does this every health.checkIntervalMs)' },
      handler: async () => {
        const r = await monitor.check();
        return { opened: r.opened.length, resolved: r.resolved.length, digestSent: r.digestSent };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/device-health/settings',
      access: IT,
      // The trust's one record (tenancy/README.md, "Not built"): every school's IT reads it; changing it is trust-wide.
      tenancy: 'school',
      schema: { summary: "The school's device health settings" },
      handler: async () => ({ settings: await readHealthSettings(app.store) }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/device-health/settings',
      access: IT,
      schema: { body: HealthSettingsBody, summary: "Change the school's device health settings (audited)" },
      handler: async (ctx) => {
        const patch = ctx.input.body;
        const before = await readHealthSettings(app.store);
        const hours = { ...before.schoolHours, ...(patch.schoolHours ?? {}) };
        if (minutesOf(hours.end) <= minutesOf(hours.start))
          throw badInput('schoolHours.end must be after schoolHours.start', {
            field: 'body.schoolHours.end',
          });
        const settings = await writeHealthSettings(app.store, patch, actorOf(ctx.principal), now());
        await app.audit(
          ctx.principal,
          'health.settings',
          'health-settings:school',
          { old: before, new: settings },
          ctx.ip,
        );
        return { settings };
      },
    }),
  ];
}
