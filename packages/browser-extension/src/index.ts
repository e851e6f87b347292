// The Custodian browser extension (extension/: Manifest V3, plain JavaScript, no build step) and
// the pure helpers both sides need: the agent (host manifest's allowed_origins) and the collector
// (packing, update manifest). The packing key is a per-deployment secret and never lives here:
// each deployment generates its own (collector/src/extension/) and the id follows from it.
import { createHash, createPublicKey } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The unpacked extension, without a `key` (buildExtension adds the deployment's). */
export const EXTENSION_SOURCE_DIR = fileURLToPath(new URL('../extension/', import.meta.url));

/** The native-messaging host name the extension connects to. */
export const HOST_NAME = 'uk.custodian.agent';

/** The manifest `key` (base64 DER SubjectPublicKeyInfo) of a PEM public or private key. */
export function manifestKey(pem: string): string {
  return createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** Chrome's id: the first 128 bits of SHA-256(DER public key), hex digits 0-f written a-p. */
export function extensionId(manifestKeyBase64: string): string {
  const hex = createHash('sha256')
    .update(Buffer.from(manifestKeyBase64, 'base64'))
    .digest('hex')
    .slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + Number.parseInt(c, 16))).join('');
}

/** Managed policy (Chromium/Chrome/Edge on Linux; the same key in GPO, Intune and Google Admin). */
export function forceInstallPolicy(id: string, updateUrl: string): string {
  return `${JSON.stringify({ ExtensionInstallForcelist: [`${id};${updateUrl}`] }, null, 2)}\n`;
}

/** The update manifest (gupdate) pointing at the packed .crx. */
export function updateManifest(id: string, crxUrl: string, version: string): string {
  const esc = (s: string) =>
    s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  return `<?xml version="1.0" encoding="UTF-8"?>
<gupdate xmlns="http://www.google.com/update2/response" protocol="2.0">
  <app appid="${esc(id)}">
    <updatecheck codebase="${esc(crxUrl)}" version="${esc(version)}" />
  </app>
</gupdate>
`;
}

/** The extension's version (manifest.json). */
export async function extensionVersion(): Promise<string> {
  const m = JSON.parse(await readFile(join(EXTENSION_SOURCE_DIR, 'manifest.json'), 'utf8')) as {
    version: string;
  };
  return m.version;
}

/** Copies the extension to `outDir` with the deployment's `key` in its manifest; returns the id. */
export async function buildExtension(outDir: string, key: string): Promise<{ id: string; version: string }> {
  await cp(EXTENSION_SOURCE_DIR, outDir, { recursive: true });
  const path = join(outDir, 'manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  manifest['key'] = key;
  await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return { id: extensionId(key), version: String(manifest['version']) };
}
