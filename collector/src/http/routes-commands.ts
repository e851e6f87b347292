// Commands to a device's agent (lock now, rescan USB, refresh inventory), for IT. The device
// must be online: commands are not queued (see ingest/commands.ts for why). 202 means "sent";
// the agent's result arrives later in the device's live status (`status.commands`).

import { ErrorCode } from '@custodian/protocol';
import { type App, actorOf } from '../app.ts';
import { actorDetails } from '../auth/audit.ts';
import { COMMAND_KINDS, type CommandKind } from '../ingest/commands.ts';
import { objectBody } from './query.ts';
import { badInput, HttpError, notFound, type Route } from './router.ts';

const MAX_REASON_CHARS = 200;

export function commandRoutes(app: App): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/devices/:id/commands',
      access: ['admin', 'it'],
      handler: async (ctx) => {
        const id = ctx.params['id'] as string;
        const body = objectBody(ctx.body);
        const kind = body['kind'];
        if (typeof kind !== 'string' || !(COMMAND_KINDS as readonly string[]).includes(kind))
          throw badInput(`kind must be one of ${COMMAND_KINDS.join(', ')}`, { field: 'kind' });
        const reason = body['reason'] ?? '';
        if (
          typeof reason !== 'string' ||
          reason.length > MAX_REASON_CHARS ||
          /[\u0000-\u001f\u007f]/.test(reason)
        )
          throw badInput(`reason must be text of at most ${MAX_REASON_CHARS} characters`, {
            field: 'reason',
          });
        const device = await app.store.devices.get(id);
        if (!device) throw notFound(`device ${id}`);
        if (device.revokedAt !== undefined)
          throw new HttpError(409, ErrorCode.DEVICE_REVOKED, `device ${id} is revoked`);
        const command = await app.ingest.commands.send(
          id,
          kind as CommandKind,
          reason,
          actorOf(ctx.principal),
          {
            ...actorDetails(ctx.principal),
            ...(ctx.ip ? { ip: ctx.ip } : {}),
          },
        );
        ctx.res.statusCode = 202;
        return { command };
      },
    },
  ];
}
