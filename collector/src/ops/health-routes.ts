import { ErrorCode } from '@custodian/protocol';
import { Type } from '@sinclair/typebox';
import type { Bus } from '../bus/index.ts';
import { HttpError, type Route, route } from '../http/router.ts';
import type { IngestServer } from '../ingest/server.ts';
import type { Store } from '../store/types.ts';

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

/** What these routes use of the app (a narrow view: app.ts passes the App itself). */
export interface HealthRouteDeps {
  readonly bus: Bus;
  readonly ingest: IngestServer;
  readonly store: Store;
}

export function healthRoutes(app: HealthRouteDeps): Route[] {
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
          // An HttpError's message reaches the client (a bare storage error's is hidden): this
          // one names the cause in fixed words, never the path or the raw error.
          throw new HttpError(
            503,
            ErrorCode.STORAGE,
            `the store refuses writes (${storageReason(storage.error)}); it reopens itself once writes can succeed`,
          );
        // The bus being down does not fail the health check: the load balancer must keep sending
        // agents here, where ingest still works (docs/deployment.md, "A trust: several collectors").
        return { ok: true, agentsConnected: app.ingest.connectionCount, bus: app.bus.health() };
      },
    }),
  ];
}

/**
 * Which storage failure, in words an operator acts on (never the path or the raw message). A
 * read-only filesystem (ext4 remounts itself read-only after a disk error) does not come back by
 * itself: see the collector README, "When the data directory goes read-only".
 */
export function storageReason(error: string | undefined): string {
  if (error && /read-only file system|EROFS/i.test(error)) return 'read-only filesystem';
  if (error && /no space left|ENOSPC/i.test(error)) return 'disk full';
  return 'I/O error';
}
