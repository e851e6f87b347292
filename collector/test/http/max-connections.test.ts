// Issue 10 item 9: open sockets are capped (http.maxConnections). Past the cap a new connection
// is closed at once without an answer; once one closes, the collector answers again.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../helpers/harness.ts';

const CAP = 10;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (c) => {
      c.http.maxConnections = CAP;
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const open = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });

describe('connection cap', () => {
  it('closes connections past http.maxConnections at once, and serves again when one is freed', async () => {
    const port = Number(new URL(h.url).port);
    const held: Socket[] = [];
    for (let i = 0; i < CAP; i++) held.push(await open(port));
    const extra = await open(port);
    let answered = '';
    extra.on('data', (d) => {
      answered += d.toString();
    });
    const closed = new Promise<void>((resolve) => extra.once('close', () => resolve()));
    extra.write('GET /api/v1/health HTTP/1.1\r\nHost: collector\r\n\r\n');
    await closed;
    expect(answered).toBe('');
    held.pop()?.destroy();
    await expect
      .poll(async () => {
        try {
          return (await fetch(`${h.url}/api/v1/health`, { headers: { connection: 'close' } })).status;
        } catch {
          return 0;
        }
      })
      .toBe(200);
    for (const s of held) s.destroy();
  });
});
