// The BYOD acceptable use agreement (enrol/agreement.ts): the current text for agents and the
// public enrolment page, its versions, the admin's edit, and the acceptance log for export.
import { Type } from '@sinclair/typebox';
import { AUDIT, audit } from '../auth/audit.ts';
import { actorOf, type Route, route } from '../http/router.ts';
import { Body, Literals, Reason } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { AGREEMENT_MAX_CHARS, acceptancesCsv } from './agreement.ts';
import type { EnrolService } from './service.ts';

/** Who may read the versions and export the acceptances. */
const AGREEMENT_READERS = ['admin', 'dsl'] as const;

const Version = Type.Object({
  seq: Type.Integer(),
  version: Type.String({ description: 'e.g. 2026-2: what the agent sends back on acceptance' }),
  text: Type.String(),
  sha256: Type.String({ description: 'SHA-256 (hex) of the UTF-8 text' }),
  author: Type.String({ description: 'who published it (system: the built-in text)' }),
  createdAt: Type.Integer({ description: 'ms since the epoch' }),
});
const PublishBody = Body({
  text: Type.String({
    minLength: 1,
    maxLength: AGREEMENT_MAX_CHARS,
    // Line breaks and tabs are the only control characters an agreement needs; not only spaces
    // (a lazy look-ahead: linear however long the text).
    pattern: '^(?=[\\s\\S]*?\\S)[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$',
    description: `the whole agreement text, up to ${AGREEMENT_MAX_CHARS} characters (line breaks allowed, not blank)`,
  }),
  reason: Reason(),
});
const ExportQuery = Type.Object({
  format: Type.Optional(Literals(['json', 'csv'] as const, 'the file format (default json)')),
});

/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface AgreementRouteDeps {
  readonly enrol: EnrolService;
  readonly store: Store;
}

export function agreementRoutes(app: AgreementRouteDeps): Route[] {
  const agreements = app.enrol.agreements;
  return [
    route({
      method: 'GET',
      path: '/api/v1/agreement',
      access: 'public',
      schema: { summary: 'The current BYOD agreement {version, sha256, text}' },
      handler: async () => {
        const { version, sha256, text } = await agreements.current();
        return { version, sha256, text };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/v1/agreement',
      access: ['admin'],
      schema: {
        body: PublishBody,
        response: { 200: Type.Object({ agreement: Version }) },
        summary:
          'Publish new agreement text as the next version (BYOD users accept it at their next enrolment)',
      },
      handler: async (ctx) => ({
        agreement: await agreements.publish(
          ctx.input.body.text,
          actorOf(ctx.principal),
          ctx.input.body.reason,
        ),
      }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/agreement/versions',
      access: AGREEMENT_READERS,
      // The trust's one agreement text: no school's data (publishing it stays trust-wide).
      tenancy: 'school',
      schema: {
        response: { 200: Type.Object({ versions: Type.Array(Version) }) },
        summary: 'Every version of the agreement, oldest first (the last is current)',
      },
      handler: async () => ({ versions: await agreements.versions() }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/agreement/acceptances',
      access: AGREEMENT_READERS,
      raw: true,
      schema: {
        query: ExportQuery,
        summary: 'Every acceptance (name, date, version, text hash, device) as JSON or CSV (audited)',
      },
      handler: async (ctx) => {
        const csv = ctx.input.query.format === 'csv';
        const format = csv ? 'csv' : 'json';
        const rows = await agreements.acceptances();
        await audit(
          app.store.audit,
          ctx.principal,
          AUDIT.agreementAcceptancesExported,
          'agreement:acceptances',
          ctx.ip,
          {
            format,
            rows: rows.length,
          },
        );
        const body = csv ? acceptancesCsv(rows) : JSON.stringify({ acceptances: rows });
        ctx.res.writeHead(200, {
          'content-type': csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
          'content-disposition': `attachment; filename="agreement-acceptances.${format}"`,
          'cache-control': 'no-store, private',
          'x-content-type-options': 'nosniff',
        });
        ctx.res.end(body);
      },
    }),
  ];
}
