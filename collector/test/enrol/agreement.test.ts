// The BYOD agreement as the school's own versioned text (issue 19 item 6), over real HTTP with
// each role: the built-in text kept as version 1 with its hash, an admin publishing a new
// version, enrolment accepting only the current one, BYOD devices accepted under an older one
// shown as outdated, and the acceptance log exported as JSON and CSV by admin and DSL.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGREEMENT_ACCEPTANCES_NS,
  AGREEMENT_SHA256,
  AGREEMENT_VERSION,
  Agreements,
  acceptancesCsv,
  sha256Text,
} from '../../src/enrol/agreement.ts';
import { MODULES } from '../../src/modules.ts';
import { openLevelStore } from '../../src/store/index.ts';
import { type Client, createStaffClient } from '../auth/harness.ts';
import { type Harness, startHarness } from '../helpers/harness.ts';
import { seedDevice } from '../safeguarding/seed.ts';

let h: Harness;
let admin: Client;
let dsl: Client;
let it_: Client;
let governor: Client;

beforeAll(async () => {
  h = await startHarness({ modules: MODULES });
  admin = await createStaffClient(h.url, h.adminToken, 'agr-admin', 'admin');
  dsl = await createStaffClient(h.url, h.adminToken, 'agr-dsl', 'dsl');
  it_ = await createStaffClient(h.url, h.adminToken, 'agr-it', 'it');
  governor = await createStaffClient(h.url, h.adminToken, 'agr-gov', 'governor');
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const current = async () => (await h.api('GET', '/api/v1/agreement', undefined, null)).json;

async function enrolByod(userName: string, agreement: { version: string; sha256: string }) {
  const code = (await h.api('POST', '/api/v1/enrol/codes', { ttlHours: 1 })).json.code as string;
  return h.api(
    'POST',
    '/api/v1/enrol',
    {
      code,
      machineId: `byod-${randomBytes(6).toString('hex')}`,
      hostname: 'sams-laptop',
      os: 'linux',
      userName,
      acceptAgreement: true,
      agreementVersion: agreement.version,
      agreementSha256: agreement.sha256,
    },
    null,
  );
}

describe('the agreement as versioned school text', () => {
  let firstDevice: string;
  let published: { version: string; sha256: string; text: string };

  it('starts from the built-in text, same version and SHA-256 as before (nothing to re-accept)', async () => {
    const a = await current();
    expect(a).toMatchObject({ version: AGREEMENT_VERSION, sha256: AGREEMENT_SHA256 });
    expect(sha256Text(a.text)).toBe(AGREEMENT_SHA256);
    const enrolled = await enrolByod('Sam Sixthform', a);
    expect(enrolled.status).toBe(200);
    firstDevice = enrolled.json.deviceId;
    const { json } = await h.api('GET', `/api/v1/devices/${firstDevice}`);
    expect(json.device.agreementOutdated).toBe(false);
  });

  it('an admin publishes new text: a new version with author, time and hash; the old one is kept', async () => {
    const text = 'Oakfield Academy BYOD agreement\r\n\r\n1. Monitoring happens on the school network only.\n';
    const refused = await it_.req('PUT', '/api/v1/agreement', { text, reason: 'try' });
    expect(refused.status).toBe(403);
    const res = await admin.req('PUT', '/api/v1/agreement', {
      text,
      reason: 'governors approved new wording',
    });
    expect(res.status).toBe(200);
    const normalised = text.replace(/\r\n/g, '\n');
    expect(res.json.agreement).toMatchObject({
      seq: 2,
      version: `${new Date().getUTCFullYear()}-2`,
      text: normalised,
      sha256: sha256Text(normalised),
      author: 'agr-admin',
    });
    published = await current();
    expect(published.version).toBe(res.json.agreement.version);
    expect(published.text).toBe(normalised);
    const versions = (await dsl.req('GET', '/api/v1/agreement/versions')).json.versions;
    expect(versions.map((v: { version: string }) => v.version)).toEqual([
      AGREEMENT_VERSION,
      published.version,
    ]);
    expect(versions[0].sha256).toBe(AGREEMENT_SHA256);
    const control = await admin.req('PUT', '/api/v1/agreement', { text: 'ok\u0000hidden', reason: 'x' });
    expect(control).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_INPUT' } } });
    const blank = await admin.req('PUT', '/api/v1/agreement', { text: ' \n\t', reason: 'x' });
    expect(blank).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_INVALID_INPUT' } } });
    const again = await admin.req('PUT', '/api/v1/agreement', { text: normalised, reason: 'same' });
    expect(again).toMatchObject({ status: 409, json: { error: { code: 'CUST_ERR_CONFLICT' } } });
    const audit = await h.api('GET', '/api/v1/audit?action=agreement.published');
    expect(audit.json.records).toHaveLength(1);
    expect(audit.json.records[0]).toMatchObject({
      actor: 'agr-admin',
      target: `agreement:${published.version}`,
      details: { sha256: published.sha256, reason: 'governors approved new wording' },
    });
  });

  it('enrolment accepts only the current version; devices on the old one show "agreement outdated"', async () => {
    const old = await enrolByod('Late Starter', { version: AGREEMENT_VERSION, sha256: AGREEMENT_SHA256 });
    expect(old).toMatchObject({ status: 400, json: { error: { code: 'CUST_ERR_AGREEMENT_NOT_ACCEPTED' } } });
    expect(old.json.error.message).toContain(published.version);
    const fresh = await enrolByod('Nia New', published);
    expect(fresh.status).toBe(200);
    const devices = (await it_.req('GET', '/api/v1/devices')).json.devices as {
      id: string;
      agreementOutdated?: boolean;
    }[];
    expect(devices.find((d) => d.id === firstDevice)?.agreementOutdated).toBe(true);
    expect(devices.find((d) => d.id === fresh.json.deviceId)?.agreementOutdated).toBe(false);
    const stored = await h.app.store.devices.get(fresh.json.deviceId);
    expect(stored?.byod).toMatchObject({
      agreementVersion: published.version,
      agreementSha256: published.sha256,
    });
  });

  it('keeps every acceptance, exported as JSON and CSV by admin and DSL (audited), not by IT or governors', async () => {
    for (const who of [admin, dsl]) {
      const json = await who.req('GET', '/api/v1/agreement/acceptances?format=json');
      expect(json.status).toBe(200);
      expect(json.headers.get('content-disposition')).toContain('agreement-acceptances.json');
      const rows = JSON.parse(json.text).acceptances;
      expect(rows.map((r: { userName: string }) => r.userName)).toEqual(['Sam Sixthform', 'Nia New']);
      expect(rows[0]).toMatchObject({
        agreementVersion: AGREEMENT_VERSION,
        agreementSha256: AGREEMENT_SHA256,
      });
      expect(rows[1]).toMatchObject({
        agreementVersion: published.version,
        agreementSha256: published.sha256,
        source: 'enrolment',
      });
      const csv = await who.req('GET', '/api/v1/agreement/acceptances?format=csv');
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const lines = csv.text.trimEnd().split('\r\n');
      expect(lines[0]).toBe('acceptedAt,userName,agreementVersion,agreementSha256,deviceId,hostname,source');
      expect(lines).toHaveLength(3);
      expect(lines[2]).toContain(`Nia New,${published.version},${published.sha256}`);
    }
    for (const who of [it_, governor])
      expect((await who.req('GET', '/api/v1/agreement/acceptances')).status).toBe(403);
    const audit = await h.api('GET', '/api/v1/audit?action=agreement.acceptances.exported');
    expect(audit.json.records.map((r: { actor: string }) => r.actor).sort()).toEqual([
      'agr-admin',
      'agr-admin',
      'agr-dsl',
      'agr-dsl',
    ]);
  });

  it('refuses the text of a different version sent with the current version name', async () => {
    const forged = await enrolByod('Forger', { version: published.version, sha256: AGREEMENT_SHA256 });
    expect(forged.json.error.code).toBe('CUST_ERR_AGREEMENT_NOT_ACCEPTED');
  });
});

describe('migration from the built-in agreement', () => {
  it('stores the built-in text as version 1 and copies acceptances recorded on BYOD devices', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custodian-agreement-'));
    const store = await openLevelStore(dir, randomBytes(32));
    try {
      const byod = await seedDevice(store, {
        kind: 'byod',
        hostname: 'old-laptop',
        byod: {
          userName: 'Enrolled Before',
          agreementVersion: AGREEMENT_VERSION,
          agreementSha256: AGREEMENT_SHA256,
          acceptedAt: 1_700_000_000_000,
          codeHash: 'c'.repeat(64),
        },
      });
      await seedDevice(store);
      const agreements = new Agreements({ store, now: Date.now, audit: async () => ({}) as never });
      await agreements.init();
      await agreements.init(); // a second start changes nothing
      expect((await agreements.versions()).map((v) => [v.version, v.sha256])).toEqual([
        [AGREEMENT_VERSION, AGREEMENT_SHA256],
      ]);
      expect(await agreements.acceptances()).toEqual([
        {
          acceptedAt: 1_700_000_000_000,
          userName: 'Enrolled Before',
          agreementVersion: AGREEMENT_VERSION,
          agreementSha256: AGREEMENT_SHA256,
          deviceId: byod.id,
          hostname: 'old-laptop',
          source: 'device-record',
        },
      ]);
      expect(await store.kv(AGREEMENT_ACCEPTANCES_NS).list()).toHaveLength(1);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('CSV cells that a spreadsheet would run as formulas are defused', () => {
    const csv = acceptancesCsv([
      {
        acceptedAt: 0,
        userName: '=HYPERLINK("http://x","y")',
        agreementVersion: '2026-1',
        agreementSha256: 'a',
        deviceId: 'd_1',
        hostname: 'h,1',
        source: 'enrolment',
      },
    ]);
    expect(csv.split('\r\n')[1]).toBe(
      `1970-01-01T00:00:00.000Z,"'=HYPERLINK(""http://x"",""y"")",2026-1,a,d_1,"h,1",enrolment`,
    );
  });
});
