// Issue 11, items 4 and 11 (idle floor). Item 4 replayed as the attacker did it: an IT user signs in to the real collector and
// PUTs a policy whose USB allow-list reason carries a NUL and a udev RUN+= key. systemd-udevd
// ends a rules line at NUL, so this text once reached the agent's rule file as a root command.
// Now every policy string with a control character is refused at validation, naming the field.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { defaultConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { passwordOnly } from '../helpers/password-only.ts';

const ADMIN_TOKEN = 'policy-strings-admin-token-0123456789abcdef';
const PASSWORD = 'policy strings test password 1234';
let app: App;
let url: string;
let dir: string;
let session: { cookie: string; csrf: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'custodian-policy-strings-'));
  app = await createApp({
    config: {
      ...passwordOnly(defaultConfig(join(dir, 'data'))),
      port: 0,
      screenshotKeyFile: join(dir, 'screenshot.key'),
    },
    env: {
      CUSTODIAN_ADMIN_TOKEN: ADMIN_TOKEN,
      CUSTODIAN_ENROL_SECRET: 'policy-strings-enrol-secret-0123456789abcdef',
    },
    log: createLogger('silent'),
  });
  url = (await app.start()).url;
  const created = await fetch(`${url}/api/v1/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'it-tech', role: 'it', password: PASSWORD, mustChangePassword: false }),
  });
  expect(created.status).toBe(201);
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'it-tech', password: PASSWORD }),
  });
  expect(login.status).toBe(200);
  const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
  session = { cookie: (login.headers.getSetCookie()[0] as string).split(';')[0] as string, csrf };
}, 60_000);

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A plain HTTP request as the signed-in IT user, the raw JSON body written by hand. */
async function asIt(method: string, path: string, rawBody?: string) {
  const res = await fetch(url + path, {
    method,
    headers: {
      cookie: session.cookie,
      'x-csrf-token': session.csrf,
      ...(rawBody === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(rawBody === undefined ? {} : { body: rawBody }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads response fields directly
  return { status: res.status, json: (await res.json()) as any };
}

const ATTACK_REASON = 'school stick\\u0000RUN+=\\"/bin/sh -c \'id > /tmp/pwned\'\\"';
const attackBody = (field: 'reason' | 'approvedBy' | 'serial') =>
  `{"reason":"approve a stick","policy":{"usb":{"allow":[{"vendorId":"0781","productId":"5581",` +
  `"serial":${field === 'serial' ? `"${ATTACK_REASON}"` : '""'},` +
  `"approvedBy":${field === 'approvedBy' ? `"${ATTACK_REASON}"` : '"it-tech"'},` +
  `"reason":${field === 'reason' ? `"${ATTACK_REASON}"` : '"issued"'}}]}}}`;

describe('PUT /api/v1/policy with a control character in a string (issue 11 item 4)', () => {
  it('refuses the NUL + RUN+= allow-list reason with 400, naming the field; nothing is stored', async () => {
    const before = await asIt('GET', '/api/v1/policy');
    expect(before.status).toBe(200);
    // The JSON escape \u0000 arrives as a real NUL in the parsed string.
    expect(JSON.parse(attackBody('reason')).policy.usb.allow[0].reason).toContain('\u0000RUN+=');
    for (const field of ['reason', 'approvedBy', 'serial'] as const) {
      const res = await asIt('PUT', '/api/v1/policy', attackBody(field));
      expect(res.status, field).toBe(400);
      expect(res.json.error.code).toBe('CUST_ERR_INVALID_POLICY');
      expect(res.json.error.message).toContain(`usb.allow[0].${field} must not contain control characters`);
    }
    const after = await asIt('GET', '/api/v1/policy');
    expect(after.json.policy).toEqual(before.json.policy);
    const changes = await asIt('GET', '/api/v1/policy/changes?scope=default&limit=10');
    expect(changes.status).toBe(200);
    expect(JSON.stringify(changes.json)).not.toContain('RUN+=');
  });

  it('refuses a newline in the idle-lock exemption reason of a per-device policy too', async () => {
    const enrolled = await fetch(`${url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret: 'policy-strings-enrol-secret-0123456789abcdef',
        machineId: 'policy-strings-machine',
        hostname: 'lab-01',
        os: 'linux',
        serial: 'SN-1',
      }),
    });
    expect(enrolled.status).toBe(200);
    const { deviceId } = (await enrolled.json()) as { deviceId: string };
    const res = await asIt(
      'PUT',
      `/api/v1/devices/${deviceId}/policy`,
      '{"reason":"exempt","policy":{"idleLock":{"exemptionReason":"SEN\\nRUN+=\\"/bin/sh\\""}}}',
    );
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('CUST_ERR_INVALID_POLICY');
    expect(res.json.error.message).toContain(
      'idleLock.exemptionReason must not contain control characters (U+000A at position 3)',
    );
  });

  it('refuses an idle lock sooner than 60 s (idleLockSeconds: 1 locked pupils out), accepts 60', async () => {
    const low = await asIt(
      'PUT',
      '/api/v1/policy',
      '{"reason":"x","policy":{"idleLock":{"idleLockSeconds":1,"warningSeconds":0}}}',
    );
    expect(low.status).toBe(400);
    expect(low.json.error.message).toContain(
      'idleLock.idleLockSeconds must be a whole number from 60 to 86400',
    );
    const ok = await asIt(
      'PUT',
      '/api/v1/policy',
      '{"reason":"one minute","policy":{"idleLock":{"idleLockSeconds":60,"warningSeconds":30}}}',
    );
    expect(ok.status).toBe(200);
    expect(ok.json.policy.idleLock.idleLockSeconds).toBe(60);
  });

  it('an ordinary reason with accents and quotes is still accepted', async () => {
    const res = await asIt(
      'PUT',
      '/api/v1/policy',
      '{"reason":"approve","policy":{"usb":{"allow":[{"vendorId":"0781","productId":"5581","serial":"",' +
        '"approvedBy":"it-tech","reason":"Mme Lefèvre\'s \\"encrypted\\" stick"}]}}}',
    );
    expect(res.status).toBe(200);
    expect(res.json.policy.usb.allow[0].reason).toBe('Mme Lefèvre\'s "encrypted" stick');
  });
});
