import type { App } from '../app.ts';
import type { Route } from './router.ts';

export function healthRoutes(app: App): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/health',
      access: 'public',
      handler: () => ({ ok: true, agentsConnected: app.ingest.connectionCount }),
    },
  ];
}
