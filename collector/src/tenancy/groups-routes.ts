// Device groups over HTTP: list (device readers), create, rename, delete and move a device into or
// out of a group (admins). School-scoped staff see and manage only their schools' groups: another
// school's group or device answers 404, as if it did not exist.

import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import { HttpError, notFound, type Principal, type Route, route } from '../http/router.ts';
import { Body, IdParams, Reason, Text } from '../http/schema.ts';
import { type DeviceGroup, schoolOfDevice, scopeAllows, scopeOf, TENANT_ID_PATTERN } from './model.ts';

const TenantId = (what: string) =>
  Type.String({ pattern: TENANT_ID_PATTERN, description: `the ${what}'s id (a-z, 0-9, -; 1 to 40)` });
const GroupParams = Type.Object({ groupId: TenantId('group') });
const GroupAnswer = Type.Object({
  id: Type.String(),
  schoolId: Type.String(),
  name: Type.String(),
  createdAt: Type.Integer({ description: 'ms since the epoch' }),
});
const Name = Text(1, 80, 'the name staff see');

async function visibleGroup(app: App, principal: Principal | undefined, id: string): Promise<DeviceGroup> {
  const g = await app.groups.get(id);
  if (!g || !scopeAllows(scopeOf(principal), g.schoolId)) throw notFound(`group ${id}`);
  return g;
}

export function groupRoutes(app: App): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/groups',
      access: ['admin', 'it', 'dsl'],
      tenancy: 'school',
      schema: {
        query: Type.Object({ schoolId: Type.Optional(TenantId('school')) }),
        response: { 200: Type.Object({ groups: Type.Array(GroupAnswer) }) },
        summary: "Device groups (a school-scoped caller sees only their schools')",
      },
      handler: async (ctx) => {
        const scope = scopeOf(ctx.principal);
        const groups = (await app.groups.list(ctx.input.query.schoolId)).filter((g) =>
          scopeAllows(scope, g.schoolId),
        );
        return { groups };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/groups',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        body: Body({ id: Type.Optional(TenantId('new group')), schoolId: TenantId('school'), name: Name }),
        response: { 200: Type.Object({ group: GroupAnswer }) },
        summary: 'Create a device group in a school',
      },
      handler: async (ctx) => {
        const { id, schoolId, name } = ctx.input.body;
        if (!scopeAllows(scopeOf(ctx.principal), schoolId)) throw notFound(`school ${schoolId}`);
        const group = await app.groups.create(
          { ...(id ? { id } : {}), schoolId, name },
          actorOf(ctx.principal),
        );
        return { group };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/v1/groups/:groupId',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        params: GroupParams,
        body: Body({ name: Name }),
        response: { 200: Type.Object({ group: GroupAnswer }) },
        summary: 'Rename a device group',
      },
      handler: async (ctx) => {
        const { groupId } = ctx.input.params;
        await visibleGroup(app, ctx.principal, groupId);
        return { group: await app.groups.rename(groupId, ctx.input.body.name, actorOf(ctx.principal)) };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/groups/:groupId',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        params: GroupParams,
        body: Body({ reason: Reason() }),
        summary: 'Delete an empty device group (409 while it has devices or a policy layer)',
      },
      handler: async (ctx) => {
        const { groupId } = ctx.input.params;
        await visibleGroup(app, ctx.principal, groupId);
        // In the queue of policy changes: no device can be moved in between the check and the delete.
        await app.policy.exclusive(() =>
          app.groups.delete(groupId, ctx.input.body.reason, actorOf(ctx.principal)),
        );
        return { deleted: groupId };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/v1/devices/:id/group',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        params: IdParams('device'),
        body: Body({
          groupId: Type.Union([TenantId('group'), Type.Null()], {
            description: "a group of the device's school, or null to take it out of its group",
          }),
          reason: Reason(),
        }),
        summary: 'Move a device into a group of its school (or out): its policy changes and is pushed',
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        const { groupId, reason } = ctx.input.body;
        const scope = scopeOf(ctx.principal);
        const device = await app.store.devices.get(id);
        if (!device || !scopeAllows(scope, schoolOfDevice(device))) throw notFound(`device ${id}`);
        if (groupId !== null) {
          const g = await visibleGroup(app, ctx.principal, groupId);
          if (g.schoolId !== schoolOfDevice(device))
            throw new HttpError(
              409,
              ErrorCode.CONFLICT,
              `group ${groupId} belongs to another school than device ${id}`,
            );
        }
        const effective = await app.policy.moveDevice(id, groupId, reason, actorOf(ctx.principal));
        return { groupId, effective };
      },
    }),
  ];
}
