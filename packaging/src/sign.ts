// Authenticode signing with osslsigncode (Windows exe and MSI), with the certificate and key the
// builder gives (PEM). Tests use a self-signed certificate; a school's or vendor's code-signing
// certificate goes here for real releases.
import { execFileSync } from 'node:child_process';
import { renameSync } from 'node:fs';

export interface SigningKey {
  cert: string;
  key: string;
}

export function signFile(file: string, k: SigningKey): void {
  const signed = `${file}.signed`;
  execFileSync(
    'osslsigncode',
    ['sign', '-certs', k.cert, '-key', k.key, '-h', 'sha256', '-n', 'Custodian', '-in', file, '-out', signed],
    { stdio: 'pipe' },
  );
  renameSync(signed, file);
}
