// Issue 13 item 4: the console's option lists come from the server. /console/js/options.js is
// generated from the collector's own constants; this fetches it over HTTP from the real app,
// runs it as a module, and checks it against those constants and against the shape the
// console's typecheck uses (static/js/options.d.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_OPTIONS } from '../../src/console/options.ts';
import { MODULES } from '../../src/modules.ts';
import { INCIDENT_STATUSES, OUTCOMES } from '../../src/safeguarding/incidents.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ modules: MODULES });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('console option lists', () => {
  it('are served as a module built from the server constants, under the console CSP', async () => {
    const res = await fetch(`${h.url}/console/js/options.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const text = await res.text();
    const mod = (await import(`data:text/javascript,${encodeURIComponent(text)}`)) as {
      OPTIONS: Record<string, unknown>;
    };
    expect(mod.OPTIONS).toEqual(JSON.parse(JSON.stringify(CONSOLE_OPTIONS)));
    expect(mod.OPTIONS['incidentStatuses']).toEqual([...INCIDENT_STATUSES]);
    expect(mod.OPTIONS['outcomes']).toEqual([...OUTCOMES]);
    expect(Object.isFrozen(mod.OPTIONS)).toBe(true);
    // The console names its own failures with codes of the one catalogue.
    expect(mod.OPTIONS['errorCodes']).toMatchObject({
      UNAVAILABLE: 'CUST_ERR_UNAVAILABLE',
      INTERNAL: 'CUST_ERR_INTERNAL',
    });
  });

  it('declares for the console typecheck exactly the lists the server sends', () => {
    const dts = readFileSync(join(import.meta.dirname, '../../src/console/static/js/options.d.ts'), 'utf8');
    const declared = [...dts.matchAll(/^\s+([a-zA-Z]+): (readonly string\[\]|Readonly<Record)/gm)].map(
      (m) => m[1],
    );
    expect(declared.sort()).toEqual(Object.keys(CONSOLE_OPTIONS).sort());
  });
});
