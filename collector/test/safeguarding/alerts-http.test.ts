// The DSL's alert API over real HTTP on a real level store: queue order and filters, detail
// with timeline excerpt, decisions, and the screenshot endpoint (role-gated, audited first).
import { inflateSync } from 'node:zlib';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, Device } from '../../src/store/types.ts';
import { Client, type Harness, startHarness, userClient } from '../auth/harness.ts';
import { makePng, seedAlert, seedDevice } from './seed.ts';

let h: Harness;
let dsl: Client;
let it1: Client;
let gov: Client;
let device: Device;
let other: Device;
let top: Alert;
let mid: Alert;
let low: Alert;
const png = makePng(64, 48, [200, 30, 40]);

/** Reads width, height and the first pixel of the PNGs makePng writes (filter 0, RGB). */
function decodePng(bytes: Uint8Array) {
  const b = Buffer.from(bytes);
  expect(b.subarray(1, 4).toString('ascii')).toBe('PNG');
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  let off = 8;
  const idat: Buffer[] = [];
  while (off < b.length) {
    const len = b.readUInt32BE(off);
    const type = b.subarray(off + 4, off + 8).toString('ascii');
    if (type === 'IDAT') idat.push(b.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  return { width, height, firstPixel: [raw[1], raw[2], raw[3]] };
}

beforeAll(async () => {
  h = await startHarness();
  dsl = await userClient(h, 'dsl.one', 'dsl');
  it1 = await userClient(h, 'it.one', 'it');
  gov = await userClient(h, 'gov.one', 'governor');
  device = await seedDevice(h.store, { hostname: 'LAPTOP-Y9' });
  other = await seedDevice(h.store, { hostname: 'LAPTOP-Z1' });
  const now = Date.now();
  mid = await seedAlert(h.store, {
    device,
    severity: 3,
    category: 'bullying',
    term: 'loser',
    time: now - 3_600_000,
    title: 'ur such a loser',
  });
  top = await seedAlert(h.store, {
    device,
    severity: 5,
    time: now - 7_200_000,
    screenshot: png,
    user: 'pupil.alex',
  });
  low = await seedAlert(h.store, {
    device: other,
    severity: 2,
    category: 'drugs',
    term: 'weed',
    time: now - 60_000,
    source: 'typed',
  });
});
afterAll(async () => {
  await h.close();
});

describe('alert queue', () => {
  it('sorts by severity then time and filters', async () => {
    const all = await dsl.req('GET', '/api/v1/alerts');
    expect(all.status).toBe(200);
    expect(all.json.alerts.map((a: { id: string }) => a.id)).toEqual([top.id, mid.id, low.id]);
    expect(all.json.alerts[0]).toMatchObject({
      hostname: 'LAPTOP-Y9',
      term: 'kms',
      status: 'new',
      screenshotCount: 1,
    });
    const drugs = await dsl.req('GET', '/api/v1/alerts?category=drugs');
    expect(drugs.json.alerts.map((a: { id: string }) => a.id)).toEqual([low.id]);
    // Where the words were seen (issue 14): typed, on screen, title, URL, page.
    const typed = await dsl.req('GET', '/api/v1/alerts?source=typed');
    expect(typed.json.alerts.map((a: { id: string; source: string }) => [a.id, a.source])).toEqual([
      [low.id, 'typed'],
    ]);
    expect((await dsl.req('GET', '/api/v1/alerts?source=title')).json.total).toBe(2);
    expect((await dsl.req('GET', '/api/v1/alerts?source=screen,typed')).json.total).toBe(1);
    expect((await dsl.req('GET', '/api/v1/alerts?source=keyboard')).status).toBe(400);
    const byDevice = await dsl.req('GET', `/api/v1/alerts?device=${other.id}`);
    expect(byDevice.json.total).toBe(1);
    const sev = await dsl.req('GET', '/api/v1/alerts?minSeverity=3');
    expect(sev.json.total).toBe(2);
    const recent = await dsl.req('GET', `/api/v1/alerts?from=${Date.now() - 2 * 3_600_000 + 60_000}`);
    expect(recent.json.alerts.map((a: { id: string }) => a.id)).toEqual([mid.id, low.id]);
    const page = await dsl.req('GET', '/api/v1/alerts?limit=2');
    expect(page.json.alerts).toHaveLength(2);
    expect(page.json.nextOffset).toBe(2);
    const page2 = await dsl.req('GET', '/api/v1/alerts?limit=2&offset=2');
    expect(page2.json.alerts.map((a: { id: string }) => a.id)).toEqual([low.id]);
    expect((await dsl.req('GET', '/api/v1/alerts?status=bogus')).status).toBe(400);
  });

  it('returns one alert with device, user at the time, screenshots and a timeline excerpt', async () => {
    const r = await dsl.req('GET', `/api/v1/alerts/${top.id}`);
    expect(r.status).toBe(200);
    expect(r.json.device).toMatchObject({ id: device.id, hostname: 'LAPTOP-Y9' });
    expect(r.json.user).toBe('pupil.alex');
    expect(r.json.screenshots[0]).toMatchObject({
      available: true,
      contentType: 'image/png',
      size: png.byteLength,
    });
    expect(r.json.screenshots[0].url).toBe(
      `/api/v1/alerts/${top.id}/screenshots/${top.screenshotBlobIds[0]}`,
    );
    const kinds = r.json.timeline.map((t: { kind: string }) => t.kind);
    expect(kinds).toEqual(['heartbeat', 'activeWindow', 'flaggedActivity', 'activeWindow']);
    expect(r.json.timeline[2].isAlertEvent).toBe(true);
    expect(r.json.alert.context).toContain('kms');
  });

  it('refuses alert content to IT, governors, the admin token and anonymous callers', async () => {
    for (const [client, status] of [
      [it1, 403],
      [gov, 403],
      [new Client(h.url, h.adminToken), 403],
      [new Client(h.url), 401],
    ] as const) {
      const list = await client.req('GET', '/api/v1/alerts');
      expect(list.status).toBe(status);
      expect(list.json.error.code).toBe(status === 401 ? 'CUST_ERR_UNAUTHENTICATED' : 'CUST_ERR_FORBIDDEN');
      expect((await client.req('GET', `/api/v1/alerts/${top.id}`)).status).toBe(status);
      expect(list.text).not.toContain('kms');
    }
  });
});

describe('screenshot endpoint', () => {
  it('serves the decrypted PNG to the DSL with no-store, auditing the view', async () => {
    const url = `/api/v1/alerts/${top.id}/screenshots/${top.screenshotBlobIds[0]}`;
    const before = (await h.store.audit.list({ action: 'screenshot.viewed' })).records.length;
    const r = await dsl.req('GET', url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('cache-control')).toContain('no-store');
    expect(Buffer.from(r.bytes).equals(Buffer.from(png))).toBe(true);
    expect(decodePng(r.bytes)).toEqual({ width: 64, height: 48, firstPixel: [200, 30, 40] });
    const views = (await h.store.audit.list({ action: 'screenshot.viewed' })).records;
    expect(views.length).toBe(before + 1);
    expect(views[0]).toMatchObject({
      actor: 'dsl.one',
      target: `alert:${top.id}`,
      details: { blobId: top.screenshotBlobIds[0], role: 'dsl' },
    });
  });

  it('refuses other roles with clear codes and writes no view record', async () => {
    const url = `/api/v1/alerts/${top.id}/screenshots/${top.screenshotBlobIds[0]}`;
    const before = (await h.store.audit.list({ action: 'screenshot.viewed' })).records.length;
    const cases = [
      [it1, 403, 'CUST_ERR_FORBIDDEN'],
      [gov, 403, 'CUST_ERR_FORBIDDEN'],
      [new Client(h.url, h.adminToken), 403, 'CUST_ERR_FORBIDDEN'],
      [new Client(h.url), 401, 'CUST_ERR_UNAUTHENTICATED'],
      [new Client(h.url, 'wrong-token-wrong-token'), 401, 'CUST_ERR_UNAUTHENTICATED'],
    ] as const;
    for (const [client, status, code] of cases) {
      const r = await client.req('GET', url);
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(code);
      expect(r.headers.get('content-type')).toContain('application/json');
    }
    expect((await h.store.audit.list({ action: 'screenshot.viewed' })).records.length).toBe(before);
  });

  it('sends no image bytes when the audit record cannot be written', async () => {
    const url = `/api/v1/alerts/${top.id}/screenshots/${top.screenshotBlobIds[0]}`;
    const audit = h.store.audit;
    const original = audit.append;
    audit.append = async () => {
      throw new CustodianError(ErrorCode.STORAGE, 'disk full (test)');
    };
    try {
      const r = await dsl.req('GET', url);
      expect(r.status).toBe(503);
      expect(r.headers.get('content-type')).toContain('application/json');
      expect(r.json.error.code).toBe('CUST_ERR_STORAGE');
      expect(Buffer.from(r.bytes).includes(Buffer.from(png.subarray(0, 8)))).toBe(false);
    } finally {
      audit.append = original;
    }
  });

  it('only serves blobs that belong to the alert, and says when retention deleted them', async () => {
    const foreign = await dsl.req('GET', `/api/v1/alerts/${mid.id}/screenshots/${top.screenshotBlobIds[0]}`);
    expect(foreign.status).toBe(404);
    const traversal = await dsl.req('GET', `/api/v1/alerts/${top.id}/screenshots/..%2F..%2Fkey`);
    expect(traversal.status).toBe(400);
    const expiring = await seedAlert(h.store, { device, screenshot: makePng(2, 2, [0, 0, 0]) });
    const blobId = expiring.screenshotBlobIds[0] as string;
    await h.store.blobs.delete(device.id, blobId);
    await h.store.alerts.update(expiring.id, (a) => ({
      ...a,
      screenshotsExpired: { at: Date.now(), note: 'retention 30 days' },
    }));
    const gone = await dsl.req('GET', `/api/v1/alerts/${expiring.id}/screenshots/${blobId}`);
    expect(gone.status).toBe(410);
    expect(gone.json.error.code).toBe('CUST_ERR_GONE');
  });
});

describe('decisions', () => {
  it('grades, notes, marks false positive and escalates, with history and audit', async () => {
    const a = await seedAlert(h.store, { device, severity: 4 });
    const bad = await dsl.req('POST', `/api/v1/alerts/${a.id}/grade`, { grade: 7 });
    expect(bad.status).toBe(400);
    const graded = await dsl.req('POST', `/api/v1/alerts/${a.id}/grade`, { grade: 2 });
    expect(graded.json.alert).toMatchObject({ status: 'graded', grade: 2 });
    const noted = await dsl.req('POST', `/api/v1/alerts/${a.id}/notes`, { text: 'spoke to form tutor' });
    expect(noted.json.alert.notes[0]).toMatchObject({ author: 'dsl.one', text: 'spoke to form tutor' });
    expect(typeof noted.json.alert.notes[0].at).toBe('number');
    const fp = await dsl.req('POST', `/api/v1/alerts/${a.id}/false-positive`, { reason: 'song lyrics' });
    expect(fp.json.alert.status).toBe('false-positive');

    const b = await seedAlert(h.store, { device, severity: 5 });
    const esc = await dsl.req('POST', `/api/v1/alerts/${b.id}/escalate`, {
      incident: {
        peopleInvolved: [{ name: 'Alex', role: 'pupil' }],
        referral: { agency: 'childrens-social-care' },
      },
    });
    expect(esc.status).toBe(200);
    expect(esc.json.alert.status).toBe('escalated');
    expect(esc.json.incident.linkedAlertIds).toEqual([b.id]);
    expect(esc.json.incident.referral.agency).toBe('childrens-social-care');
    const again = await dsl.req('POST', `/api/v1/alerts/${b.id}/escalate`, {});
    expect(again.status).toBe(409);
    const fpEscalated = await dsl.req('POST', `/api/v1/alerts/${b.id}/false-positive`, {});
    expect(fpEscalated.status).toBe(409);
    // A second alert joins the same incident.
    const c = await seedAlert(h.store, { device, severity: 5 });
    const join = await dsl.req('POST', `/api/v1/alerts/${c.id}/escalate`, {
      incidentId: esc.json.incident.id,
    });
    expect(join.json.incident.linkedAlertIds).toEqual([b.id, c.id]);

    const stored = await h.store.alerts.get(a.id);
    expect(stored?.history.map((x) => x.action)).toEqual(['opened', 'graded', 'status', 'noted', 'status']);
    const trail = await h.store.audit.list({ target: `alert:${a.id}` });
    expect(trail.records.map((r) => r.action).sort()).toEqual([
      'alert.false-positive',
      'alert.graded',
      'alert.noted',
    ]);
    // IT cannot act on alerts.
    expect((await it1.req('POST', `/api/v1/alerts/${a.id}/grade`, { grade: 1 })).status).toBe(403);
  });
});

describe('live alert feed', () => {
  async function readUntil(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    pattern: RegExp,
  ): Promise<string> {
    let buf = '';
    for (;;) {
      const m = pattern.exec(buf);
      if (m) return m[0];
      const { value, done } = await reader.read();
      if (done) return `${buf}\n<closed>`;
      buf += Buffer.from(value).toString('utf8');
    }
  }

  it('pushes new alerts to the DSL and ends the feed once the session is gone', async () => {
    const dsl2 = await userClient(h, 'dsl.feed', 'dsl');
    const res = await fetch(`${h.url}/api/v1/alerts/live`, { headers: { cookie: dsl2.cookie as string } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, /: custodian alert feed\n\n/);
    const a = await seedAlert(h.store, { device, severity: 5, term: 'unalive' });
    h.live.emit('alert', a);
    const frame = await readUntil(reader, /event: alert\ndata: .*\n\n/);
    expect(JSON.parse(frame.split('data: ')[1] as string)).toMatchObject({
      id: a.id,
      term: 'unalive',
      effectiveSeverity: 5,
    });

    expect((await dsl2.req('POST', '/api/v1/auth/logout')).status).toBe(200);
    h.live.emit('alert', a);
    const end = await readUntil(reader, /event: end\ndata: .*\n\n/);
    expect(end).toContain('session ended');
    expect(await readUntil(reader, /never/)).toContain('<closed>');
  });
});
