import type { CollectorConfig } from '../config.ts';
import { actorOf, type Route, route } from '../http/router.ts';
import { Body } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import type { RetentionJob } from './job.ts';

/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface RetentionRouteDeps {
  readonly config: CollectorConfig;
  readonly retention: RetentionJob;
  readonly store: Store;
}

export function retentionRoutes(app: RetentionRouteDeps): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/retention/purge',
      access: ['admin'],
      schema: { body: Body({}), summary: 'Run a retention purge now' },
      handler: async (ctx) => ({ run: await app.retention.run(actorOf(ctx.principal)) }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/retention/runs',
      access: ['admin'],
      schema: { summary: 'What past purges deleted, and the retention settings' },
      handler: async () => ({
        runs: await app.store.purges.list(50),
        retention: app.config.retention,
      }),
    }),
  ];
}
