// JSON over http(s) to the collector during enrolment. node:https rather than fetch: it takes
// the pinned CA (`ca`) and shows the verified chain, which trust on first use records.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import {
  type CollectorTrust,
  explainTlsFailure,
  tlsOptionsFor,
  trustFromVerifiedChain,
} from '../link/transport.ts';

export interface CollectorResponse {
  status: number;
  text: string;
  /** https only: the root of the chain Node verified (trust on first use). */
  verifiedRoot?: CollectorTrust;
}

export function collectorRequest(
  url: string,
  init: { method: 'GET' | 'POST'; body?: string; timeoutMs: number },
  trust: CollectorTrust | undefined,
): Promise<CollectorResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(init.body));
  }
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      const socket = res.socket as TLSSocket;
      const verifiedRoot = secure ? trustFromVerifiedChain(socket.getPeerCertificate?.(true)) : undefined;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          ...(verifiedRoot ? { verifiedRoot } : {}),
        }),
      );
    };
    const options = { method: init.method, headers, timeout: init.timeoutMs, agent: false as const };
    const req = secure
      ? httpsRequest(u, { ...options, ...tlsOptionsFor(trust) }, onResponse)
      : httpRequest(u, options, onResponse);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${init.timeoutMs} ms`)));
    req.on('error', (err) => {
      const tls = explainTlsFailure(err, trust);
      reject(
        tls
          ? new CustodianError(ErrorCode.TLS_UNTRUSTED, `cannot enrol with ${u.origin}: ${tls}`, {
              cause: err,
            })
          : new CustodianError(
              ErrorCode.UNAVAILABLE,
              `cannot reach the collector at ${url}: ${err.message}`,
              {
                cause: err,
              },
            ),
      );
    });
    req.end(init.body);
  });
}
