// This deployment's browser extension, packed: the packing key is generated on first use (never
// committed, never leaves the collector: `<dataDir>/extension/key.pem`, 0600; back it up: a new key is a new
// extension id, and every device's policy and host manifest would have to change), the
// extension is built with its public key as the manifest `key` (so the id follows from it) and
// packed into a CRX3 by Chromium (`--pack-extension`; no CRX library needed). Repacked when the
// extension's version changes. Lazy: the first request for /ext/* does the work (~0.2 s measured here), so a
// collector that never serves the extension never spends it.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { access, chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildExtension, extensionVersion, manifestKey } from '@custodian/browser-extension';
import type { Logger } from '../log.ts';

export interface PackedExtension {
  id: string;
  version: string;
  crx: Buffer;
}

export interface ExtensionPackerOptions {
  dir: string;
  /** Chromium (or Chrome) binary used to pack. */
  chromium: string;
  log: Logger;
  timeoutMs?: number;
}

export function defaultExtensionDir(dataDir: string): string {
  return join(dataDir, 'extension');
}

export class ExtensionPacker {
  private readonly o: ExtensionPackerOptions;
  private packing: Promise<PackedExtension> | undefined;

  constructor(o: ExtensionPackerOptions) {
    this.o = o;
  }

  /** The packed extension; packs on first call (and again after a failure). */
  get(): Promise<PackedExtension> {
    this.packing ??= this.load().catch((err: unknown) => {
      this.packing = undefined;
      throw err;
    });
    return this.packing;
  }

  private async load(): Promise<PackedExtension> {
    const { dir } = this.o;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const keyFile = join(dir, 'key.pem');
    const pem = await readFile(keyFile, 'utf8').catch(async () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const text = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await writeFile(keyFile, text, { mode: 0o600, flag: 'wx' });
      this.o.log.info({ keyFile }, 'browser extension packing key generated');
      return text;
    });
    const version = await extensionVersion();
    const build = join(dir, 'build', 'custodian');
    const { id } = await buildExtension(build, manifestKey(pem));
    // Named by id too: a replaced key must never serve a .crx signed with the old one.
    const crxFile = join(dir, `custodian-${id}-${version}.crx`);
    const existing = await readFile(crxFile).catch(() => undefined);
    if (existing) return { id, version, crx: existing };
    await rm(`${build}.crx`, { force: true });
    await this.pack(build, keyFile);
    await access(`${build}.crx`);
    await rename(`${build}.crx`, crxFile);
    this.o.log.info({ id, version }, 'browser extension packed');
    return { id, version, crx: await readFile(crxFile) };
  }

  private pack(build: string, keyFile: string): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(
        this.o.chromium,
        ['--no-sandbox', '--headless', `--pack-extension=${build}`, `--pack-extension-key=${keyFile}`],
        { timeout: this.o.timeoutMs ?? 60_000, env: { ...process.env, HOME: this.o.dir } },
        (err, _stdout, stderr) => {
          if (err) reject(new Error(`packing the extension failed: ${err.message} ${stderr.slice(-500)}`));
          else resolve();
        },
      );
    });
  }
}
