// Enrolment: the public enrol endpoint, and the admin's codes and secret (the agreement: routes-agreement.ts).
import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import { type App, actorOf } from '../app.ts';
import type { EnrolResult } from '../enrol/service.ts';
import { HttpError, type Route, route } from './router.ts';
import { Body, IdParams, Literals, QueryInt, Reason, Text } from './schema.ts';

/** Who may see and decide queued replacement enrolments. */
const REPLACEMENT_DECIDERS = ['admin', 'it'] as const;

const S = (maxLength: number, description: string) => Type.Optional(Type.String({ maxLength, description }));
// One body for both kinds of enrolment (the secret or a code decides which). The device facts
// are device text: enrol/device-text.ts checks their characters (well-formed, no controls).
const EnrolBody = Type.Object(
  {
    secret: S(256, 'the organisation enrol secret (school-owned devices)'),
    code: S(64, 'a one-time BYOD enrolment code from IT'),
    machineId: S(256, "the machine's id (/etc/machine-id)"),
    hostname: S(255, 'the host name'),
    os: S(64, 'the operating system'),
    serial: S(128, 'the serial number, if known'),
    userName: S(200, "BYOD: the device owner's name"),
    acceptAgreement: Type.Optional(
      Type.Boolean({ description: 'BYOD: true once the user accepted the agreement' }),
    ),
    agreementVersion: S(64, 'BYOD: the version accepted (GET /agreement)'),
    agreementSha256: S(64, 'BYOD: the sha256 of the agreement text accepted'),
    previousDeviceId: S(128, 'on re-enrolment: the device id this machine had'),
    previousDeviceKey: S(256, 'on re-enrolment: its key (proof; without it IT must approve)'),
    enrolAttempt: S(
      256,
      'a random id the agent keeps until it has saved the answer: the same attempt sent again (its answer lost to a crash) gets the same device or request, with a fresh key',
    ),
  },
  // Agents call these two routes: a newer agent may send a field this collector does not know
  // yet, and must still enrol (unknown fields are ignored here, refused on staff routes).
  { additionalProperties: true },
);
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
});

export function enrolRoutes(app: App): Route[] {
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
        if (typeof body['secret'] === 'string') return answer(await app.enrol.enrolSchool(body, ctx.ip));
        if (typeof body['code'] === 'string') return answer(await app.enrol.enrolByod(body, ctx.ip));
        throw new HttpError(
          400,
          ErrorCode.INVALID_INPUT,
          'send either the enrol secret or a BYOD enrolment code',
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
      schema: { query: ReplacementsQuery, summary: 'Replacement enrolments waiting for or given a decision' },
      handler: async (ctx) => {
        const { state } = ctx.input.query;
        const list = await app.store.enrol.listReplacements(state ? { state } : {});
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
        schema: {
          params: IdParams('replacement request'),
          body: ReasonBody,
          summary: `${decision === 'approve' ? 'Approve' : 'Deny'} a replacement enrolment`,
        },
        handler: async (ctx) => {
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
      schema: {
        body: CodeBody,
        response: { 201: CodeCreated },
        summary: 'Create a one-time BYOD enrolment code (shown once)',
      },
      handler: async (ctx) => {
        const { ttlHours, note } = ctx.input.body;
        const created = await app.enrol.createCode({
          ...(ttlHours !== undefined ? { ttlHours } : {}),
          ...(note !== undefined ? { note } : {}),
          actor: actorOf(ctx.principal),
        });
        ctx.res.statusCode = 201;
        return created;
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/enrol/codes',
      access: ['admin'],
      schema: { response: { 200: CodeList }, summary: 'Enrolment codes and their state (never the codes)' },
      handler: async () => ({
        codes: (await app.store.enrol.listCodes()).map(({ codeHash: _h, ...c }) => ({
          ...c,
          state: c.usedAt !== undefined ? 'used' : c.expiresAt <= Date.now() ? 'expired' : 'open',
        })),
      }),
    }),
    route({
      method: 'POST',
      path: '/api/v1/enrol/secret/rotate',
      access: ['admin'],
      schema: { body: Body({}), summary: 'Replace the enrol secret (the new one is shown once)' },
      handler: async (ctx) => ({ secret: await app.enrol.rotateSecret(actorOf(ctx.principal)) }),
    }),
  ];
}
