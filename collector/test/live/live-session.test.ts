// The device feed (/api/v1/live) as staff see it through their session cookie: it carries no
// alert items (the DSL's alert feed does), and it ends once the session behind it is gone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app.ts';
import { defaultConfig } from '../../src/config.ts';
import { LIVE_RECHECK_MS } from '../../src/live/routes.ts';
import { createLogger } from '../../src/log.ts';
import { createStaffClient } from '../auth/harness.ts';
import { passwordOnly } from '../helpers/password-only.ts';

let app: App;
let url: string;
let root: string;
const adminToken = 'live-session-admin-token-0123456789';

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'custodian-live-session-'));
  const config = {
    ...passwordOnly(defaultConfig(join(root, 'data'))),
    port: 0,
    screenshotKeyFile: join(root, 'key'),
  };
  app = await createApp({ config, log: createLogger('silent'), env: { CUSTODIAN_ADMIN_TOKEN: adminToken } });
  url = (await app.start()).url;
});

afterAll(async () => {
  await app?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function signIn(username: string, role: string): Promise<{ cookie: string; csrf: string }> {
  const c = await createStaffClient(url, adminToken, username, role);
  return { cookie: c.cookie as string, csrf: c.csrf as string };
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp): Promise<string> {
  let buf = '';
  for (;;) {
    if (pattern.test(buf)) return buf;
    const { value, done } = await reader.read();
    if (done) return `${buf}\n<closed>`;
    buf += Buffer.from(value).toString('utf8');
  }
}

describe('device feed over a staff session', () => {
  it('sends a DSL no alert items there (the alert feed carries them)', async () => {
    const dsl = await signIn('dsl.devicefeed', 'dsl');
    const res = await fetch(`${url}/api/v1/live`, { headers: { cookie: dsl.cookie } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await readUntil(reader, /event: snapshot\n/);
    app.live.emit('alert', { id: 'a1', deviceId: 'd1', term: 'kms' } as never);
    app.live.emit('status', { deviceId: 'marker', connected: false, usbVolumes: [] });
    const seen = await readUntil(reader, /"deviceId":"marker"/);
    expect(seen).not.toContain('event: alert');
    expect(seen).not.toContain('kms');
    await reader.cancel();
  });

  it(
    'ends the feed once the session is gone (logout)',
    async () => {
      const it = await signIn('it.devicefeed', 'it');
      const res = await fetch(`${url}/api/v1/live`, { headers: { cookie: it.cookie } });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await readUntil(reader, /event: snapshot\n/);
      const out = await fetch(`${url}/api/v1/auth/logout`, {
        method: 'POST',
        headers: { cookie: it.cookie, 'x-csrf-token': it.csrf },
      });
      expect(out.status).toBe(200);
      const end = await readUntil(reader, /event: end\ndata: .*\n\n/);
      expect(end).toContain('session ended');
      expect(await readUntil(reader, /never/)).toContain('<closed>');
    },
    LIVE_RECHECK_MS * 4,
  );
});
