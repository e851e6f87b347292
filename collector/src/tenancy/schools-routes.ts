// The schools registry over HTTP and moving a device to another school. Listing is for every
// staff role (each sees the schools in their scope); creating, renaming and moving devices are
// for trust-wide admins only (no `tenancy` on those routes: a school-scoped admin gets 403).
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import { actorDetails } from '../auth/audit.ts';
import { type Route, route } from '../http/router.ts';
import { Body, IdParams, Reason, Text } from '../http/schema.ts';
import { schoolOfDevice } from './model.ts';
import { SchoolId } from './schema.ts';
import { AUDIT_SCHOOLS } from './schools.ts';
import { inScope } from './scope.ts';

const SchoolName = Text(1, 120, "the school's name");
const SchoolParams = Type.Object({ id: SchoolId("the school's id") });

export function schoolsRoutes(app: App): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/schools',
      access: ['admin', 'it', 'dsl', 'governor'],
      tenancy: 'school',
      schema: { summary: "The trust's schools (a school-scoped account sees its own only)" },
      handler: async (ctx) => ({
        schools: (await app.schools.list()).filter((s) => inScope(ctx.principal, s.id)),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/schools',
      access: ['admin'],
      schema: {
        body: Body({ id: SchoolId('the new school id (cannot change later)'), name: SchoolName }),
        summary: 'Add a school to the trust (trust-wide admins)',
      },
      handler: async (ctx) => {
        const school = await app.schools.create(ctx.input.body, {
          actor: actorOf(ctx.principal),
          details: actorDetails(ctx.principal),
          ...(ctx.ip ? { ip: ctx.ip } : {}),
        });
        ctx.res.statusCode = 201;
        return { school };
      },
    }),
    route({
      method: 'PATCH',
      path: '/api/v1/schools/:id',
      access: ['admin'],
      schema: { params: SchoolParams, body: Body({ name: SchoolName }), summary: 'Rename a school' },
      handler: async (ctx) => ({
        school: await app.schools.rename(ctx.input.params.id, ctx.input.body.name, {
          actor: actorOf(ctx.principal),
          details: actorDetails(ctx.principal),
          ...(ctx.ip ? { ip: ctx.ip } : {}),
        }),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/devices/:id/school',
      access: ['admin'],
      schema: {
        params: IdParams('device'),
        body: Body({ schoolId: SchoolId('the school the device moves to'), reason: Reason() }),
        summary: 'Move a device to another school (trust-wide admins; audited)',
      },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        const { schoolId, reason } = ctx.input.body;
        await app.schools.requireAll([schoolId], 'body.schoolId');
        let from = '';
        // An unknown device: CUST_ERR_NOT_FOUND (404) from the store.
        const moved = await app.store.devices.update(id, (d) => {
          from = schoolOfDevice(d);
          return { ...d, schoolId };
        });
        await app.audit(
          ctx.principal,
          AUDIT_SCHOOLS.deviceMoved,
          `device:${id}`,
          { ...actorDetails(ctx.principal), from, to: schoolId, reason },
          ctx.ip,
        );
        // The live feeds, the school index and a connected session pick up the new school.
        app.live.emit('device', moved);
        return { device: { id: moved.id, schoolId: schoolOfDevice(moved) } };
      },
    }),
  ];
}
