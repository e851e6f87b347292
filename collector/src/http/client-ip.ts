// Who the client is, for throttling and the audit log. Behind a TLS-terminating reverse proxy
// every request comes from the proxy's address, so one throttled address would lock out all
// staff. `X-Forwarded-For` is believed only when the socket peer is a listed proxy: read from
// the right (the nearest hop), skipping listed proxies, the first other address is the client.
// From anyone else the header is ignored — a client can write any X-Forwarded-For it likes.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same peer. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function clientIp(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = normalizeIp(req.socket.remoteAddress ?? '');
  if (!trustedProxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => normalizeIp(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) return peer; // a malformed hop: trust nothing beyond the proxy itself
    if (!trustedProxies.has(hop)) return hop;
  }
  return peer;
}
