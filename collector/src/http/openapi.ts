// The OpenAPI 3.1 document of the collector's API, built from the routes themselves: every route
// of the router is listed, with its access rule (`x-custodian-access`) and the schemas it declares
// (schema.ts). Served at GET /api/v1/openapi.json; test/http/openapi.test.ts checks it with an
// independent validator and against the router.
import type { TSchema } from '@sinclair/typebox';
import { type Route, route } from './router.ts';
import { ErrorBody } from './schema.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';
/** The API's version (the path says v1; this says which revision of v1). */
export const API_VERSION = '1.0.0';

/** A schema as plain JSON Schema: TypeBox's symbol keys dropped, and `$id` (components are named here). */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value))) as Record<
    string,
    unknown
  >;
}

const errorRef = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorRef } },
});

function operation(r: Route): Record<string, unknown> {
  const s = r.schema;
  const parameters: Record<string, unknown>[] = [];
  const pathNames = [...r.path.matchAll(/:([a-zA-Z]+)/g)].map((m) => m[1] as string);
  const declared = s?.params?.properties ?? {};
  for (const name of pathNames) {
    const p = declared[name];
    parameters.push({
      name,
      in: 'path',
      required: true,
      schema: p ? plain(p) : { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
    });
  }
  const required = new Set(s?.query?.required ?? []);
  for (const [name, p] of Object.entries(s?.query?.properties ?? {})) {
    const schema = plain(p);
    parameters.push({
      name,
      in: 'query',
      required: required.has(name),
      ...(typeof schema['description'] === 'string' ? { description: schema['description'] } : {}),
      schema,
      // Lists are one comma-separated value: ?kinds=usb,activeWindow
      ...(schema['type'] === 'array' ? { style: 'form', explode: false } : {}),
    });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(s?.response ?? {})) {
    if (schema)
      responses[status] = { description: 'OK', content: { 'application/json': { schema: plain(schema) } } };
  }
  if (Object.keys(responses).length === 0) {
    const type = r.raw
      ? r.path.endsWith('/live')
        ? 'text/event-stream'
        : 'application/octet-stream'
      : r.path.startsWith('/api/')
        ? 'application/json'
        : 'text/html';
    responses['200'] = { description: 'OK', content: { [type]: {} } };
  }
  if (s?.params || s?.query || s?.body) responses['400'] = errorResponse('invalid input: `field` says which');
  if (r.access !== 'public') {
    responses['401'] = errorResponse('not signed in');
    responses['403'] = errorResponse('this role may not do this, or the CSRF token is missing');
  }
  responses['default'] = errorResponse('an error with a stable code');
  const segment = r.path.replace(/^\/api\/v1\//, '').split('/')[0] || 'console';
  return {
    operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: s?.summary ?? `${r.method} ${r.path}`,
    tags: [r.path.startsWith('/api/') ? segment : 'console'],
    'x-custodian-access': r.access === 'public' ? 'public' : [...r.access],
    security:
      r.access === 'public' ? [] : r.tokenOnly ? [{ adminToken: [] }] : [{ adminToken: [] }, { session: [] }],
    ...(parameters.length ? { parameters } : {}),
    ...(s?.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: plain(s.body) } } } }
      : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([a-zA-Z]+)/g, '{$1}');
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Custodian collector API',
      version,
      description:
        'Errors are {"error":{"code":"CUST_ERR_…","message":"…","field"?:"…"}}. ' +
        'x-custodian-access on each operation lists the roles that may call it. ' +
        'State-changing requests from a cookie session need the x-csrf-token header.',
    },
    paths,
    components: {
      schemas: { Error: plain(ErrorBody) },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'the admin API token (role admin)' },
        session: { type: 'apiKey', in: 'cookie', name: 'custodian_session', description: 'a staff sign-in' },
      },
    },
  };
}

/** GET /api/v1/openapi.json: public (the contract holds no data); built once, on first request. */
export function openApiRoutes(routes: () => readonly Route[], version = API_VERSION): Route[] {
  let doc: Record<string, unknown> | undefined;
  return [
    route({
      method: 'GET',
      path: OPENAPI_PATH,
      access: 'public',
      schema: { summary: 'This document' },
      handler: () => {
        doc ??= openApiDocument(routes(), version);
        return doc;
      },
    }),
  ];
}
