// How the agent reaches its collector safely (issue 11 §7). Enrolment hands over the device key
// and later connections carry policy that becomes root actions, so:
// - plain http is refused unless the collector is on this machine (loopback) or the operator
//   says `--insecure`, which is then recorded on the device and reported to the collector;
// - the CA that vouched for the collector at enrolment is pinned (trust on first use), or the
//   one given with `--ca FILE`; every later connection trusts that CA only (not the system
//   store), with Node's normal verification: chain, validity dates, host name.
// Nothing here (or anywhere in the agent) turns verification off; test/e2e/agent-tls.test.ts
// greps for the ways it could be.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import type { CapabilityStatus } from '../core/contracts.ts';

/** The trust anchor recorded at enrolment. */
export interface CollectorTrust {
  /** PEM of the pinned CA certificate(s). */
  caPem: string;
  /** `ca-file`: given with --ca; `first-use`: the root that verified the collector at enrolment. */
  source: 'ca-file' | 'first-use';
  /** SHA-256 fingerprint of the (first) pinned certificate, for people comparing by eye. */
  fingerprint256: string;
  subject: string;
}

export type TransportKind = 'https' | 'loopback-http' | 'insecure-http';

/** 127.0.0.0/8, ::1 (and ::ffff:127.x), `localhost` and names under `.localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && mapped[1]!.startsWith('127.');
  }
  return false;
}

/** Decides whether a collector URL may be used; throws INSECURE_TRANSPORT when it may not. */
export function classifyServerUrl(url: URL, insecure: boolean): TransportKind {
  if (url.protocol === 'https:' || url.protocol === 'wss:') return 'https';
  if (url.protocol !== 'http:' && url.protocol !== 'ws:')
    throw new CustodianError(ErrorCode.INVALID_INPUT, `--server must be an https URL (got ${url.protocol})`);
  if (isLoopbackHost(url.hostname)) return 'loopback-http';
  if (insecure) return 'insecure-http';
  throw new CustodianError(
    ErrorCode.INSECURE_TRANSPORT,
    `refusing plain http to ${url.host}: the enrol secret and this device's key would cross the ` +
      'network unencrypted. Use https:// (with --ca FILE for a private CA), or pass --insecure for ' +
      'a test network (recorded on the device and shown in the console)',
  );
}

/** Reads and checks a --ca file: one or more PEM certificates. */
export function trustFromCaPem(pem: string, what: string): CollectorTrust {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    throw new CustodianError(ErrorCode.INVALID_INPUT, `${what} holds no PEM certificate`);
  const certs = blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new CustodianError(ErrorCode.INVALID_INPUT, `${what}: not a valid certificate`, { cause: err });
    }
  });
  return {
    caPem: certs.map((c) => c.toString()).join(''),
    source: 'ca-file',
    fingerprint256: certs[0]!.fingerprint256,
    subject: certs[0]!.subject,
  };
}

/**
 * Trust on first use: the top of the chain Node verified for this connection (the root from the
 * system store, or from NODE_EXTRA_CA_CERTS). Undefined when the chain has no self-issued top.
 */
export function trustFromVerifiedChain(peer: PeerCertificate | undefined): CollectorTrust | undefined {
  let cert = peer as (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined;
  const seen = new Set<string>();
  while (cert?.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    const issuer = cert.issuerCertificate as
      | (PeerCertificate & { issuerCertificate?: PeerCertificate })
      | undefined;
    if (!issuer?.raw || issuer.fingerprint256 === cert.fingerprint256) break;
    cert = issuer;
  }
  if (!cert?.raw) return undefined;
  const x = new X509Certificate(cert.raw);
  return { caPem: x.toString(), source: 'first-use', fingerprint256: x.fingerprint256, subject: x.subject };
}

const TLS_REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the collector presented a self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'the collector certificate chains to a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the collector certificate is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the collector certificate is not signed by a trusted CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the collector certificate is not signed by a trusted CA',
  CERT_SIGNATURE_FAILURE: 'the collector certificate signature does not verify',
  CERT_HAS_EXPIRED: 'the collector certificate has expired',
  CERT_NOT_YET_VALID: 'the collector certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the collector certificate is for another host name',
  CERT_REVOKED: 'the collector certificate is revoked',
};

/**
 * A TLS verification failure in words, naming what the agent trusted; undefined for errors that
 * are not about the certificate (refused, reset, timeout).
 */
export function explainTlsFailure(err: unknown, trust: CollectorTrust | undefined): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  const reason = TLS_REASONS[code];
  if (reason === undefined) return undefined;
  const anchor = trust
    ? `the CA pinned at enrolment (${trust.source === 'ca-file' ? '--ca' : 'first use'}: ${oneLine(trust.subject)}, SHA-256 ${trust.fingerprint256})`
    : "this machine's trusted CAs";
  return `TLS refused: ${reason}; trusted: ${anchor} [${code}: ${(err as Error).message}]`;
}

function oneLine(subject: string): string {
  return subject.replace(/\n/g, ', ');
}

/** TLS options for every connection after enrolment: the pinned CA only. */
export function tlsOptionsFor(trust: CollectorTrust | undefined): { ca?: string } {
  return trust ? { ca: trust.caPem } : {};
}

/**
 * What the collector shows about this device's transport (a capability with a reason): an
 * `--insecure` enrolment stays visible in the console for as long as it lasts.
 */
export function transportCapability(serverUrl: string, trust: CollectorTrust | undefined): CapabilityStatus {
  const url = new URL(serverUrl);
  const plain = url.protocol === 'http:' || url.protocol === 'ws:';
  if (plain && !isLoopbackHost(url.hostname))
    return {
      name: 'secure_transport',
      available: false,
      reason: `plain http to ${url.host} (enrolled with --insecure, or before https was required): device key and policy cross the network unencrypted`,
    };
  if (plain)
    return { name: 'secure_transport', available: true, reason: 'collector on this machine (loopback)' };
  return {
    name: 'secure_transport',
    available: true,
    reason: trust
      ? `https, CA pinned at enrolment (${trust.source})`
      : 'https, system CAs (enrolled before pinning; re-enrol to pin)',
  };
}
