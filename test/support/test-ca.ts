// Certificates for TLS tests, made with openssl in a temp dir: CAs, leaves signed by them for
// given names, and self-signed leaves. Short-lived (2 days), P-256 keys (fast to make).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  ca(name: string): Promise<CertFiles>;
  /** A server certificate for `names` (DNS names or IPs), signed by `ca`, or self-signed without one. */
  leaf(name: string, names: string[], ca?: CertFiles): Promise<CertFiles>;
  cleanup(): Promise<void>;
}

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`openssl ${args[0]}: ${err.message}\n${stderr}`)) : resolve(),
    );
  });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'custodian-pki-'));
  const san = (names: string[]) =>
    `subjectAltName=${names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}`;
  return {
    dir,
    async ca(name) {
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}.key`);
      await openssl(
        [
          'req',
          '-x509',
          ...KEY,
          '-keyout',
          key,
          '-out',
          cert,
          '-days',
          '2',
          '-subj',
          `/CN=Custodian ${name}`,
          '-addext',
          'basicConstraints=critical,CA:TRUE',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
        ],
        dir,
      );
      return { cert, key };
    },
    async leaf(name, names, ca) {
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}.key`);
      if (!ca) {
        await openssl(
          [
            'req',
            '-x509',
            ...KEY,
            '-keyout',
            key,
            '-out',
            cert,
            '-days',
            '2',
            '-subj',
            `/CN=${names[0]}`,
          ].concat(['-addext', san(names)]),
          dir,
        );
        return { cert, key };
      }
      const csr = join(dir, `${name}.csr`);
      const ext = join(dir, `${name}.ext`);
      await writeFile(ext, `${san(names)}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
      await openssl(['req', '-new', ...KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${names[0]}`], dir);
      await openssl(
        [
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          ca.cert,
          '-CAkey',
          ca.key,
          '-CAcreateserial',
          '-out',
          cert,
        ].concat(['-days', '2', '-extfile', ext]),
        dir,
      );
      return { cert, key };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
