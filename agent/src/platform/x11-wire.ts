// A minimal X11 protocol client (core requests plus X-Resource), used where the agent needs an
// answer the pupil cannot forge: which PROCESS owns a window. `_NET_WM_PID` is a property any
// client sets on its own window to any number; X-Resource's QueryClientIds (XRes 1.2) is answered
// by the X server from the peer credentials of the client's local socket. No tool in x11-utils
// asks it (xrestop 0.4 in Debian reads _NET_WM_PID), hence this file.
//
// It runs in the agent process (one short connection per lock-state read, ~1 ms; a node child
// per read would cost far more). Replies are length-checked: a hostile or broken server can make
// a read fail, never read past a buffer. Requests are sent one at a time and each reply is
// awaited, so sequence numbers need no bookkeeping beyond "the next packet answers us".
// The keyboard helper also uses it (as the session's user) for XKB state: generic extension
// requests, and the events a connection selected handed to `onEvent` (xkb-state.x11.ts).
import { connect, type Socket } from 'node:net';
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { localDisplayNumber, type XauthEntry } from './x11-auth.ts';

/** Replies larger than this are refused (a WM_CLASS or child list is far smaller). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

export interface XSetupInfo {
  root: number;
  rootWidth: number;
  rootHeight: number;
}

export interface XWindowAttributes {
  /** 0 Unmapped, 1 Unviewable, 2 Viewable. */
  mapState: number;
  overrideRedirect: boolean;
}

export interface XGeometry {
  x: number;
  y: number;
  width: number;
  height: number;
  border: number;
}

export const MAP_STATE_VIEWABLE = 2;
const ATOM_WM_CLASS = 67;
const ATOM_STRING = 31;
export const ATOM_WINDOW = 33;
const XRES_CLIENT_ID_PID_MASK = 2;

function fail(message: string): CustodianError {
  return new CustodianError(ErrorCode.COMMAND_FAILED, `X11: ${message}`);
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export class XConnection {
  readonly setup: XSetupInfo;
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private eventHandler: ((event: Buffer) => void) | undefined;
  private closedError: Error | undefined;
  private readonly timeoutMs: number;
  private readonly extensions = new Map<string, number | undefined>();

  private constructor(socket: Socket, setup: XSetupInfo, timeoutMs: number, rest: Buffer) {
    this.socket = socket;
    this.setup = setup;
    this.timeoutMs = timeoutMs;
    this.buffer = rest;
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('error', () => undefined); // surfaced as 'close' below
    socket.on('close', () => {
      this.closedError = new Error('closed');
      this.waiter?.();
    });
  }

  private push(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    if (this.waiter) this.waiter();
    else this.drainEvents();
  }

  /** Hands complete events at the head of the buffer to the event handler (or drops them). */
  private drainEvents(): void {
    while (this.buffer.length >= 32 && this.buffer[0] !== 0 && this.buffer[0] !== 1) {
      const event = this.buffer.subarray(0, 32);
      this.buffer = this.buffer.subarray(32);
      this.eventHandler?.(event);
    }
  }

  /** Events the connection selected (32-byte packets), as they arrive; without a handler they are dropped. */
  onEvent(handler: (event: Buffer) => void): void {
    this.eventHandler = handler;
    this.drainEvents();
  }

  /**
   * Connects to local display `:N` through its unix socket (never TCP) and authenticates with
   * the MIT-MAGIC-COOKIE-1 in `cookie` (none: a server without access control).
   */
  static async open(
    display: string,
    cookie: XauthEntry | undefined,
    options: { socketDir?: string; timeoutMs?: number } = {},
  ): Promise<XConnection> {
    const n = localDisplayNumber(display);
    if (n === undefined) throw fail(`refusing display ${JSON.stringify(display)} (only local :N)`);
    const timeoutMs = options.timeoutMs ?? 2_000;
    const socket = connect({ path: `${options.socketDir ?? '/tmp/.X11-unix'}/X${n}` });
    let buffer: Buffer = Buffer.alloc(0);
    const setupReply = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(fail(`no answer from ${display} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(fail(`cannot connect to ${display}: ${err.message}`));
      };
      socket.once('error', onError);
      socket.on('data', function onData(d: Buffer) {
        buffer = Buffer.concat([buffer, d]);
        if (buffer.length < 8) return;
        const total = 8 + buffer.readUInt16LE(6) * 4;
        if (total > MAX_REPLY_BYTES) {
          clearTimeout(timer);
          socket.destroy();
          return reject(fail('connection setup reply too large'));
        }
        if (buffer.length < total) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        resolve(buffer);
      });
      socket.once('connect', () => {
        const name = Buffer.from(cookie ? cookie.name : '', 'latin1');
        const data = cookie ? cookie.data : Buffer.alloc(0);
        const head = Buffer.alloc(12);
        head.write('l', 0, 'latin1'); // little-endian
        head.writeUInt16LE(11, 2);
        head.writeUInt16LE(0, 4);
        head.writeUInt16LE(name.length, 6);
        head.writeUInt16LE(data.length, 8);
        socket.write(
          Buffer.concat([head, name, Buffer.alloc(pad4(name.length)), data, Buffer.alloc(pad4(data.length))]),
        );
      });
    });
    const total = 8 + setupReply.readUInt16LE(6) * 4;
    const reply = setupReply.subarray(0, total);
    if (reply[0] !== 1) {
      socket.destroy();
      const reasonLen = reply[1] ?? 0;
      const reason = reply.subarray(8, 8 + reasonLen).toString('latin1');
      throw fail(`${display} refused the connection: ${reason.replace(/[^\x20-\x7e]/g, '?').trim()}`);
    }
    const setup = parseSetup(reply);
    return new XConnection(socket, setup, timeoutMs, setupReply.subarray(total));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Sends one request and waits for its reply (or error). */
  private async request(opcode: number, data: number, body: Buffer): Promise<Buffer> {
    const padded = Buffer.concat([body, Buffer.alloc(pad4(body.length))]);
    const head = Buffer.alloc(4);
    head.writeUInt8(opcode, 0);
    head.writeUInt8(data, 1);
    head.writeUInt16LE((4 + padded.length) / 4, 2);
    this.socket.write(Buffer.concat([head, padded]));
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      // Events before the reply (selected ones, or e.g. MappingNotify) go to the handler.
      this.drainEvents();
      if (this.buffer.length >= 32) {
        if (this.buffer[0] === 0) {
          const code = this.buffer[1];
          this.buffer = this.buffer.subarray(32);
          throw fail(`request ${opcode} failed with X error ${code}`);
        }
        const total = 32 + this.buffer.readUInt32LE(4) * 4;
        if (total > MAX_REPLY_BYTES) {
          this.close();
          throw fail('reply too large');
        }
        if (this.buffer.length >= total) {
          const reply = this.buffer.subarray(0, total);
          this.buffer = this.buffer.subarray(total);
          return reply;
        }
      }
      if (this.closedError || this.socket.destroyed) throw fail('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) {
        this.close();
        throw fail(`no reply to request ${opcode} within ${this.timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Sends a request that has no reply (then a round trip to see an error, if any). */
  private async requestNoReply(opcode: number, data: number, body: Buffer): Promise<void> {
    const padded = Buffer.concat([body, Buffer.alloc(pad4(body.length))]);
    const head = Buffer.alloc(4);
    head.writeUInt8(opcode, 0);
    head.writeUInt8(data, 1);
    head.writeUInt16LE((4 + padded.length) / 4, 2);
    this.socket.write(Buffer.concat([head, padded]));
    await this.request(43, 0, Buffer.alloc(0)); // GetInputFocus: a cheap round trip
  }

  /** Children of a window, bottom to top in stacking order (QueryTree). */
  async queryTree(window: number): Promise<number[]> {
    const r = await this.request(15, 0, u32(window));
    const n = r.readUInt16LE(16);
    if (r.length < 32 + n * 4) throw fail('short QueryTree reply');
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(r.readUInt32LE(32 + i * 4));
    return out;
  }

  async windowAttributes(window: number): Promise<XWindowAttributes> {
    const r = await this.request(3, 0, u32(window));
    return { mapState: r[26] ?? 0, overrideRedirect: r[27] === 1 };
  }

  async geometry(window: number): Promise<XGeometry> {
    const r = await this.request(14, 0, u32(window));
    return {
      x: r.readInt16LE(12),
      y: r.readInt16LE(14),
      width: r.readUInt16LE(16),
      height: r.readUInt16LE(18),
      border: r.readUInt16LE(20),
    };
  }

  /** A property's bytes (8-bit format), at most maxBytes. */
  async property8(window: number, atom: number, type: number, maxBytes = 1024): Promise<Buffer | undefined> {
    const body = Buffer.alloc(20);
    body.writeUInt32LE(window, 0);
    body.writeUInt32LE(atom, 4);
    body.writeUInt32LE(type, 8);
    body.writeUInt32LE(0, 12);
    body.writeUInt32LE(Math.ceil(maxBytes / 4), 16);
    const r = await this.request(20, 0, body);
    const format = r[1];
    const len = r.readUInt32LE(16);
    if (format !== 8 || len === 0) return undefined;
    if (r.length < 32 + len) throw fail('short GetProperty reply');
    return Buffer.from(r.subarray(32, 32 + Math.min(len, maxBytes)));
  }

  /** A property's 32-bit values (WINDOW, CARDINAL, ATOM), at most maxValues; undefined when unset. */
  async property32(
    window: number,
    atom: number,
    type: number,
    maxValues = 16,
  ): Promise<number[] | undefined> {
    const body = Buffer.alloc(20);
    body.writeUInt32LE(window, 0);
    body.writeUInt32LE(atom, 4);
    body.writeUInt32LE(type, 8);
    body.writeUInt32LE(0, 12);
    body.writeUInt32LE(maxValues, 16);
    const r = await this.request(20, 0, body);
    const format = r[1];
    const len = Math.min(r.readUInt32LE(16), maxValues);
    if (format !== 32 || len === 0) return undefined;
    if (r.length < 32 + len * 4) throw fail('short GetProperty reply');
    const out: number[] = [];
    for (let i = 0; i < len; i++) out.push(r.readUInt32LE(32 + i * 4));
    return out;
  }

  /** Where (x, y) of `window` is in `to`'s coordinates (TranslateCoordinates). */
  async translate(window: number, to: number, x = 0, y = 0): Promise<{ x: number; y: number }> {
    const body = Buffer.alloc(12);
    body.writeUInt32LE(window, 0);
    body.writeUInt32LE(to, 4);
    body.writeInt16LE(x, 8);
    body.writeInt16LE(y, 10);
    const r = await this.request(40, 0, body);
    return { x: r.readInt16LE(12), y: r.readInt16LE(14) };
  }

  /** WM_CLASS as [instance, class]. */
  async wmClass(window: number): Promise<[string, string]> {
    const raw = await this.property8(window, ATOM_WM_CLASS, ATOM_STRING);
    const parts = (raw?.toString('latin1') ?? '').split('\0');
    return [parts[0] ?? '', parts[1] ?? ''];
  }

  async internAtom(name: string): Promise<number> {
    const n = Buffer.from(name, 'latin1');
    const head = Buffer.alloc(4);
    head.writeUInt16LE(n.length, 0);
    const r = await this.request(16, 0, Buffer.concat([head, n]));
    return r.readUInt32LE(8);
  }

  /**
   * ChangeProperty with 8-bit data (tests use it as a hostile client would): Replace, then
   * Append in chunks, so a value larger than a request may be (256 KiB) needs no BIG-REQUESTS.
   */
  async setProperty8(window: number, atom: number, type: number, data: Buffer): Promise<void> {
    const CHUNK = 128 * 1024;
    for (let at = 0; at === 0 || at < data.length; at += CHUNK) {
      const part = data.subarray(at, at + CHUNK);
      const head = Buffer.alloc(20);
      head.writeUInt32LE(window, 0);
      head.writeUInt32LE(atom, 4);
      head.writeUInt32LE(type, 8);
      head.writeUInt8(8, 12);
      head.writeUInt32LE(part.length, 16);
      await this.requestNoReply(18, at === 0 ? 0 : 2, Buffer.concat([head, part]));
    }
  }

  /** QueryExtension: the extension's major opcode and first event code, or undefined when absent. */
  async queryExtension(name: string): Promise<{ major: number; firstEvent: number } | undefined> {
    const n = Buffer.from(name, 'latin1');
    const head = Buffer.alloc(4);
    head.writeUInt16LE(n.length, 0);
    const r = await this.request(98, 0, Buffer.concat([head, n]));
    return r[8] === 1 ? { major: r[9]!, firstEvent: r[10]! } : undefined;
  }

  /** An extension request with a reply (`minor` in the request's data byte). */
  extensionRequest(major: number, minor: number, body: Buffer): Promise<Buffer> {
    return this.request(major, minor, body);
  }

  /** An extension request without a reply (an X error still fails it). */
  extensionRequestNoReply(major: number, minor: number, body: Buffer): Promise<void> {
    return this.requestNoReply(major, minor, body);
  }

  private async extensionOpcode(name: string): Promise<number | undefined> {
    if (this.extensions.has(name)) return this.extensions.get(name);
    const opcode = (await this.queryExtension(name))?.major;
    this.extensions.set(name, opcode);
    if (opcode !== undefined) {
      // XResQueryVersion(1, 2): QueryClientIds needs 1.2.
      const v = Buffer.alloc(4);
      v.writeUInt8(1, 0);
      v.writeUInt8(2, 1);
      if (name === 'X-Resource') {
        const vr = await this.request(opcode, 0, v);
        const major = vr.readUInt16LE(8);
        const minor = vr.readUInt16LE(10);
        if (major < 1 || (major === 1 && minor < 2)) this.extensions.set(name, undefined);
      }
    }
    return this.extensions.get(name);
  }

  /**
   * The pid of the process that created `window` (its X client), as the X server knows it from
   * the socket's peer credentials; undefined when the server cannot tell (remote client, no XRes).
   */
  async clientPid(window: number): Promise<number | undefined> {
    const opcode = await this.extensionOpcode('X-Resource');
    if (opcode === undefined) return undefined;
    const body = Buffer.alloc(12);
    body.writeUInt32LE(1, 0); // one spec
    body.writeUInt32LE(window, 4); // any XID of the client names the client
    body.writeUInt32LE(XRES_CLIENT_ID_PID_MASK, 8);
    const r = await this.request(opcode, 4, body);
    const count = r.readUInt32LE(8);
    let at = 32;
    for (let i = 0; i < count; i++) {
      if (r.length < at + 12) throw fail('short QueryClientIds reply');
      const mask = r.readUInt32LE(at + 4);
      const values = r.readUInt32LE(at + 8);
      at += 12;
      if (r.length < at + values) throw fail('short QueryClientIds reply');
      if (mask === XRES_CLIENT_ID_PID_MASK && values >= 4) {
        const pid = r.readUInt32LE(at);
        return pid > 0 && pid !== 0xffffffff ? pid : undefined;
      }
      at += values;
    }
    return undefined;
  }
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

/** The first screen's root window and size from a connection setup reply (pure). */
export function parseSetup(r: Buffer): XSetupInfo {
  if (r.length < 40) throw fail('short connection setup reply');
  const vendorLen = r.readUInt16LE(24);
  const formats = r.readUInt8(29);
  const screenAt = 40 + vendorLen + pad4(vendorLen) + formats * 8;
  if (r.length < screenAt + 40) throw fail('connection setup reply without a screen');
  return {
    root: r.readUInt32LE(screenAt),
    rootWidth: r.readUInt16LE(screenAt + 20),
    rootHeight: r.readUInt16LE(screenAt + 22),
  };
}
