// Cost of request validation (issue 13): a POST with a JSON body to a route that declares its
// body schema (checked by the router before the handler) against the same POST to the same
// handler on a route without a schema (today's unvalidated path), both on one in-process
// collector, alternating in rounds so load hits both sides alike. Also the check alone, in
// process, against JSON.parse of the same body. What it leaves out: TLS, auth (both routes are
// public), the handler's own work (it returns at once), so the ratio is an upper bound.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../collector/src/app.ts';
import { defaultConfig } from '../../collector/src/config.ts';
import { route } from '../../collector/src/http/router.ts';
import {
  Body,
  compileSchema,
  Literals,
  Reason,
  Text,
  Type,
  validate,
} from '../../collector/src/http/schema.ts';
import { createLogger } from '../../collector/src/log.ts';
import type { BenchResult } from './types.ts';

const ROUNDS = 5;
const PER_ROUND = 400;
const WARM = 200;
const CHECKS = 100_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// A realistic body: an escalation-sized object with an enum, free text and a nested list.
const BenchBody = Body({
  kind: Literals(['LOCK_NOW', 'RESCAN_USB', 'REFRESH_INVENTORY'] as const, 'the command'),
  reason: Reason(),
  note: Type.Optional(Text(0, 2000, 'a note')),
  people: Type.Array(
    Type.Object({ name: Text(1, 200, 'name'), role: Literals(['pupil', 'staff'] as const, 'role') }),
    {
      maxItems: 50,
    },
  ),
});
const body = JSON.stringify({
  kind: 'LOCK_NOW',
  reason: 'pupil left the laptop unlocked in the library during lunch',
  note: 'x'.repeat(400),
  people: [
    { name: 'A. Pupil', role: 'pupil' },
    { name: 'B. Teacher', role: 'staff' },
  ],
});

function post(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: keepAlive,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
let keepAlive: import('node:http').Agent;

export async function run(): Promise<BenchResult> {
  const { Agent } = await import('node:http');
  keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'custodian-bench-validation-'));
  const config = {
    ...defaultConfig(join(dir, 'data')),
    port: 0,
    logLevel: 'silent' as const,
    screenshotKeyFile: join(dir, 'k'),
  };
  const app = await createApp({ config, log: createLogger('silent'), modules: [] });
  const handler = () => ({ ok: true });
  app.router.add(
    route({
      method: 'POST',
      path: '/bench/validated',
      access: 'public',
      csrf: false,
      schema: { body: BenchBody },
      handler,
    }),
  );
  app.router.add({ method: 'POST', path: '/bench/unvalidated', access: 'public', csrf: false, handler });
  const { port } = await app.start();
  const validated: number[] = [];
  const unvalidated: number[] = [];
  try {
    for (let i = 0; i < WARM; i++) {
      await post(port, '/bench/validated');
      await post(port, '/bench/unvalidated');
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < PER_ROUND; i++) validated.push(await post(port, '/bench/validated'));
      for (let i = 0; i < PER_ROUND; i++) unvalidated.push(await post(port, '/bench/unvalidated'));
    }
  } finally {
    keepAlive.destroy();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // The check alone, in process, against parsing the same body.
  const check = compileSchema({ body: BenchBody }).body as NonNullable<
    ReturnType<typeof compileSchema>['body']
  >;
  const parsed = JSON.parse(body);
  const time = (f: () => void) => {
    for (let i = 0; i < 10_000; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < CHECKS; i++) f();
    return ((performance.now() - t0) / CHECKS) * 1000;
  };
  const checkUs = time(() => validate(check, parsed, 'body'));
  const parseUs = time(() => JSON.parse(body));
  const p50v = median(validated);
  const p50u = median(unvalidated);
  return {
    title: 'Request validation (issue 13)',
    rows: [
      {
        metric: `POST with a JSON body (${Buffer.byteLength(body)} bytes), route with a declared schema, p50`,
        value: p50v,
        unit: 'ms',
        baseline: p50u,
        baselineLabel: 'same POST, same handler, route without a schema',
        ratio: p50v / p50u,
      },
      {
        metric: 'the schema check alone (in process)',
        value: checkUs,
        unit: 'µs',
        baseline: parseUs,
        baselineLabel: 'JSON.parse of the same body',
        ratio: checkUs / parseUs,
      },
    ],
    notes: [
      `HTTP rows: median of N = ${ROUNDS * PER_ROUND} sequential requests per side over one keep-alive connection, in ${ROUNDS} alternating rounds of ${PER_ROUND}, after ${WARM} warm-up requests per side; in-process collector (no TLS, public routes, a handler that returns at once).`,
      `Check rows: mean of ${CHECKS.toLocaleString('en-GB')} calls after 10,000 warm-up calls (TypeBox TypeCompiler).`,
      'Client and collector share the machine (2 cores).',
    ],
  };
}
