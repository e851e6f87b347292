import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extensionId, manifestKey } from '@custodian/browser-extension';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBrowserFiles } from '../../src/native-host/browser-files.ts';
import { hostLauncher } from '../../src/native-host/deploy.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const ID = 'abcdefghijklmnopabcdefghijklmnop';

describe('browser deployment files', () => {
  it('system layout: one launcher, host manifests for Chromium, Chrome and Edge, and their policies', async () => {
    const root = await mkdtemp(join(tmpdir(), 'custodian-bf-'));
    dirs.push(root);
    const r = await writeBrowserFiles({
      dataDir: join(root, 'data'),
      root,
      extensionId: ID,
      runDir: '/run/x',
    });
    expect(r.written.map((p) => p.slice(root.length)).sort()).toEqual(
      [
        '/usr/lib/custodian-agent/custodian-native-host',
        '/etc/chromium/native-messaging-hosts/uk.custodian.agent.json',
        '/etc/opt/chrome/native-messaging-hosts/uk.custodian.agent.json',
        '/etc/opt/edge/native-messaging-hosts/uk.custodian.agent.json',
      ].sort(),
    );
    const manifest = JSON.parse(
      await readFile(join(root, 'etc/chromium/native-messaging-hosts/uk.custodian.agent.json'), 'utf8'),
    );
    expect(manifest).toEqual({
      name: 'uk.custodian.agent',
      description: expect.any(String),
      path: '/usr/lib/custodian-agent/custodian-native-host',
      type: 'stdio',
      allowed_origins: [`chrome-extension://${ID}/`],
    });
    expect((await stat(join(root, 'usr/lib/custodian-agent/custodian-native-host'))).mode & 0o777).toBe(
      0o755,
    );
  });

  it('the id follows from the key (the e2e tests prove Chromium agrees)', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const id = extensionId(manifestKey(pem));
    expect(id).toMatch(/^[a-p]{32}$/);
    expect(extensionId(manifestKey(pem))).toBe(id);
  });

  it('win32: a .reg registering the host for Chrome and Edge and force-installing the extension', async () => {
    const out = await mkdtemp(join(tmpdir(), 'custodian-bf-'));
    dirs.push(out);
    await writeBrowserFiles({ dataDir: out, out, target: 'win32', extensionId: ID });
    const reg = await readFile(join(out, 'custodian-browser.reg'), 'utf8');
    expect(reg).toContain(
      '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Google\\Chrome\\NativeMessagingHosts\\uk.custodian.agent]\r\n@="C:\\\\Program Files\\\\Custodian\\\\uk.custodian.agent.json"',
    );
    expect(reg).toContain(
      '[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Edge\\NativeMessagingHosts\\uk.custodian.agent]',
    );
    expect(reg).not.toContain('ExtensionInstallForcelist'); // no collector named: no policy
    await writeBrowserFiles({
      dataDir: out,
      out,
      target: 'win32',
      extensionId: ID,
      server: 'https://c.school.uk',
    });
    expect(await readFile(join(out, 'custodian-browser.reg'), 'utf8')).toContain(
      `[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Edge\\ExtensionInstallForcelist]\r\n"1"="${ID};https://c.school.uk/ext/updates.xml"`,
    );
  });

  it('the launcher quotes every path for sh', () => {
    const text = hostLauncher({
      nodePath: "/opt/it's/node",
      scriptPath: '/a b/agent.js',
      runDir: '/run/c',
      extensionId: ID,
    });
    expect(text).toContain(
      `exec '/opt/it'\\''s/node' '/a b/agent.js' 'native-host' '--run-dir' '/run/c' '--extension-id' '${ID}' "$@"`,
    );
  });
});
