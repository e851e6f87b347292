import { type App, actorOf } from '../app.ts';
import { type Route, route } from './router.ts';
import { Body } from './schema.ts';

export function retentionRoutes(app: App): Route[] {
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
