// `pnpm package`: builds dist/release/ (see packaging/README.md). Typecheck runs first (the
// package script), since the bundler does not typecheck.
//   CUSTODIAN_PACKAGE_COMPRESSION=xz   smaller .debs for a release (slow; CI uses gzip)
//   CUSTODIAN_SIGN_CERT / CUSTODIAN_SIGN_KEY   PEM certificate and key for the Windows exe and MSI
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRelease, ROOT } from './build.ts';

const compression = process.env['CUSTODIAN_PACKAGE_COMPRESSION'] === 'xz' ? 'xz' : 'gzip';
const cert = process.env['CUSTODIAN_SIGN_CERT'];
const key = process.env['CUSTODIAN_SIGN_KEY'];
const work = mkdtempSync(join(tmpdir(), 'custodian-package-'));
const started = Date.now();
try {
  await buildRelease({
    releaseDir: join(ROOT, 'dist', 'release'),
    work,
    compression,
    ...(cert && key ? { sign: { cert, key } } : {}),
    log: (l) => console.log(l),
  });
  if (!(cert && key))
    console.log('Windows exe and MSI are NOT signed (set CUSTODIAN_SIGN_CERT and CUSTODIAN_SIGN_KEY)');
  console.log(`dist/release/ ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
