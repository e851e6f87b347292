// Issue 13 item 3: the OpenAPI 3.1 contract at /api/v1/openapi.json, fetched over HTTP from the
// real app (every module installed), checked by an independent validator (@readme/openapi-parser)
// and against the router: every route is in it, with its access rule, and nothing else is.
import { validate } from '@readme/openapi-parser';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODULES } from '../../src/modules.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
// biome-ignore lint/suspicious/noExplicitAny: the document is read field by field
let doc: any;

beforeAll(async () => {
  h = await startHarness({ modules: MODULES });
  const res = await fetch(`${h.url}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = await res.json();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for an independent validator', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc));
    const errors = result.valid ? [] : result.errors;
    expect(errors, JSON.stringify(errors, null, 1).slice(0, 2000)).toEqual([]);
    expect(result.valid).toBe(true);
    // The validator is not a rubber stamp: the same document with a broken operation fails.
    const broken = structuredClone(doc);
    broken.paths['/api/v1/health'].get.responses = 'none';
    expect((await validate(broken)).valid).toBe(false);
  });

  it('lists every route of the app with its access rule, and no route the app does not have', () => {
    const fromRouter = h.app.router.routes.map(
      (r) => `${r.method} ${r.path.replace(/:([a-zA-Z]+)/g, '{$1}')}`,
    );
    const fromDoc: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>))
      for (const method of Object.keys(ops)) fromDoc.push(`${method.toUpperCase()} ${path}`);
    expect(fromDoc.sort()).toEqual(fromRouter.sort());
    expect(fromRouter.length).toBeGreaterThan(60);
    for (const r of h.app.router.routes) {
      const op = doc.paths[r.path.replace(/:([a-zA-Z]+)/g, '{$1}')][r.method.toLowerCase()];
      expect(op['x-custodian-access'], `${r.method} ${r.path}`).toEqual(
        r.access === 'public' ? 'public' : [...r.access],
      );
    }
  });

  it('has a declared schema on every API route (no handler parses its own input)', () => {
    const undeclared = h.app.router.routes
      .filter((r) => r.path.startsWith('/api/') && r.schema === undefined)
      .map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
  });

  it('carries the declared schemas: query parameters, the request body, the error shape', () => {
    const timeline = doc.paths['/api/v1/devices/{id}/timeline'].get;
    const names = timeline.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`);
    expect(names).toEqual([
      'path:id',
      'query:from',
      'query:to',
      'query:kinds',
      'query:limit',
      'query:cursor',
    ]);
    const limit = timeline.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 });
    const command = doc.paths['/api/v1/devices/{id}/commands'].post;
    const body = command.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['kind']);
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.kind.anyOf.map((k: { const: string }) => k.const)).toEqual([
      'LOCK_NOW',
      'RESCAN_USB',
      'REFRESH_INVENTORY',
    ]);
    expect(command.responses['400'].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/Error',
    );
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);
  });

  it('describes the answers it declares as the server really sends them', async () => {
    // Data for every declared answer: a code, a policy change, audit records.
    expect((await h.api('POST', '/api/v1/enrol/codes', { note: 'for the test' })).status).toBe(201);
    const put = await h.api('PUT', '/api/v1/policy', {
      policy: { usb: { mode: 'audit' } },
      reason: 'openapi test',
    });
    expect(put.status).toBe(200);
    // Tenancy: a group with a layer, a device in it (the layers answer names each layer).
    const oa = await h.api('POST', '/api/v1/groups', { id: 'oa-group', schoolId: 'default', name: 'Year 7' });
    expect(oa.status).toBe(200);
    const dev = await h.enrol();
    const moved = await h.api('PUT', `/api/v1/devices/${dev.deviceId}/group`, {
      groupId: 'oa-group',
      reason: 'openapi test',
    });
    expect(moved.status).toBe(200);
    const layer = (kind: 'schools' | 'groups', id: string, seconds: number) => () =>
      h.api('PUT', `/api/v1/policy/${kind}/${id}`, {
        policy: { idleLock: { idleLockSeconds: seconds } },
        reason: 'openapi test',
      });
    const calls: Record<string, () => Promise<{ status: number; json: unknown }>> = {
      'PUT /api/v1/policy/schools/:schoolId': layer('schools', 'default', 600),
      'GET /api/v1/policy/schools/:schoolId': () => h.api('GET', '/api/v1/policy/schools/default'),
      'GET /api/v1/policy/schools/:schoolId/changes': () =>
        h.api('GET', '/api/v1/policy/schools/default/changes'),
      'PUT /api/v1/policy/groups/:groupId': layer('groups', 'oa-group', 300),
      'GET /api/v1/policy/groups/:groupId': () => h.api('GET', '/api/v1/policy/groups/oa-group'),
      'GET /api/v1/policy/groups/:groupId/changes': () =>
        h.api('GET', '/api/v1/policy/groups/oa-group/changes'),
      'GET /api/v1/devices/:id/policy/layers': () =>
        h.api('GET', `/api/v1/devices/${dev.deviceId}/policy/layers`),
      'GET /api/v1/groups': () => h.api('GET', '/api/v1/groups'),
      'POST /api/v1/groups': () => h.api('POST', '/api/v1/groups', { schoolId: 'default', name: 'Year 8' }),
      'PATCH /api/v1/groups/:groupId': () =>
        h.api('PATCH', '/api/v1/groups/oa-group', { name: 'Year 7 (2026)' }),
      'POST /api/v1/enrol/codes': () => h.api('POST', '/api/v1/enrol/codes', {}),
      'GET /api/v1/enrol/codes': () => h.api('GET', '/api/v1/enrol/codes'),
      'GET /api/v1/policy/changes': () => h.api('GET', '/api/v1/policy/changes'),
      'GET /api/v1/audit': () => h.api('GET', '/api/v1/audit'),
      'GET /api/v1/health': () => h.api('GET', '/api/v1/health', undefined, null),
      'PUT /api/v1/agreement': () =>
        h.api('PUT', '/api/v1/agreement', { text: 'Our agreement\n\n1. Be kind.', reason: 'openapi test' }),
      'GET /api/v1/agreement/versions': () => h.api('GET', '/api/v1/agreement/versions'),
    };
    const declared = h.app.router.routes.filter((r) => r.schema?.response);
    expect(declared.map((r) => `${r.method} ${r.path}`).sort()).toEqual(Object.keys(calls).sort());
    for (const r of declared) {
      const key = `${r.method} ${r.path}`;
      const res = await (calls[key] as () => Promise<{ status: number; json: unknown }>)();
      const schema = r.schema?.response?.[res.status] as TSchema | undefined;
      expect(schema, `${key} answered ${res.status}, which it does not declare`).toBeDefined();
      const check = TypeCompiler.Compile(schema as TSchema);
      const errors = [...check.Errors(res.json)].map((e) => `${e.path}: ${e.message}`);
      expect(errors, key).toEqual([]);
      expect(JSON.stringify(res.json), key).not.toBe('{}');
    }
  });
});
