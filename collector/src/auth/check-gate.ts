// Caps concurrent password checks. scrypt runs on libuv's thread pool (4 threads by default),
// the same pool level and fs use: a burst of sign-ins would otherwise stall every read and
// every ingest commit behind the hashes. Checks beyond `maxConcurrent` wait in a short queue;
// beyond that, and beyond `perIp` checks running or waiting from one address, the request is
// refused at once (429 CUST_ERR_RATE_LIMITED) before any hashing.
import { ErrorCode } from '@custodian/protocol';
import { HttpError } from '../http/router.ts';

export interface CheckGateOptions {
  /** Password checks hashing at the same time (each scrypt is one pool thread and 64 MiB). */
  maxConcurrent: number;
  /** Checks waiting for a slot; more are refused. */
  maxQueued: number;
  /** Checks running or waiting from one client address. */
  perIp: number;
}

export const DEFAULT_CHECK_GATE: CheckGateOptions = { maxConcurrent: 2, maxQueued: 32, perIp: 4 };

export interface GateTicket {
  /** Resolves when this check may hash. */
  ready: Promise<void>;
  /** Frees the slot (or the queue place); call once, in a finally. */
  release(): void;
}

export class PasswordCheckGate {
  private readonly opts: CheckGateOptions;
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly perIp = new Map<string, number>();

  constructor(opts: Partial<CheckGateOptions> = {}) {
    this.opts = { ...DEFAULT_CHECK_GATE, ...opts };
    const { maxConcurrent, maxQueued, perIp } = this.opts;
    if (!(maxConcurrent >= 1 && maxQueued >= 0 && perIp >= 1))
      throw new TypeError('PasswordCheckGate: impossible options');
  }

  /** Checks running now (for tests and the bench). */
  get running(): number {
    return this.active;
  }

  /** A ticket, or throws 429 when this address or the whole server has too many checks in hand. */
  enter(ip: string): GateTicket {
    const mine = this.perIp.get(ip) ?? 0;
    if (mine >= this.opts.perIp) throw busy('too many sign-ins from this address at once: try again in 1 s');
    if (this.active >= this.opts.maxConcurrent && this.queue.length >= this.opts.maxQueued)
      throw busy('too many sign-ins at once: try again in 1 s');
    this.perIp.set(ip, mine + 1);
    let ready: Promise<void>;
    let started = false;
    let released = false;
    let waiter: (() => void) | undefined;
    if (this.active < this.opts.maxConcurrent) {
      this.active++;
      started = true;
      ready = Promise.resolve();
    } else {
      ready = new Promise<void>((resolve) => {
        const go = () => {
          started = true;
          resolve();
        };
        this.queue.push(go);
        waiter = go;
      });
    }
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.perIp.delete(ip);
        else this.perIp.set(ip, left);
        if (!started) {
          const i = waiter ? this.queue.indexOf(waiter) : -1;
          if (i >= 0) this.queue.splice(i, 1);
          return;
        }
        const next = this.queue.shift();
        if (next) next();
        else this.active--;
      },
    };
  }
}

function busy(message: string): HttpError {
  return new HttpError(429, ErrorCode.RATE_LIMITED, message, { retryAfterSeconds: 1 });
}
