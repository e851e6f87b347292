// The built-in X11 client against scripted servers on a unix socket: a broken or hostile server
// can make a read fail, never make it read past what it sent. (Against a real Xvfb:
// idle-lock.x11.test.ts, session-linux.x11.test.ts, lock evidence in testdata/lock/.)
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSetup, XConnection } from '../../src/platform/x11-wire.ts';

let dir: string | undefined;
let server: Server | undefined;
afterEach(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A minimal successful setup reply: no vendor, no formats, one 800x600 screen with root 0x123. */
function setupReply(): Buffer {
  const extra = Buffer.alloc(72);
  extra.writeUInt8(1, 20); // one screen (offset 28 overall)
  extra.writeUInt32LE(0x123, 32); // root (offset 40)
  extra.writeUInt16LE(800, 52);
  extra.writeUInt16LE(600, 54);
  const head = Buffer.alloc(8);
  head.writeUInt8(1, 0);
  head.writeUInt16LE(11, 2);
  head.writeUInt16LE(extra.length / 4, 6);
  return Buffer.concat([head, extra]);
}

async function scripted(onRequest: (sock: Socket, first: boolean) => void): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), 'custodian-xwire-'));
  server = createServer((sock) => {
    let first = true;
    sock.on('data', () => {
      onRequest(sock, first);
      first = false;
    });
  });
  await new Promise<void>((r) => server!.listen(join(dir!, 'X7'), r));
  return dir;
}

describe('x11-wire', () => {
  it('parses the first screen of a setup reply and refuses a short one', () => {
    expect(parseSetup(setupReply())).toEqual({ root: 0x123, rootWidth: 800, rootHeight: 600 });
    expect(() => parseSetup(setupReply().subarray(0, 60))).toThrow(/without a screen/);
  });

  it('never connects to a display with a host part', async () => {
    await expect(XConnection.open('127.0.0.1:7', undefined)).rejects.toThrow(/only local :N/);
  });

  it('reports a refused connection with the server’s reason', async () => {
    const socketDir = await scripted((sock) => {
      const reason = Buffer.from('No protocol specified\n', 'latin1');
      const head = Buffer.alloc(8);
      head.writeUInt8(0, 0);
      head.writeUInt8(reason.length, 1);
      head.writeUInt16LE(Math.ceil(reason.length / 4), 6);
      sock.write(Buffer.concat([head, reason, Buffer.alloc(2)]));
    });
    await expect(XConnection.open(':7', undefined, { socketDir })).rejects.toThrow(
      /:7 refused the connection: No protocol specified/,
    );
  });

  it('a reply that claims more than it carries fails the read', async () => {
    const socketDir = await scripted((sock, first) => {
      if (first) return void sock.write(setupReply());
      const r = Buffer.alloc(32);
      r.writeUInt8(1, 0);
      r.writeUInt16LE(1000, 16); // 1000 children, none sent
      sock.write(r);
    });
    const x = await XConnection.open(':7', undefined, { socketDir });
    try {
      await expect(x.queryTree(x.setup.root)).rejects.toThrow(/short QueryTree reply/);
    } finally {
      x.close();
    }
  });

  it('reads a 32-bit property (the active window) and translates coordinates; a short one fails', async () => {
    const replies: Buffer[] = [];
    const prop = Buffer.alloc(36);
    prop.writeUInt8(1, 0);
    prop.writeUInt8(32, 1); // format 32
    prop.writeUInt32LE(1, 4); // one more word
    prop.writeUInt32LE(33, 8); // WINDOW
    prop.writeUInt32LE(1, 16); // one value
    prop.writeUInt32LE(0x1a00007, 32);
    const coords = Buffer.alloc(32);
    coords.writeUInt8(1, 0);
    coords.writeInt16LE(51, 12);
    coords.writeInt16LE(-70, 14);
    const short = Buffer.from(prop.subarray(0, 32));
    short.writeUInt32LE(0, 4); // no data words follow
    short.writeUInt32LE(4, 16); // yet four values claimed
    replies.push(prop, coords, short);
    // One reply per request, in order (each request is sent once the previous reply arrived).
    const socketDir = await scripted((sock, first) => {
      if (first) return void sock.write(setupReply());
      const next = replies.shift();
      if (next) sock.write(next);
    });
    const x = await XConnection.open(':7', undefined, { socketDir });
    try {
      expect(await x.property32(x.setup.root, 300, 33, 1)).toEqual([0x1a00007]);
      expect(await x.translate(0x1a00007, x.setup.root)).toEqual({ x: 51, y: -70 });
      await expect(x.property32(x.setup.root, 300, 33, 4)).rejects.toThrow(/short GetProperty reply/);
    } finally {
      x.close();
    }
  });

  it('a server that stops answering fails the read within the timeout', async () => {
    const socketDir = await scripted((sock, first) => {
      if (first) sock.write(setupReply());
    });
    const x = await XConnection.open(':7', undefined, { socketDir, timeoutMs: 300 });
    await expect(x.queryTree(x.setup.root)).rejects.toThrow(/no reply to request 15 within 300 ms/);
  });
});
