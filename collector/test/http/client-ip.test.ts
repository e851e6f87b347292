import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp } from '../../src/http/client-ip.ts';

const req = (peer: string, xff?: string) =>
  ({
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  }) as unknown as IncomingMessage;

describe('clientIp', () => {
  const proxies = new Set(['10.0.0.1', '10.0.0.2']);

  it('ignores X-Forwarded-For from a peer that is not a listed proxy', () => {
    expect(clientIp(req('192.0.2.7', '203.0.113.9'), proxies)).toBe('192.0.2.7');
    expect(clientIp(req('::ffff:192.0.2.7', '203.0.113.9'), new Set())).toBe('192.0.2.7');
  });

  it('takes the nearest address that is not a listed proxy, reading from the right', () => {
    expect(clientIp(req('10.0.0.1', '203.0.113.9'), proxies)).toBe('203.0.113.9');
    // A client-written hop on the left is not believed; two chained proxies are skipped.
    expect(clientIp(req('10.0.0.1', '198.51.100.1, 203.0.113.9, 10.0.0.2'), proxies)).toBe('203.0.113.9');
  });

  it('falls back to the proxy itself for a missing or malformed header', () => {
    expect(clientIp(req('10.0.0.1'), proxies)).toBe('10.0.0.1');
    expect(clientIp(req('10.0.0.1', 'not-an-ip'), proxies)).toBe('10.0.0.1');
    expect(clientIp(req('10.0.0.1', '10.0.0.2'), proxies)).toBe('10.0.0.1');
  });
});
