// The DPIA draft (issue 19 item 8) over real HTTP on the full app: generated from the live
// configuration, its role matrix derived from the routes' access rules, a policy change
// producing a new stored version whose diff shows the change, the Markdown download (audited),
// and the school's own facts.

import { defaultPolicy } from '@custodian/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDpia, roleMatrix } from '../../src/dpia/generate.ts';
import { ROLES } from '../../src/http/router.ts';
import { MODULES } from '../../src/modules.ts';
import { type Client, createStaffClient } from '../auth/harness.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
let admin: Client;
let dsl: Client;
let it_: Client;

beforeAll(async () => {
  h = await startHarness({ modules: MODULES });
  admin = await createStaffClient(h.url, h.adminToken, 'dpia-admin', 'admin');
  dsl = await createStaffClient(h.url, h.adminToken, 'dpia-dsl', 'dsl');
  it_ = await createStaffClient(h.url, h.adminToken, 'dpia-it', 'it');
}, 60_000);
afterAll(async () => {
  await h?.close();
});

/** The matrix row of an API area as the document prints it. */
const row = (md: string, area: string) => md.split('\n').find((l) => l.startsWith(`| ${area} |`));

describe('DPIA draft', () => {
  it('describes the live configuration, with the role matrix taken from the routes', async () => {
    const res = await dsl.req('GET', '/api/v1/dpia');
    expect(res.status).toBe(200);
    const md: string = res.json.markdown;
    expect(md).toContain('typed text: yes');
    expect(md).toContain(`Data directory: \`${h.app.config.dataDir}\``);
    expect(md).toContain('| Screenshots | 30 days |');
    const agreement = await h.app.enrol.agreements.current();
    expect(md).toContain(agreement.sha256);
    expect(md).toContain(`| area | ${ROLES.join(' | ')} | public |`);
    // Alerts are the DSL's only; the audit log the admin's; reports: governors read.
    expect(row(md, 'alerts')).toBe('| alerts | — | — | read, change | — | — |');
    expect(row(md, 'audit')).toBe('| audit | read | — | — | — | — |');
    expect(row(md, 'reports')).toBe('| reports | read | — | read | read | — |');
    // Derived, not copied: each cell agrees with the access rules the server enforces.
    for (const r of h.app.router.routes.filter(
      (x) => x.path.startsWith('/api/v1/') && x.access !== 'public',
    )) {
      const area = (/^\/api\/v1\/([a-z0-9-]+)/.exec(r.path) as RegExpExecArray)[1] as string;
      const cells = (row(md, area) as string).split('|').map((c) => c.trim());
      for (const role of r.access as readonly string[])
        expect(
          cells[2 + ROLES.indexOf(role as (typeof ROLES)[number])],
          `${r.method} ${r.path} ${role}`,
        ).toContain(r.method === 'GET' ? 'read' : 'change');
    }
  });

  it('lists a policy section it does not describe in words yet (e.g. a scope setting added later)', () => {
    const facts = {
      settings: { controller: '', dpoContact: '', processors: [], hosting: '' },
      policy: { ...defaultPolicy(), futureScope: { networks: ['10.1.0.0/16'], hours: '08:00-16:00' } },
      overrides: [],
      devices: { school: 1, byod: 0 },
      agreement: { version: '2026-1', sha256: 'a'.repeat(64) },
      routes: [],
      roles: ROLES,
      retention: { timelineDays: 90 },
      storage: {
        dataDir: '/var/lib/custodian',
        screenshotKeyFile: '/etc/custodian/k',
        tls: true,
        secureCookies: 'auto',
        itBrowsingDetail: 'app-and-domain',
        sessionIdleMinutes: 30,
      },
    };
    const md = renderDpia(facts as unknown as Parameters<typeof renderDpia>[0]);
    expect(md).toContain(
      '- Policy setting `futureScope`: `{"networks":["10.1.0.0/16"],"hours":"08:00-16:00"}`.',
    );
    expect(md).not.toContain('Policy setting `capture`');
    expect(renderDpia(facts as unknown as Parameters<typeof renderDpia>[0])).toBe(md);
    expect(md).toContain('- Personal devices (BYOD): monitored whenever the agent runs');
    const scoped = renderDpia({
      ...facts,
      policy: {
        ...facts.policy,
        byodScope: {
          mode: 'on-premises-and-hours',
          networks: [
            {
              name: 'Main site Wi-Fi',
              gatewayIps: [],
              gatewayMacs: ['aa:bb:cc:dd:ee:ff'],
              dnsSuffixes: [],
              ssids: [],
            },
          ],
          hours: {
            timezone: 'Europe/London',
            periods: [{ days: ['mon', 'tue'], start: '08:00', end: '16:00' }],
          },
        },
      },
    } as unknown as Parameters<typeof renderDpia>[0]);
    expect(scoped).toContain(
      "- Personal devices (BYOD): monitored only while on the school's network (rules: Main site Wi-Fi) and only in school hours (mon/tue 08:00–16:00, Europe/London); outside that the agent collects nothing",
    );
    expect(scoped).not.toContain('Policy setting `byodScope`');
  });

  it('the matrix follows a new route without anyone editing the document', () => {
    const before = roleMatrix([], ROLES);
    expect(before).toEqual([]);
    const after = roleMatrix(
      [
        { method: 'GET', path: '/api/v1/widgets', access: ['it'] },
        { method: 'POST', path: '/api/v1/widgets/:id', access: ['admin', 'it'] },
        { method: 'GET', path: '/api/v1/widgets/public', access: 'public' },
      ],
      ROLES,
    );
    expect(after).toEqual([
      {
        area: 'widgets',
        public: true,
        cells: { admin: 'change', it: 'read, change', dsl: '—', governor: '—' },
      },
    ]);
  });

  it('a policy change makes a new version whose diff shows it', async () => {
    const first = (await admin.req('GET', '/api/v1/dpia')).json.version;
    const put = await h.api('PUT', '/api/v1/policy', {
      policy: { capture: { typedText: false } },
      reason: 'DPIA test: no typed text',
    });
    expect(put.status).toBe(200);
    // Regenerated after the policy change (post-commit listener): poll for the stored version.
    await expect
      .poll(async () => (await admin.req('GET', '/api/v1/dpia/versions')).json.versions[0].seq, {
        timeout: 15_000,
      })
      .toBeGreaterThan(first.seq);
    const versions = (await admin.req('GET', '/api/v1/dpia/versions')).json.versions;
    const latest = versions[0];
    expect(latest.trigger).toBe('policy');
    expect(latest.diff).toMatch(/^-\s+typed text: yes/m);
    expect(latest.diff).toMatch(/^\+\s+typed text: no/m);
    expect(latest.diff).toContain(`--- dpia-v${first.seq}.md`);
    const now = (await dsl.req('GET', '/api/v1/dpia')).json;
    expect(now.changed).toBe(false);
    expect(now.version.seq).toBe(latest.seq);
    expect(now.markdown).toContain('typed text: no');
  });

  it('downloads the Markdown (audited) and refuses IT', async () => {
    const res = await dsl.req('GET', '/api/v1/dpia/document');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(res.text).toBe((await dsl.req('GET', '/api/v1/dpia')).json.markdown);
    const audit = await h.api('GET', '/api/v1/audit?action=dpia.downloaded');
    expect(audit.json.records[0]).toMatchObject({ actor: 'dpia-dsl' });
    expect((await it_.req('GET', '/api/v1/dpia/document')).status).toBe(403);
    expect((await it_.req('GET', '/api/v1/dpia')).status).toBe(403);
  });

  it("takes the school's facts from the admin and puts them in a new version", async () => {
    const res = await admin.req('PUT', '/api/v1/dpia/settings', {
      controller: 'Oakfield Academy',
      dpoContact: 'dpo@oakfield.example',
      hosting: 'on-premises server, comms room',
      processors: [
        { name: 'Backup Ltd | UK', purpose: 'encrypted off-site backup', location: 'United Kingdom' },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.changed).toBe(true);
    expect(res.json.version.diff).toContain('+- Data controller: Oakfield Academy');
    const md = (await dsl.req('GET', '/api/v1/dpia')).json.markdown as string;
    expect(md).toContain('| Backup Ltd \\| UK | encrypted off-site backup | United Kingdom |');
    expect((await dsl.req('PUT', '/api/v1/dpia/settings', { controller: 'x' })).status).toBe(403);
  });
});
