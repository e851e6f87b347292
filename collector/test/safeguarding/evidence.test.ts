// Evidence export: hostile device text is inert in the HTML; the HTTP export embeds the
// screenshot, hashes every item, lists who viewed the alert, and is audited before it is sent.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutraliseControls, text } from '../../src/safeguarding/escape.ts';
import { highlight } from '../../src/safeguarding/evidence-html.ts';
import { alertOps } from '../../src/store/records.ts';
import type { Alert, Device } from '../../src/store/types.ts';
import { Client, type Harness, startHarness, userClient } from '../auth/harness.ts';
import { makePng, seedAlert, seedDevice } from './seed.ts';

const SCRIPT = '<script>alert(1)</script>';
const IMG = '"><img src=x onerror=alert(document.cookie)>';
const RLO = 'invoice\u202Egpj.exe';
const HUGE = 'A'.repeat(10_240);

/** Everything between tags must be free of markup the payloads could have introduced. */
function assertInert(html: string) {
  expect(html).not.toContain('<script');
  expect(html).not.toMatch(/<img[^>]*onerror/i);
  // Payload text may remain as escaped text; no real tag may carry an event handler.
  for (const tag of html.matchAll(/<[a-z][^>]*>/gi)) expect(tag[0]).not.toMatch(/\son[a-z]+\s*=/i);
  expect(html).not.toContain('\u202E');
  // The only <img> tags are our data: URLs.
  for (const m of html.matchAll(/<img [^>]*>/g))
    expect(m[0]).toMatch(/^<img alt="Screenshot \d+" src="data:image\/png;base64,[A-Za-z0-9+/=]+">$/);
}

describe('escaping (pure)', () => {
  it('escapes markup, shows bidi controls and truncates long text', () => {
    expect(text(SCRIPT)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(text(IMG)).toBe('&quot;&gt;&lt;img src=x onerror=alert(document.cookie)&gt;');
    expect(neutraliseControls(RLO)).toBe('invoice[U+202E]gpj.exe');
    const long = text(HUGE, 100);
    expect(long.startsWith('A'.repeat(100))).toBe(true);
    expect(long).toContain('[10140 more characters]');
    expect(text('😀'.repeat(5), 3)).toBe('😀😀😀… [2 more characters]');
  });

  it('highlights the term without letting either side out of its escaping', () => {
    expect(highlight(`x ${SCRIPT} kms y`, 'kms')).toBe(
      'x &lt;script&gt;alert(1)&lt;/script&gt; <mark>kms</mark> y',
    );
    expect(highlight('nothing here', '<b>')).toBe('nothing here');
  });
});

describe('evidence export over HTTP', () => {
  let h: Harness;
  let dsl: Client;
  let device: Device;
  let alert: Alert;
  const png = makePng(16, 16, [1, 2, 3]);

  beforeAll(async () => {
    h = await startHarness();
    dsl = await userClient(h, 'dsl.exports', 'dsl');
    device = await seedDevice(h.store, { hostname: `${IMG}${RLO}` });
    alert = await seedAlert(h.store, {
      device,
      title: `${SCRIPT} kms ${RLO} ${HUGE}`,
      url: `https://evil.example/?q=${IMG}`,
      context: `${IMG} kms`,
      user: SCRIPT,
      screenshot: png,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('exports one alert as a self-contained, inert, hashed, audited HTML file', async () => {
    // A view first, so the export's access log has something to show.
    expect(
      (await dsl.req('GET', `/api/v1/alerts/${alert.id}/screenshots/${alert.screenshotBlobIds[0]}`)).status,
    ).toBe(200);
    const r = await dsl.req('GET', `/api/v1/alerts/${alert.id}/export`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-disposition')).toMatch(
      /^attachment; filename="evidence-al_[A-Za-z0-9_-]+-\d{4}-\d{2}-\d{2}\.html"$/,
    );
    expect(r.headers.get('cache-control')).toContain('no-store');
    const html = r.text;
    assertInert(html);
    expect(html).toContain(`data:image/png;base64,${Buffer.from(png).toString('base64')}`);
    const pngHash = createHash('sha256').update(png).digest('hex');
    expect(html).toContain(pngHash);
    expect(html).toContain('matches the hash verified at upload');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;'); // title and user as text
    expect(html).toContain('[U+202E]');
    expect(html).toContain('more characters]'); // the 10 kB title is truncated
    expect(html.length).toBeLessThan(200_000);
    expect(html).toContain('dsl.exports'); // who viewed (audit) and who exported
    expect(html).toContain('screenshot.viewed');
    expect(html).toMatch(/Signature/);
    expect(html).not.toMatch(/https?:\/\/(?!evil\.example)[^"<\s]*"/); // no external resources
    expect(html).toContain("default-src 'none'");

    const digest = createHash('sha256').update(r.bytes).digest('hex');
    expect(r.headers.get('x-evidence-sha256')).toBe(digest);
    const rec = (await h.store.audit.list({ action: 'evidence.exported', target: `alert:${alert.id}` }))
      .records[0];
    expect(rec?.details).toMatchObject({ sha256: digest, exportId: r.headers.get('x-evidence-export-id') });
    expect(rec?.actor).toBe('dsl.exports');
  });

  it('exports an incident with its linked alerts, and refuses other roles', async () => {
    const esc = await dsl.req('POST', `/api/v1/alerts/${alert.id}/escalate`, {
      incident: {
        title: `Concern ${SCRIPT}`,
        description: IMG,
        referral: { agency: 'police', reference: 'CAD 123' },
      },
    });
    expect(esc.status).toBe(200);
    const id = esc.json.incident.id as string;
    const r = await dsl.req('GET', `/api/v1/incidents/${id}/export`);
    expect(r.status).toBe(200);
    assertInert(r.text);
    expect(r.text).toContain('Concern &lt;script&gt;');
    expect(r.text).toContain('CAD 123');
    expect(r.text).toContain(alert.id);
    const it1 = await userClient(h, 'it.exports', 'it');
    expect((await it1.req('GET', `/api/v1/incidents/${id}/export`)).status).toBe(403);
    expect(
      (await new Client(h.url, h.adminToken).req('GET', `/api/v1/alerts/${alert.id}/export`)).status,
    ).toBe(403);
    const trail = await h.store.audit.list({ action: 'evidence.exported', target: `alert:${alert.id}` });
    expect(trail.records.length).toBe(2); // the alert export, and the incident export that included it
  });

  it('caps an alert stored before ingest capped its references: one embedded image, the rest counted', async () => {
    // As an older collector stored it: 400 references to one screenshot, straight into the store.
    const legacy = await seedAlert(h.store, { device, title: 'legacy', screenshot: png });
    const blob = legacy.screenshotBlobIds[0] as string;
    const many = { ...legacy, screenshotBlobIds: Array.from({ length: 400 }, () => blob) };
    await h.store.engine.batch(alertOps(h.store.cipher, many, legacy), { sync: true });
    const page = await dsl.req('GET', `/api/v1/alerts/${legacy.id}`);
    expect(page.json.screenshots).toHaveLength(1);
    const r = await dsl.req('GET', `/api/v1/alerts/${legacy.id}/export`);
    expect(r.status).toBe(200);
    expect(r.text.match(/<img /g)).toHaveLength(1);
    expect(r.text).toContain('399 further screenshot reference(s) not included');
    expect(r.text.length).toBeLessThan(200_000);
    expect(r.headers.get('x-evidence-sha256')).toBe(createHash('sha256').update(r.bytes).digest('hex'));
    const rec = (await h.store.audit.list({ action: 'evidence.exported', target: `alert:${legacy.id}` }))
      .records[0];
    expect(rec?.details).toMatchObject({ blobIds: [blob], bytes: r.bytes.byteLength });
  });
});
