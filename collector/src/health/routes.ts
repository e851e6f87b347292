// Device health and lifecycle routes (admin and IT): the health queue (list, acknowledge,
// resolve), the school's health settings record, a check on demand, stale devices (JSON for the
// console, CSV report) and bulk revoke/retire for leavers (reason required, audited per device).
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import { badInput, type Route, route } from '../http/router.ts';
import { viewOptions } from '../http/routes-devices.ts';
import { Body, Id, IdParams, Literals, QueryList, Reason, Text } from '../http/schema.ts';
import { deviceView } from '../http/views.ts';
import { HEALTH_STATES } from './decide.ts';
import type { HealthMonitor } from './monitor.ts';
import type { HealthQueue } from './queue.ts';
import { isTimeZone, minutesOf } from './school-hours.ts';
import { HealthSettingsBody, readHealthSettings, writeHealthSettings } from './settings.ts';
import { csvCell, staleDevices } from './stale.ts';

const IT = ['admin', 'it'] as const;
export const BULK_ACTIONS = ['revoke', 'retire'] as const;
const MAX_BULK = 200;

const NoteBody = Body({ note: Type.Optional(Text(1, 500, 'a note for the queue and the audit log')) });
const AlertsQuery = Type.Object({
  state: Type.Optional(QueryList(HEALTH_STATES, 'only alerts in these states (default open,acknowledged)')),
  deviceId: Type.Optional(Id('only this device')),
});
const BulkBody = Body({
  action: Literals(BULK_ACTIONS, 'what to do to every listed device'),
  deviceIds: Type.Array(Id('a device id'), {
    minItems: 1,
    maxItems: MAX_BULK,
    uniqueItems: true,
    description: `the devices, 1 to ${MAX_BULK}`,
  }),
  reason: Reason(),
});

export function healthRoutes(
  app: App,
  queue: HealthQueue,
  monitor: HealthMonitor,
  now: () => number,
): Route[] {
  const stale = async () => {
    const settings = await readHealthSettings(app.store);
    return {
      settings,
      list: staleDevices(
        await app.store.devices.list(),
        (id) => app.status.get(id),
        now(),
        settings.staleDays,
      ),
    };
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/device-health/alerts',
      access: IT,
      schema: { query: AlertsQuery, summary: 'The device health queue, newest first' },
      handler: async (ctx) => {
        const alerts = await queue.list({
          states: ctx.input.query.state ?? ['open', 'acknowledged'],
          ...(ctx.input.query.deviceId ? { deviceId: ctx.input.query.deviceId } : {}),
        });
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
      schema: { params: IdParams('health alert'), body: NoteBody, summary: 'Acknowledge a health alert' },
      handler: async (ctx) => ({
        alert: await queue.acknowledge(
          ctx.input.params.id,
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
      schema: { params: IdParams('health alert'), body: NoteBody, summary: 'Resolve a health alert' },
      handler: async (ctx) => ({
        alert: await queue.resolve(ctx.input.params.id, actorOf(ctx.principal), ctx.input.body.note, ctx.ip),
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
        if (!isTimeZone(hours.timeZone))
          throw badInput(`schoolHours.timeZone "${hours.timeZone}" is not a time zone this server knows`, {
            field: 'body.schoolHours.timeZone',
          });
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
    route({
      method: 'GET',
      path: '/api/v1/lifecycle/stale',
      access: IT,
      schema: { summary: 'Devices not seen for the stale-days setting (default 14)' },
      handler: async (ctx) => {
        const { settings, list } = await stale();
        return {
          staleDays: settings.staleDays,
          devices: list.map((s) => ({
            device: deviceView(
              s.device,
              app.status.get(s.device.id),
              viewOptions(app, ctx.principal, s.device.id),
            ),
            lastSeenAt: s.lastSeenAt ?? null,
            daysUnseen: s.daysUnseen,
          })),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/lifecycle/stale/report',
      access: IT,
      raw: true,
      schema: { summary: 'Stale devices as a CSV report (device text cut as on the device list)' },
      handler: async (ctx) => {
        const { settings, list } = await stale();
        const rows = [['deviceId', 'kind', 'hostname', 'serial', 'enrolledAt', 'lastSeenAt', 'daysUnseen']];
        for (const s of list) {
          const v = deviceView(
            s.device,
            app.status.get(s.device.id),
            viewOptions(app, ctx.principal, s.device.id),
          );
          rows.push([
            s.device.id,
            s.device.kind,
            String(v['hostname'] ?? ''),
            String(v['serial'] ?? ''),
            new Date(s.device.enrolledAt).toISOString(),
            s.lastSeenAt ? new Date(s.lastSeenAt).toISOString() : '',
            String(s.daysUnseen),
          ]);
        }
        const text = `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
        await app.audit(
          ctx.principal,
          'lifecycle.stale-report',
          'devices:stale',
          {
            staleDays: settings.staleDays,
            devices: list.length,
          },
          ctx.ip,
        );
        ctx.res.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': 'attachment; filename="stale-devices.csv"',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          'content-length': Buffer.byteLength(text),
        });
        ctx.res.end(text);
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/lifecycle/bulk',
      access: IT,
      schema: {
        body: BulkBody,
        summary: 'Revoke or retire many devices (leavers); reason required, audited per device',
      },
      handler: async (ctx) => {
        const { action, deviceIds, reason } = ctx.input.body;
        const actor = actorOf(ctx.principal);
        const results: { deviceId: string; ok: boolean; error?: { code: string; message: string } }[] = [];
        for (const id of deviceIds) {
          try {
            if (!(await app.store.devices.get(id)))
              throw new CustodianError(ErrorCode.NOT_FOUND, `device ${id} not found`);
            if (action === 'retire') await app.enrol.retire(id, reason, actor);
            else await app.enrol.revoke(id, reason, actor);
            results.push({ deviceId: id, ok: true });
          } catch (err) {
            if (!(err instanceof CustodianError)) throw err;
            results.push({ deviceId: id, ok: false, error: { code: err.code, message: err.message } });
          }
        }
        await app.audit(
          ctx.principal,
          `device.bulk-${action}`,
          'devices:bulk',
          {
            reason,
            deviceIds,
            done: results.filter((r) => r.ok).length,
          },
          ctx.ip,
        );
        return { action, results };
      },
    }),
  ];
}
