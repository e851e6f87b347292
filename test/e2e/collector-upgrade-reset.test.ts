// A client that resets its connection (TCP RST) after the collector refused its WebSocket upgrade
// must not take the collector down. Node removes the HTTP server's socket error handler when it
// hands a socket to 'upgrade'; the refusals written straight to the socket (unknown path 404, cap
// on unauthenticated connections 503, shutting down 503) had none, so an ECONNRESET on such a
// socket was an unhandled 'error' event: the process exited. Found by the scale simulator
// (test/sim) through HAProxy, which resets connections its clients abandon; replayed here from
// outside as an attacker would: a raw TCP client, the upgrade request, read the refusal, RST.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';

let collector: CollectorProcess;

beforeAll(async () => {
  collector = await startCollector({
    env: { CUSTODIAN_LOG_LEVEL: 'warn', CUSTODIAN_MAX_UNAUTHENTICATED_WS: '1' },
  });
});
afterAll(async () => {
  await collector?.cleanup();
});

/** Sends an upgrade request to `path`, waits for the refusal's status line, then resets (RST). */
async function refusedThenReset(path: string): Promise<string> {
  const socket: Socket = connect(collector.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Protocol: custodian.v1\r\n\r\n',
  );
  const status = await Promise.race([
    new Promise<string>((resolve) =>
      socket.once('data', (d: Buffer) => resolve(d.toString().split('\r\n')[0] ?? '')),
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('no answer'), 5_000)),
  ]);
  socket.resetAndDestroy();
  return status;
}

async function healthy(): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 300));
  const res = await fetch(`${collector.url}/api/v1/health`).catch(() => undefined);
  return res?.status === 200;
}

describe('a refused WebSocket upgrade reset by the client', () => {
  it('unknown path (404): the collector stays up', async () => {
    for (let i = 0; i < 5; i++) {
      expect(await refusedThenReset('/ws/nope')).toContain('404');
      expect(await healthy()).toBe(true);
    }
    expect(collector.logs().join('\n')).not.toContain('ECONNRESET');
  });

  it('past the cap on unauthenticated connections (503): the collector stays up', async () => {
    // One upgrade that never says Hello holds the only unauthenticated slot.
    const holder = connect(collector.port, '127.0.0.1');
    holder.on('error', () => undefined);
    holder.write(
      'GET /ws/agent HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        'Sec-WebSocket-Protocol: custodian.v1\r\n\r\n',
    );
    // The holder's upgrade is answered 101; bounded so a dead collector fails here, not at the timeout.
    await Promise.race([
      new Promise((resolve) => holder.once('data', resolve)),
      new Promise((resolve) => setTimeout(resolve, 5_000)),
    ]);
    for (let i = 0; i < 5; i++) {
      expect(await refusedThenReset('/ws/agent')).toContain('503');
      expect(await healthy()).toBe(true);
    }
    holder.destroy();
  });
});
