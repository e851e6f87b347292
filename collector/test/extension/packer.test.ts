// This deployment's extension packed by real Chromium: the key is generated once (0600) and kept,
// the .crx is CRX3 and reused, and a replaced key gives a new id and a new .crx (never the old one).
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extensionId, manifestKey } from '@custodian/browser-extension';
import { afterAll, describe, expect, it } from 'vitest';
import { allInstalled } from '../../../test/support/tools.ts';
import { ExtensionPacker } from '../../src/extension/packer.ts';
import { createLogger } from '../../src/log.ts';

const CHROMIUM = process.env['CUSTODIAN_CHROMIUM'] ?? '/usr/bin/chromium';
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.skipIf(!allInstalled(['chromium']))('extension packer', () => {
  it('generates the key once, packs a CRX3 for its id, and repacks for a new key', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'custodian-pack-')), 'extension');
    dirs.push(join(dir, '..'));
    const log = createLogger('silent');
    const first = await new ExtensionPacker({ dir, chromium: CHROMIUM, log }).get();
    const pem = await readFile(join(dir, 'key.pem'), 'utf8');
    expect((await stat(join(dir, 'key.pem'))).mode & 0o777).toBe(0o600);
    expect(first.id).toBe(extensionId(manifestKey(pem)));
    expect(first.crx.subarray(0, 4).toString('latin1')).toBe('Cr24');
    expect(first.crx.readUInt32LE(4)).toBe(3);

    // A later start: same key, same id, the same .crx bytes (not packed again).
    const again = await new ExtensionPacker({ dir, chromium: CHROMIUM, log }).get();
    expect(await readFile(join(dir, 'key.pem'), 'utf8')).toBe(pem);
    expect(again.id).toBe(first.id);
    expect(again.crx.equals(first.crx)).toBe(true);

    // The key replaced (lost and regenerated): a new id and a .crx signed for it.
    await rm(join(dir, 'key.pem'));
    const replaced = await new ExtensionPacker({ dir, chromium: CHROMIUM, log }).get();
    expect(replaced.id).not.toBe(first.id);
    expect(replaced.crx.equals(first.crx)).toBe(false);
  });

  it('without Chromium it fails with the reason, and tries again on the next request', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'custodian-pack-')), 'extension');
    dirs.push(join(dir, '..'));
    const packer = new ExtensionPacker({
      dir,
      chromium: '/nonexistent/chromium',
      log: createLogger('silent'),
    });
    await expect(packer.get()).rejects.toThrow(/packing the extension failed/);
    await expect(packer.get()).rejects.toThrow(/packing the extension failed/);
  });
});
