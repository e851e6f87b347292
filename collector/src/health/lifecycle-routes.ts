// Device lifecycle routes (admin and IT): stale devices (JSON for the console, a CSV report) and
// bulk revoke/retire for leavers (reason required; each device audited by the same revoke/retire
// as the single-device routes, plus one record of the bulk action).
import { CustodianError } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import { toCsv } from '../csv.ts';
import { viewOptions } from '../devices/routes.ts';
import { deviceView } from '../devices/views.ts';
import type { Principal } from '../http/router.ts';
import { type Route, route } from '../http/router.ts';
import { Body, Id, Literals, Reason } from '../http/schema.ts';
import { schoolOfDevice } from '../tenancy/model.ts';
import { deviceInScope, inScope } from '../tenancy/scope.ts';
import { readHealthSettings } from './settings.ts';
import { staleDevices } from './stale.ts';

const IT = ['admin', 'it'] as const;
export const BULK_ACTIONS = ['revoke', 'retire'] as const;
const MAX_BULK = 200;

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

export function lifecycleRoutes(app: App, now: () => number): Route[] {
  // Tenancy: only the caller's schools' devices (tenancy/scope.ts).
  const stale = async (principal: Principal | undefined) => {
    const settings = await readHealthSettings(app.store);
    return {
      settings,
      list: staleDevices(
        (await app.store.devices.list()).filter((d) => inScope(principal, schoolOfDevice(d))),
        (id) => app.status.get(id),
        now(),
        settings.staleDays,
      ),
    };
  };
  return [
    route({
      method: 'GET',
      path: '/api/v1/lifecycle/stale',
      access: IT,
      tenancy: 'school',
      schema: { summary: 'Devices not seen for the stale-days setting (default 14)' },
      handler: async (ctx) => {
        const { settings, list } = await stale(ctx.principal);
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
      tenancy: 'school',
      raw: true,
      schema: { summary: 'Stale devices as a CSV report (device text cut as on the device list)' },
      handler: async (ctx) => {
        const { settings, list } = await stale(ctx.principal);
        const rows: string[][] = [];
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
        const text = toCsv(
          ['deviceId', 'kind', 'hostname', 'serial', 'enrolledAt', 'lastSeenAt', 'daysUnseen'],
          rows,
        );
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
      tenancy: 'school',
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
            // Another school's device is "not found" to a school-scoped caller.
            await deviceInScope(app.store, ctx.principal, id);
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
