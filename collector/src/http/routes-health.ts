import { CustodianError, ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import type { App } from '../app.ts';
import { type Route, route } from './router.ts';

const Health = Type.Object({
  ok: Type.Literal(true),
  agentsConnected: Type.Integer({ minimum: 0, description: 'agents with a live session now' }),
  bus: Type.Object(
    {
      kind: Type.Union([Type.Literal('none'), Type.Literal('nats')]),
      connected: Type.Boolean({
        description:
          'false while NATS is unreachable: this collector keeps serving its own agents and consoles',
      }),
    },
    { description: 'what crosses collector processes (config bus)' },
  ),
});

export function healthRoutes(app: App): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/health',
      access: 'public',
      schema: {
        response: { 200: Health },
        summary: 'Is the collector up and its store writable (503 with CUST_ERR_STORAGE while not)',
      },
      handler: () => {
        const storage = app.store.engine.health?.() ?? { ok: true };
        if (!storage.ok)
          throw new CustodianError(
            ErrorCode.STORAGE,
            'the store refuses writes (disk full or I/O error); it reopens itself once writes can succeed',
          );
        // The bus being down does not fail the health check: the load balancer must keep sending
        // agents here, where ingest still works (docs/deployment.md, "A trust: several collectors").
        return { ok: true, agentsConnected: app.ingest.connectionCount, bus: app.bus.health() };
      },
    }),
  ];
}
