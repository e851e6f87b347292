// The DPIA draft for the DPO: the current version with its diff against the one before, the
// Markdown file to download and edit, the list of versions, and the school's own facts
// (controller, DPO, processors, hosting) that the configuration cannot know.
import { Type } from '@sinclair/typebox';
import { actorOf } from '../app.ts';
import { AUDIT, audit } from '../auth/audit.ts';
import { type Route, route } from '../http/router.ts';
import { Body, Text } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import type { DpiaService } from './service.ts';

/** The DPO's readers: the admin runs the system, the DSL answers for safeguarding. */
const DPIA_READERS = ['admin', 'dsl'] as const;

const SettingsBody = Body({
  controller: Text(0, 200, 'the school (data controller) as the document should name it'),
  dpoContact: Text(0, 300, 'how to reach the Data Protection Officer'),
  hosting: Text(0, 300, 'where the collector runs, e.g. "on-premises server, school comms room"'),
  processors: Type.Array(
    Type.Object(
      {
        name: Text(1, 200, "the processor's name"),
        purpose: Text(1, 300, 'what it does with the data'),
        location: Text(1, 200, 'where it processes the data (country)'),
      },
      { additionalProperties: false },
    ),
    { maxItems: 50, description: 'organisations processing the data for the school' },
  ),
});

const meta = (v: { seq: number; at: number; sha256: string; trigger: string; diff: string }) => ({
  seq: v.seq,
  at: v.at,
  sha256: v.sha256,
  trigger: v.trigger,
  diff: v.diff,
});

export function dpiaRoutes(deps: { store: Store; dpia: DpiaService }): Route[] {
  const { dpia } = deps;
  return [
    route({
      method: 'GET',
      path: '/api/v1/dpia',
      access: DPIA_READERS,
      schema: {
        summary:
          'The DPIA draft generated from the live configuration (stored as a new version when it changed), with the diff against the previous version',
      },
      handler: async () => {
        const { version, changed } = await dpia.regenerate('opened');
        return { version: meta(version), changed, markdown: version.text, settings: await dpia.settings() };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/dpia/document',
      access: DPIA_READERS,
      raw: true,
      schema: { summary: 'The current DPIA draft as a Markdown file to edit (audited)' },
      handler: async (ctx) => {
        const { version } = await dpia.regenerate('opened');
        await audit(deps.store.audit, ctx.principal, AUDIT.dpiaDownloaded, `dpia:v${version.seq}`, ctx.ip);
        ctx.res.writeHead(200, {
          'content-type': 'text/markdown; charset=utf-8',
          'content-disposition': `attachment; filename="custodian-dpia-v${version.seq}.md"`,
          'cache-control': 'no-store, private',
          'x-content-type-options': 'nosniff',
        });
        ctx.res.end(version.text);
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/dpia/versions',
      access: DPIA_READERS,
      schema: { summary: 'Every stored version of the DPIA draft, newest first, each with its diff' },
      handler: async () => ({ versions: (await dpia.versions()).map(meta) }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/dpia/settings',
      access: ['admin'],
      schema: {
        body: SettingsBody,
        summary: "The school's facts for the DPIA (controller, DPO, hosting, processors)",
      },
      handler: async (ctx) => {
        await dpia.setSettings(ctx.input.body, actorOf(ctx.principal));
        const { version, changed } = await dpia.regenerate('settings');
        return { version: meta(version), changed, settings: await dpia.settings() };
      },
    }),
  ];
}
