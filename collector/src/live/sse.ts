// The one Server-Sent Events writer, used by the device feed (/api/v1/live) and the DSL's alert
// feed (/api/v1/alerts/live). Both get the same protections:
// - a slow client is dropped once MAX_SSE_BUFFER bytes wait unsent, instead of buffering without
//   bound in the collector's memory;
// - each account (or the admin token) may hold at most `perUser` open streams, so one caller
//   cannot pin thousands of responses (429 CUST_ERR_RATE_LIMITED for the next one);
// - a keep-alive comment keeps proxies from closing an idle feed;
// - everything the feed registered (listeners, timers) is released when either side closes.
import { ErrorCode } from '@custodian/protocol';
import { HttpError, type Principal, type RequestContext } from '../http/router.ts';

/** Buffered bytes past which a slow SSE client is dropped rather than buffered without bound. */
export const MAX_SSE_BUFFER = 4 * 1024 * 1024;
export const DEFAULT_SSE_PER_USER = 8;

/** Counts open streams per principal. One per app (on the LiveHub), shared by every feed. */
export class SseStreamLimiter {
  readonly perUser: number;
  private readonly open = new Map<string, number>();

  constructor(perUser = DEFAULT_SSE_PER_USER) {
    if (!(perUser >= 1)) throw new TypeError('SseStreamLimiter: perUser must be at least 1');
    this.perUser = perUser;
  }

  /** Takes a slot or throws 429; returns the release function (idempotent). */
  acquire(principal: Principal | undefined): () => void {
    const key =
      principal?.kind === 'staff' ? `user:${principal.userId}` : (principal?.username ?? 'anonymous');
    const n = this.open.get(key) ?? 0;
    if (n >= this.perUser)
      throw new HttpError(
        429,
        ErrorCode.RATE_LIMITED,
        `this account already has ${this.perUser} live feeds open: close a console tab and retry`,
        { limit: this.perUser },
      );
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  /** Open streams of every account together (/metrics). */
  get total(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    return n;
  }

  count(principal: Principal): number {
    return this.open.get(principal.kind === 'staff' ? `user:${principal.userId}` : principal.username) ?? 0;
  }
}

export interface SseStream {
  /** Writes one event; false (and the stream is dropped) when the client is too slow. */
  send(type: string, data: unknown): boolean;
  /** Ends the stream with a last event. */
  end(type: string, data: unknown): void;
  /** Drops the connection (an error while preparing an event). */
  destroy(): void;
  readonly closed: boolean;
  /** Runs once when the stream closes, whichever side closes it. */
  onClose(fn: () => void): void;
  /** Resolves when the stream has closed. */
  readonly done: Promise<void>;
}

/**
 * Opens a stream on a raw route. The per-user slot is taken BEFORE the 200 is written, so a
 * refused stream is an ordinary JSON error.
 */
export function openSse(
  ctx: RequestContext,
  opts: { limiter: SseStreamLimiter; keepAliveMs?: number; hello?: string },
): SseStream {
  const { req, res } = ctx;
  const release = opts.limiter.acquire(ctx.principal);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    connection: 'keep-alive',
  });
  if (opts.hello) res.write(`: ${opts.hello}\n\n`);
  const cleanups: (() => void)[] = [release];
  let closed = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const close = () => {
    if (closed) return;
    closed = true;
    for (const fn of cleanups.splice(0)) fn();
    resolveDone();
  };
  req.on('close', close);
  res.on('close', close);
  const write = (text: string): boolean => {
    if (closed) return false;
    if (res.writableLength > MAX_SSE_BUFFER) {
      res.destroy();
      return false;
    }
    res.write(text);
    return true;
  };
  const keepAlive = setInterval(() => write(': keep-alive\n\n'), opts.keepAliveMs ?? 25_000);
  cleanups.push(() => clearInterval(keepAlive));
  return {
    send: (type, data) => write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`),
    end: (type, data) => {
      if (!closed) res.end(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    destroy: () => res.destroy(),
    get closed() {
      return closed;
    },
    onClose: (fn) => {
      if (closed) fn();
      else cleanups.push(fn);
    },
    done,
  };
}
