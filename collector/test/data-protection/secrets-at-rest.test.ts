// Secrets kept by the collector's modules are sealed with the at-rest key, like incidents: a copy
// of the data dir alone gives away no TOTP secret, OIDC client secret, SMTP password or webhook
// secret. Real LevelDB in a temp dir; the write-ahead log is read as bytes (it is not compressed,
// so a plaintext value written there would be found).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLevelStore } from '../../src/store/index.ts';
import { K, toJsonBytes } from '../../src/store/keys.ts';
import { kvNeedsSealing } from '../../src/store/records.ts';
import { sealPlainRecords } from '../../src/store/seal-migration.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const bytes = await readFile(join(dir, name)).catch(() => undefined);
    if (bytes?.includes(Buffer.from(needle))) hits.push(name);
  }
  return hits;
}

describe('secrets at rest', () => {
  it('staff accounts, sign-in and notification settings and updated incidents leave no plaintext in the data dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custodian-secrets-'));
    dirs.push(dir);
    const key = randomBytes(32);
    const store = await openLevelStore(dir, key);
    await store.kv('users').put('u1', { username: 'dsl1', mfa: { secret: 'TOTPSECRETJBSWY3DPEHPK3PXP' } });
    await store
      .kv('sign-in-settings')
      .put('current', { providers: [{ clientSecret: 'oidc-client-secret-7Qz' }] });
    await store.kv('notify-settings').put('settings', {
      smtp: { password: 'smtp-password-Wk2' },
      webhooks: [{ secret: 'webhook-secret-Jh8' }],
    });
    await store.kv('incidents').put('i1', { title: 'incident-created-Fq1' });
    // The read-modify-write path writes sealed too (it wrote plain JSON before this test).
    await store
      .kv<{ title: string }>('incidents')
      .update('i1', (cur) => ({ ...cur, title: 'incident-updated-Lp4' }));
    await store.kv('sessions').put('s1', { control: 'plain-control-Zr5' });
    await store.close();

    // The control string proves the search reads what was written.
    expect(await filesContaining(dir, 'plain-control-Zr5')).not.toEqual([]);
    for (const secret of [
      'TOTPSECRETJBSWY3DPEHPK3PXP',
      'oidc-client-secret-7Qz',
      'smtp-password-Wk2',
      'webhook-secret-Jh8',
      'incident-created-Fq1',
      'incident-updated-Lp4',
    ])
      expect(await filesContaining(dir, secret), secret).toEqual([]);

    const again = await openLevelStore(dir, key);
    try {
      expect(await again.kv('users').get('u1')).toEqual({
        username: 'dsl1',
        mfa: { secret: 'TOTPSECRETJBSWY3DPEHPK3PXP' },
      });
      expect(await again.kv('incidents').get('i1')).toEqual({ title: 'incident-updated-Lp4' });
      expect((await again.kv('notify-settings').list()).map((e) => e.key)).toEqual(['settings']);
    } finally {
      await again.close();
    }
  });

  it('a staff account written plain by an older collector is sealed at the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custodian-secrets-'));
    dirs.push(dir);
    const key = randomBytes(32);
    const store = await openLevelStore(dir, key);
    try {
      const k = K.kv('users', 'old');
      const plain = toJsonBytes({ username: 'admin', mfa: { secret: 'OLDPLAINSECRET' } });
      // As the version-1 migration left it: marker set, the account plain.
      await store.engine.batch(
        [
          { type: 'put', key: k, value: plain },
          { type: 'put', key: 'cfg!at-rest', value: toJsonBytes({ version: 1 }) },
        ],
        { sync: true },
      );
      expect(kvNeedsSealing('users', plain)).toBe(true);
      const result = await sealPlainRecords(store);
      expect(result.kvValues).toBe(1);
      const stored = await store.engine.get(k);
      expect(stored && kvNeedsSealing('users', stored)).toBe(false);
      expect(await store.kv('users').get('old')).toEqual({
        username: 'admin',
        mfa: { secret: 'OLDPLAINSECRET' },
      });
    } finally {
      await store.close();
    }
  });
});
