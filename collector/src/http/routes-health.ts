import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import { type Route, route } from './router.ts';

const Health = Type.Object({
  ok: Type.Literal(true),
  agentsConnected: Type.Integer({ minimum: 0, description: 'agents with a live session now' }),
});

export function healthRoutes(app: App): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/health',
      access: 'public',
      schema: { response: { 200: Health }, summary: 'Is the collector up' },
      handler: () => ({ ok: true, agentsConnected: app.ingest.connectionCount }),
    }),
  ];
}
