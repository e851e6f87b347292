// Enrolment: the public enrol endpoint, and the admin's codes and secret (the agreement: agreement-routes.ts).
import { Type } from '@sinclair/typebox';
import { actorOf, notFound, type Principal, type Route, route } from '../http/router.ts';
import { Body, IdParams, Literals, QueryInt, Reason, Text } from '../http/schema.ts';
import type { StatusTracker } from '../live/status.ts';
import type { Store } from '../store/types.ts';
import type { DeviceSchools } from '../tenancy/device-schools.ts';
import { SchoolId } from '../tenancy/schema.ts';
import type { Schools } from '../tenancy/schools.ts';
import { inScope, isTrustWide, schoolForNew, schoolOfRecord } from '../tenancy/scope.ts';
import { EnrolBody } from './enrol-input.ts';
import type { EnrolResult, EnrolService } from './service.ts';

/** Who may see and decide queued replacement enrolments. */
const REPLACEMENT_DECIDERS = ['admin', 'it'] as const;

const S = (maxLength: number, description: string) => Type.Optional(Type.String({ maxLength, description }));
const ClaimBody = Type.Object(
  {
    requestId: S(128, 'the requestId of the pending answer'),
    deviceKey: S(256, 'the deviceKey of the pending answer'),
  },
  { additionalProperties: true },
);
const CodeCreated = Type.Object({
  code: Type.String({ description: 'the code: shown once, give it to the device owner' }),
  expiresAt: Type.Integer({ description: 'ms since the epoch' }),
  hint: Type.String({ description: 'its first characters, as the list shows it' }),
});
const CodeList = Type.Object({
  codes: Type.Array(
    Type.Object({
      hint: Type.String(),
      createdAt: Type.Integer(),
      createdBy: Type.String(),
      expiresAt: Type.Integer(),
      note: Type.String(),
      usedAt: Type.Optional(Type.Integer()),
      usedByDevice: Type.Optional(Type.String()),
      schoolId: Type.String({ description: 'the school a device enrolled with it joins' }),
      state: Literals(['open', 'used', 'expired'] as const, 'whether it can still be used'),
    }),
  ),
});
const ReplacementsQuery = Type.Object({
  state: Type.Optional(Literals(['pending', 'approved', 'denied'] as const, 'only requests in this state')),
});
const ReasonBody = Body({ reason: Reason('why (the requester sees the reason of a denial)') });
const CodeBody = Body({
  ttlHours: Type.Optional(QueryInt(1, 24 * 90, 'how long the code works, in hours (default 72)')),
  note: Type.Optional(Text(0, 200, 'a note for IT (who the code is for)')),
  schoolId: Type.Optional(SchoolId('the school the device joins (default: yours, or the default school)')),
});

/** A replacement is in scope when both the live device it replaces and the school it enrols into are. */
function replacementInScope(
  app: EnrolRouteDeps,
  principal: Principal | undefined,
  r: { schoolId?: string | undefined; replaces: string },
): boolean {
  const replaced = app.deviceSchools.schoolOf(r.replaces);
  return (
    inScope(principal, schoolOfRecord(r)) &&
    (replaced !== undefined ? inScope(principal, replaced) : isTrustWide(principal))
  );
}

/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface EnrolRouteDeps {
  readonly deviceSchools: DeviceSchools;
  readonly enrol: EnrolService;
  readonly schools: Schools;
  readonly status: StatusTracker;
  readonly store: Store;
}

export function enrolRoutes(app: EnrolRouteDeps): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/enrol',
      access: 'public',
      // Agents have no cookie session; the secret or code in the body is the credential.
      csrf: false,
      schema: { body: EnrolBody, summary: 'Enrol a device (agents call this)' },
      handler: async (ctx) => {
        const body = ctx.input.body;
        const answer = (r: EnrolResult) => {
          if (r.status === 'pending') ctx.res.statusCode = 202;
          return r;
        };
        return answer(
          'secret' in body
            ? await app.enrol.enrolSchool(body, ctx.ip)
            : await app.enrol.enrolByod(body, ctx.ip),
        );
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/enrol/claim',
      access: 'public',
      // The requester of a queued replacement; the key it was given is the credential.
      csrf: false,
      schema: { body: ClaimBody, summary: 'Ask how a queued replacement enrolment stands' },
      handler: async (ctx) => {
        const r = await app.enrol.replacements.claim(ctx.input.body);
        if (r.status === 'pending') ctx.res.statusCode = 202;
        return r;
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/enrol/replacements',
      access: REPLACEMENT_DECIDERS,
      tenancy: 'school',
      schema: { query: ReplacementsQuery, summary: 'Replacement enrolments waiting for or given a decision' },
      handler: async (ctx) => {
        const { state } = ctx.input.query;
        const list = (await app.store.enrol.listReplacements(state ? { state } : {})).filter((r) =>
          replacementInScope(app, ctx.principal, r),
        );
        return {
          replacements: list.map(({ keyHash: _k, attemptHash: _a, byod, ...r }) => ({
            ...r,
            // The code's hash stays in the store: the list needs who accepted, not which code.
            ...(byod ? { byod: { ...byod, codeHash: undefined } } : {}),
            replacesLastSeenAt: app.status.get(r.replaces).lastSeenAt ?? null,
            replacesConnected: app.status.get(r.replaces).connected,
          })),
        };
      },
    }),
    // Approve and deny take the same input and answer the same shape.
    ...(['approve', 'deny'] as const).map((decision) =>
      route({
        method: 'POST',
        path: `/api/v1/enrol/replacements/:id/${decision}`,
        access: REPLACEMENT_DECIDERS,
        tenancy: 'school',
        schema: {
          params: IdParams('replacement request'),
          body: ReasonBody,
          summary: `${decision === 'approve' ? 'Approve' : 'Deny'} a replacement enrolment`,
        },
        handler: async (ctx) => {
          const request = await app.store.enrol.getReplacement(ctx.input.params.id);
          if (!request || !replacementInScope(app, ctx.principal, request))
            throw notFound(`replacement request ${ctx.input.params.id}`);
          const {
            keyHash: _k,
            attemptHash: _a,
            ...r
          } = await app.enrol.replacements[decision](
            ctx.input.params.id,
            ctx.input.body.reason,
            actorOf(ctx.principal),
          );
          return { replacement: r };
        },
      }),
    ),
    route({
      method: 'POST',
      path: '/api/v1/enrol/codes',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        body: CodeBody,
        response: { 201: CodeCreated },
        summary: 'Create a one-time BYOD enrolment code (shown once)',
      },
      handler: async (ctx) => {
        const { ttlHours, note } = ctx.input.body;
        const schoolId = await schoolForNew(
          (id) => app.schools.exists(id),
          ctx.principal,
          ctx.input.body.schoolId,
        );
        const created = await app.enrol.createCode({
          ...(ttlHours !== undefined ? { ttlHours } : {}),
          ...(note !== undefined ? { note } : {}),
          actor: actorOf(ctx.principal),
          schoolId,
        });
        ctx.res.statusCode = 201;
        return created;
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/enrol/codes',
      access: ['admin'],
      tenancy: 'school',
      schema: { response: { 200: CodeList }, summary: 'Enrolment codes and their state (never the codes)' },
      handler: async (ctx) => ({
        codes: (await app.store.enrol.listCodes())
          .filter((c) => inScope(ctx.principal, schoolOfRecord(c)))
          .map(({ codeHash: _h, ...c }) => ({
            ...c,
            schoolId: schoolOfRecord(c),
            state: c.usedAt !== undefined ? 'used' : c.expiresAt <= Date.now() ? 'expired' : 'open',
          })),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/enrol/secret/rotate',
      access: ['admin'],
      tenancy: 'school',
      schema: {
        body: Body({
          schoolId: Type.Optional(
            SchoolId("the school whose secret to replace (default: yours, or the default school's)"),
          ),
        }),
        summary: "Replace a school's enrol secret (the new one is shown once)",
      },
      handler: async (ctx) => {
        const schoolId = await schoolForNew(
          (id) => app.schools.exists(id),
          ctx.principal,
          ctx.input.body.schoolId,
        );
        return { secret: await app.enrol.rotateSecret(actorOf(ctx.principal), schoolId), schoolId };
      },
    }),
  ];
}
