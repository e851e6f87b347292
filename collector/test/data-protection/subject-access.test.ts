// Subject access and erasure on a real collector (in-process app, real level store, real `ws`
// agent clients, plain HTTP with a DSL session and the admin token). Two pupils share a school
// laptop (the agent reports who is signed in); one also used a second laptop. The archive is
// unzipped with Debian's `unzip`, every part is hashed against manifest.json, and the screenshot
// bytes are compared with the PNG the agent uploaded. Erasure keeps what an open incident holds.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { IEvent } from '@custodian/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthModule } from '../../src/auth/index.ts';
import { dataProtectionModule } from '../../src/data-protection/index.ts';
import { safeguardingModule } from '../../src/safeguarding/index.ts';
import { alertIdFor } from '../../src/store/records.ts';
import { Client, createStaffClient, TEST_SCRYPT } from '../auth/harness.ts';
import { AgentClient, sha256 } from '../helpers/agent-client.ts';
import { filesContaining } from '../helpers/grep-dir.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';
import { makePng } from '../safeguarding/seed.ts';

let h: Harness;
let dsl: Client;
let admin: Client;
const work = mkdtempSync(join(tmpdir(), 'custodian-sar-'));
const HOUR = 3_600_000;
/** Random, so its bytes on disk are not compressed away (level tables are snappy-compressed). */
const LIBRARY = `ava library search ${randomBytes(24).toString('hex')}`;

const seen = (seq: number, user: string, timeMs: number): IEvent => ({
  seq,
  timeMs,
  heartbeat: { uptimeSeconds: seq, loggedInUser: user, outboxDepth: 0 },
});
const win = (seq: number, title: string, timeMs: number): IEvent => ({
  seq,
  timeMs,
  activeWindow: { app: 'firefox', title, url: '', pid: 7 },
});
const flag = (seq: number, term: string, blobId: string, timeMs: number): IEvent => ({
  seq,
  timeMs,
  flaggedActivity: {
    category: 'self-harm',
    severity: 4,
    matchedTerm: term,
    context: `... ${term} ...`,
    window: { app: 'firefox', title: `about ${term}`, url: '', pid: 7 },
    screenshotBlobIds: [blobId],
    source: 'title',
  },
});

async function upload(agent: AgentClient, png: Uint8Array): Promise<string> {
  const blobId = randomUUID();
  agent.send({
    blobChunk: {
      blobId,
      index: 0,
      totalChunks: 1,
      totalSize: png.byteLength,
      sha256: sha256(png),
      contentType: 'image/png',
      data: png,
    },
  });
  expect((await agent.next('blobAck')).blobAck?.status).toBe(1);
  return blobId;
}

/** Downloads and unzips an archive; returns the files (path -> bytes) and the zip's bytes. */
async function archive(client: Client, query: string) {
  const r = await client.req('GET', `/api/v1/data-protection/subject-access?${query}`);
  expect(r.status, r.text.slice(0, 300)).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/zip');
  const dir = mkdtempSync(join(work, 'out-'));
  writeFileSync(join(dir, 'a.zip'), r.bytes);
  execFileSync('unzip', ['-q', 'a.zip', '-d', 'x'], { cwd: dir });
  const files = new Map<string, Buffer>();
  for (const e of readdirSync(join(dir, 'x'), { withFileTypes: true, recursive: true }))
    if (e.isFile())
      files.set(
        relative(join(dir, 'x'), join(e.parentPath, e.name)),
        readFileSync(join(e.parentPath, e.name)),
      );
  return { files, zip: r.bytes };
}

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const lines = (b: Buffer | undefined) =>
  (b ?? Buffer.alloc(0))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

const pngAva = makePng(64, 48, [200, 30, 30]);
const pngBen = makePng(64, 48, [30, 200, 30]);
let laptop: string;
let second: string;
let streamA: string;
let streamB: string;
let alertAva: string;
let alertBen: string;
let blobAva: string;
let blobBen: string;

beforeAll(async () => {
  h = await startHarness({
    modules: [
      createAuthModule({ scrypt: TEST_SCRYPT, onFirstAdmin: () => undefined }),
      safeguardingModule,
      dataProtectionModule,
    ],
  });
  dsl = await createStaffClient(h.url, h.adminToken, 'dsl.dp', 'dsl');
  admin = new Client(h.url, h.adminToken);
  const now = Date.now();
  // A shared school laptop: Ava two hours ago, then Ben a minute ago.
  const a = await h.enrol({ hostname: 'Y9-SHARED-01' });
  laptop = a.deviceId;
  const agentA = new AgentClient(h.wsUrl);
  streamA = randomUUID();
  await agentA.hello(a.deviceId, a.deviceKey, streamA);
  blobAva = await upload(agentA, pngAva);
  blobBen = await upload(agentA, pngBen);
  const ack = await agentA.batch(streamA, [
    seen(1, 'ava.pupil', now - 2 * HOUR),
    win(2, 'ava private diary', now - 2 * HOUR + 1_000),
    flag(3, 'unalive', blobAva, now - 2 * HOUR + 2_000),
    seen(4, 'ben.pupil', now - 60_000),
    win(5, 'ben homework', now - 59_000),
    flag(6, 'kms', blobBen, now - 58_000),
  ]);
  expect(Number(ack.seq)).toBe(6);
  agentA.close();
  // A second laptop Ava used.
  const b = await h.enrol({ hostname: 'LIB-07' });
  second = b.deviceId;
  const agentB = new AgentClient(h.wsUrl);
  streamB = randomUUID();
  await agentB.hello(b.deviceId, b.deviceKey, streamB);
  await agentB.batch(streamB, [seen(1, 'ava.pupil', now - HOUR), win(2, LIBRARY, now - HOUR + 500)]);
  agentB.close();
  alertAva = alertIdFor(laptop, streamA, 3);
  alertBen = alertIdFor(laptop, streamA, 6);
}, 60_000);

afterAll(async () => {
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('subject access', () => {
  it("exports a pupil's records from every device as one zip whose parts match the manifest", async () => {
    const { files, zip } = await archive(dsl, 'user=Ava.Pupil&reference=SAR-2026-014');
    const manifest = JSON.parse((files.get('manifest.json') as Buffer).toString('utf8'));
    expect(manifest).toMatchObject({
      format: 'custodian-subject-access/1',
      subject: 'user:Ava.Pupil',
      generatedBy: 'dsl.dp',
      reference: 'SAR-2026-014',
    });
    // Every file is listed with its hash, and nothing listed is missing.
    const listed = new Map<string, { sha256: string; bytes: number }>(
      manifest.parts.map((p: { path: string; sha256: string; bytes: number }) => [p.path, p]),
    );
    expect([...files.keys()].filter((f) => f !== 'manifest.json').sort()).toEqual([...listed.keys()].sort());
    expect(
      manifest.parts.find((p: { path: string }) => p.path === `devices/${laptop}/timeline.ndjson`).records,
    ).toBe(3);
    for (const [path, part] of listed) {
      const bytes = files.get(path) as Buffer;
      expect(hex(bytes), path).toBe(part.sha256);
      expect(bytes.byteLength, path).toBe(part.bytes);
    }
    // The screenshot is the exact PNG the agent uploaded; Ben's alert and screenshot are not in it.
    expect(files.get(`alerts/${alertAva}/screenshots/${blobAva}.png`)?.equals(Buffer.from(pngAva))).toBe(
      true,
    );
    expect([...files.keys()].some((f) => f.includes(alertBen) || f.includes(blobBen))).toBe(false);
    expect(JSON.parse((files.get(`alerts/${alertAva}.json`) as Buffer).toString())).toMatchObject({
      term: 'unalive',
    });
    // Timeline: Ava's share of the shared laptop (not Ben's), and all of her library session.
    const shared = lines(files.get(`devices/${laptop}/timeline.ndjson`));
    expect(shared.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(shared[1].event.activeWindow.title).toBe('ava private diary');
    expect(
      lines(files.get(`devices/${second}/timeline.ndjson`)).map((e) => e.event.activeWindow?.title ?? null),
    ).toEqual([null, LIBRARY]);
    const device = JSON.parse((files.get(`devices/${laptop}/device.json`) as Buffer).toString());
    expect(device.device).toMatchObject({ id: laptop, hostname: 'Y9-SHARED-01' });
    expect(device.device.keyHash).toBeUndefined();
    // Audited before the first byte, and completed with the archive's own hash.
    const started = await h.app.store.audit.list({ action: 'data-protection.subject-access' });
    expect(started.records[0]).toMatchObject({ actor: 'dsl.dp', target: 'user:Ava.Pupil' });
    const done = await h.app.store.audit.list({ action: 'data-protection.subject-access-completed' });
    expect(done.records[0]?.details?.['archiveSha256']).toBe(hex(zip));
    const audit = lines(files.get('audit.ndjson'));
    expect(audit.some((r) => r.target === `device:${laptop}`)).toBe(true);
  });

  it('exports a whole device (both pupils) and refuses a request naming nothing, or both', async () => {
    const { files } = await archive(dsl, `device=${laptop}`);
    expect(files.get(`alerts/${alertBen}/screenshots/${blobBen}.png`)?.equals(Buffer.from(pngBen))).toBe(
      true,
    );
    expect(lines(files.get(`devices/${laptop}/timeline.ndjson`)).map((e) => e.seq)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    const none = await dsl.req('GET', '/api/v1/data-protection/subject-access');
    expect(none.status).toBe(400);
    expect(none.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    expect(
      (await dsl.req('GET', `/api/v1/data-protection/subject-access?user=ava.pupil&device=${laptop}`)).status,
    ).toBe(400);
    const unknown = await dsl.req('GET', '/api/v1/data-protection/subject-access?user=nobody.here');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('CUST_ERR_NOT_FOUND');
  });

  it('refuses admins, the API token included: the archive holds alerts and screenshots', async () => {
    // An admin cannot read an alert or a screenshot; a subject access request for the device must
    // not hand them over either (before this stop it answered 200 with the decrypted PNGs).
    const sessionAdmin = await createStaffClient(h.url, h.adminToken, 'admin.dp', 'admin');
    const before = (await h.app.store.audit.list({ action: 'data-protection.subject-access' })).records
      .length;
    for (const who of [admin, sessionAdmin]) {
      const r = await fetch(`${h.url}/api/v1/data-protection/subject-access?device=${laptop}`, {
        headers: who.cookie ? { cookie: who.cookie } : { authorization: `Bearer ${h.adminToken}` },
      });
      const body = Buffer.from(await r.arrayBuffer());
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).not.toContain('zip');
      expect(JSON.parse(body.toString('utf8')).error.code).toBe('CUST_ERR_FORBIDDEN');
      expect(body.includes(Buffer.from(pngBen))).toBe(false);
    }
    const after = (await h.app.store.audit.list({ action: 'data-protection.subject-access' })).records.length;
    expect(after).toBe(before);
  });
});

describe('erasure', () => {
  it('needs a reason', async () => {
    const r = await dsl.req('POST', '/api/v1/data-protection/erasures', { device: laptop });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('CUST_ERR_INVALID_INPUT');
    expect(await h.app.store.alerts.get(alertAva)).toBeDefined();
  });

  it('erases a device except what an open incident holds, and records what it kept and why', async () => {
    const esc = await dsl.req('POST', `/api/v1/alerts/${alertBen}/escalate`, {
      incident: { title: 'Ben: concern' },
    });
    expect(esc.status).toBe(200);
    const incidentId = esc.json.incident.id as string;
    const r = await dsl.req('POST', '/api/v1/data-protection/erasures', {
      device: laptop,
      reason: 'parent request ER-7, laptop returned',
    });
    expect(r.status).toBe(200);
    const e = r.json.erasure;
    expect(e).toMatchObject({
      by: 'dsl.dp',
      subject: `device:${laptop}`,
      reason: 'parent request ER-7, laptop returned',
    });
    expect(e.erased).toMatchObject({ alerts: 1, screenshots: 1, timelineEvents: 3, statusSnapshots: 1 });
    const kept = new Map<string, string>(e.kept.map((k: { what: string; why: string }) => [k.what, k.why]));
    expect(kept.get(`alert:${alertBen}`)).toContain(`incident ${incidentId}, which is open`);
    expect(kept.get(`3 timeline event(s) of device ${laptop}`)).toContain('safeguarding hold');
    expect(kept.get(`device record ${laptop}`)).toBeDefined();
    expect(kept.has('audit log')).toBe(true);
    // Which of them the hold kept (the request refused for them), and which erasure always keeps.
    const held = new Map<string, boolean>(
      e.kept.map((k: { what: string; held: boolean }) => [k.what, k.held]),
    );
    expect(held.get(`alert:${alertBen}`)).toBe(true);
    expect(held.get(`3 timeline event(s) of device ${laptop}`)).toBe(true);
    expect(held.get(`device record ${laptop}`)).toBe(true);
    expect(held.get('audit log')).toBe(false);
    // Held: Ben's alert, its screenshot and its timeline. Gone: Ava's.
    const store = h.app.store;
    expect(await store.alerts.get(alertAva)).toBeUndefined();
    expect(await store.blobs.meta(laptop, blobAva)).toBeUndefined();
    expect((await store.alerts.get(alertBen))?.term).toBe('kms');
    expect((await store.blobs.read(laptop, blobBen))?.data).toEqual(pngBen);
    const left = await store.timeline.query({ deviceId: laptop, limit: 100 });
    expect(left.records.map((x) => x.seq).sort()).toEqual([4, 5, 6]);
    // The device page shows no user or window any more (live status in memory included).
    const page = await admin.req('GET', `/api/v1/devices/${laptop}`);
    expect(page.json.device.status.loggedInUser).toBeUndefined();
    expect(page.json.device.status.currentWindow).toBeUndefined();
    // A replay of an erased event is a duplicate, not stored again.
    expect(await store.timeline.heldBefore(laptop, streamA, 2)).toBe(true);
    // The DSL still reads the held alert in full.
    expect((await dsl.req('GET', `/api/v1/alerts/${alertBen}`)).json.alert.context).toContain('kms');
    // Recorded and audited.
    const list = await admin.req('GET', '/api/v1/data-protection/erasures');
    expect(list.json.erasures[0].id).toBe(e.id);
    const audited = await store.audit.list({ action: 'data-protection.erasure' });
    expect(audited.records[0]).toMatchObject({ actor: 'dsl.dp', target: `device:${laptop}` });
    expect(audited.records[0]?.details?.['erasureId']).toBe(e.id);
    // The DSL is told, without the subject's name.
    const told = (await dsl.req('GET', '/api/v1/notifications')).json.notifications as { kind: string }[];
    const note = told.find((n) => n.kind === 'data-protection.erasure');
    expect(note).toMatchObject({ details: { erasureId: e.id, by: 'dsl.dp' } });
    expect(JSON.stringify(told).toLowerCase()).not.toContain('ava');
  });

  it("erases a user's share of school devices and leaves another user's alone", async () => {
    // The library window as stored (base64 protobuf in the record): on disk before, gone after.
    const stored = await h.app.store.timeline.get(second, streamB, 2);
    // A 16-character piece of the record's base64 that is literally in a level file (the random
    // part of the title: snappy keeps incompressible bytes as they are).
    const b64 = Buffer.from(stored?.event as Uint8Array).toString('base64');
    const data = join(h.dir, 'data');
    let onDisk = '';
    for (let i = 0; i + 16 <= b64.length && !onDisk; i += 4)
      if (filesContaining(data, b64.slice(i, i + 16)).length > 0) onDisk = b64.slice(i, i + 16);
    expect(onDisk, 'the stored event is on disk before the erasure').not.toBe('');
    const r = await admin.req('POST', '/api/v1/data-protection/erasures', {
      user: 'AVA.pupil',
      reason: 'left the school, parent request ER-9',
    });
    expect(r.status).toBe(200);
    // Her library session; her share of the shared laptop went in the device erasure before.
    expect(r.json.erasure.erased).toMatchObject({ timelineEvents: 2, alerts: 0, devicesRedacted: [] });
    expect((await h.app.store.timeline.query({ deviceId: second, limit: 10 })).records).toEqual([]);
    expect((await h.app.store.devices.get(second))?.hostname).toBe('LIB-07');
    // Compacted: the erased event is gone from the level files, not only from view (without the
    // compaction it stays in the write-ahead log and this fails; level tables are snappy-compressed,
    // so a grep of them alone would prove less).
    expect(filesContaining(join(h.dir, 'data'), onDisk)).toEqual([]);
    const ben = await h.app.store.timeline.query({ deviceId: laptop, limit: 10 });
    expect(ben.records.map((x) => x.seq).sort()).toEqual([4, 5, 6]);
    // Nothing of hers is left: a new request finds nothing.
    const again = await dsl.req('GET', '/api/v1/data-protection/subject-access?user=ava.pupil');
    expect(again.status).toBe(404);
  });

  it('keeps what a closed incident referred to an outside agency holds', async () => {
    const c = await h.enrol({ hostname: 'Y11-03' });
    const agent = new AgentClient(h.wsUrl);
    const stream = randomUUID();
    await agent.hello(c.deviceId, c.deviceKey, stream);
    const shot = await upload(agent, pngAva);
    const now = Date.now();
    await agent.batch(stream, [
      seen(1, 'cara.pupil', now - 30 * 60_000),
      flag(2, 'groomer', shot, now - 29 * 60_000),
    ]);
    agent.close();
    const alertId = alertIdFor(c.deviceId, stream, 2);
    const esc = await dsl.req('POST', `/api/v1/alerts/${alertId}/escalate`, {
      incident: { title: 'referred', status: 'closed', referral: { agency: 'police', reference: 'P-77' } },
    });
    expect(esc.status).toBe(200);
    const r = await dsl.req('POST', '/api/v1/data-protection/erasures', {
      user: 'cara.pupil',
      reason: 'parent request',
    });
    expect(r.status).toBe(200);
    const kept = new Map<string, string>(
      r.json.erasure.kept.map((k: { what: string; why: string }) => [k.what, k.why]),
    );
    expect(kept.get(`alert:${alertId}`)).toContain('referred to police');
    expect(kept.get(`incident:${esc.json.incident.id}`)).toContain('referred to police');
    expect(r.json.erasure.erased).toMatchObject({ alerts: 0, incidents: 0, screenshots: 0 });
    expect((await h.app.store.blobs.read(c.deviceId, shot))?.data).toEqual(pngAva);
  });

  it("takes only the subject's name out of a closed incident that is also about someone else", async () => {
    const made = await dsl.req('POST', '/api/v1/incidents', {
      title: 'group chat',
      status: 'closed',
      peopleInvolved: [{ name: 'Dan.Pupil' }, { name: 'eve.pupil' }],
    });
    expect(made.status).toBe(201);
    const r = await dsl.req('POST', '/api/v1/data-protection/erasures', {
      user: 'dan.pupil',
      reason: 'request',
    });
    expect(r.status).toBe(200);
    expect(r.json.erasure.erased).toMatchObject({ incidents: 0, incidentsRedacted: 1 });
    const after = await h.app.store
      .kv<{ peopleInvolved: { name: string }[] }>('incidents')
      .get(made.json.incident.id);
    expect(after?.peopleInvolved.map((p) => p.name)).toEqual(['[erased]', 'eve.pupil']);
    // Now about Eve alone: the whole record goes with her erasure.
    const r2 = await dsl.req('POST', '/api/v1/data-protection/erasures', {
      user: 'EVE.pupil',
      reason: 'request',
    });
    expect(r2.json.erasure.erased).toMatchObject({ incidents: 1, incidentsRedacted: 0 });
    expect(await h.app.store.kv('incidents').get(made.json.incident.id)).toBeUndefined();
  });

  it('redacts the record of a device with nothing held', async () => {
    const r = await admin.req('POST', '/api/v1/data-protection/erasures', {
      device: second,
      reason: 'returned',
    });
    expect(r.status).toBe(200);
    expect(r.json.erasure.erased).toMatchObject({ devicesRedacted: [second] });
    expect((await h.app.store.devices.get(second))?.hostname).toBe('[erased]');
  });
});
