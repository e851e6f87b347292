// The collectorLan criterion's TCP probe against real sockets on 127.0.0.1.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { reachableOf, tcpAnswers } from '../../src/scope/reachability.ts';

describe('collectorLan reachability', () => {
  it('true when something accepts, false when refused or not an IP:port', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const open = `127.0.0.1:${port}`;
    expect(await tcpAnswers(open)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await tcpAnswers(open)).toBe(false);
    expect(await tcpAnswers('localhost:443')).toBe(false);
    const again = createServer((s) => s.destroy());
    await new Promise<void>((r) => again.listen(0, '127.0.0.1', r));
    const live = `127.0.0.1:${(again.address() as { port: number }).port}`;
    expect([...(await reachableOf([live, open, '', live]))]).toEqual([live]);
    await new Promise<void>((r) => again.close(() => r()));
  });
});
