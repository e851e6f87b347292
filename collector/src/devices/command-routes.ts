// Commands to a device's agent (lock now, rescan USB, refresh inventory), for IT. The device
// must be online: commands are not queued (see ingest/commands.ts for why). 202 means "sent";
// the agent's result arrives later in the device's live status (`status.commands`).

import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { actorDetails } from '../auth/audit.ts';
import { actorOf, HttpError, type Route, route } from '../http/router.ts';
import { Body, IdParams, Literals, Text } from '../http/schema.ts';
import { COMMAND_KINDS } from '../ingest/commands.ts';
import type { IngestServer } from '../ingest/server.ts';
import type { Store } from '../store/types.ts';
import { deviceInScope } from '../tenancy/scope.ts';

const CommandBody = Body({
  kind: Literals(COMMAND_KINDS, 'what the device should do'),
  reason: Type.Optional(Text(0, 200, 'why (shown in the audit log)')),
});

/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface CommandRouteDeps {
  readonly ingest: IngestServer;
  readonly store: Store;
}

export function commandRoutes(app: CommandRouteDeps): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/devices/:id/commands',
      access: ['admin', 'it'],
      tenancy: 'school',
      schema: {
        params: IdParams('device'),
        body: CommandBody,
        summary: 'Send a command to an online device',
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        const { kind, reason = '' } = ctx.input.body;
        const device = await deviceInScope(app.store, ctx.principal, id);
        if (device.revokedAt !== undefined)
          throw new HttpError(409, ErrorCode.DEVICE_REVOKED, `device ${id} is revoked`);
        const command = await app.ingest.commands.send(id, kind, reason, actorOf(ctx.principal), {
          ...actorDetails(ctx.principal),
          ...(ctx.ip ? { ip: ctx.ip } : {}),
        });
        ctx.res.statusCode = 202;
        return { command };
      },
    }),
  ];
}
