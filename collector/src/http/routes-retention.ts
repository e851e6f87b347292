import { type App, actorOf } from '../app.ts';
import type { Route } from './router.ts';

export function retentionRoutes(app: App): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/v1/retention/purge',
      access: ['admin'],
      handler: async (ctx) => ({ run: await app.retention.run(actorOf(ctx.principal)) }),
    },
    {
      method: 'GET',
      path: '/api/v1/retention/runs',
      access: ['admin'],
      handler: async () => ({
        runs: await app.store.purges.list(50),
        retention: app.config.retention,
      }),
    },
  ];
}
