// The log lines one agent session causes. A device controls how often they happen and what text
// they carry (agent error messages, command results, a rejected policy's reason), so each
// session gets a budget of lines (a token bucket: a burst, then a steady rate), lines over it are
// counted and said once the budget allows, and device text in a line is cut short.
import type { Logger } from '../log.ts';

/** Characters of one device string written to a log line; the rest is counted, not written. */
export const MAX_LOGGED_TEXT = 200;
/** Lines a session may log at once... */
export const LOG_BURST = 20;
/** ...and then per minute. */
export const LOG_PER_MINUTE = 20;
/** Elements of one device list written to a log line. */
const MAX_LOGGED_ITEMS = 10;
const MAX_DEPTH = 4;

/** Device text made fit for a log line: strings cut, lists and nesting bounded. */
export function deviceText(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    if (value.length <= MAX_LOGGED_TEXT) return value;
    return `${value.slice(0, MAX_LOGGED_TEXT)}… [${value.length - MAX_LOGGED_TEXT} more characters]`;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) {
    const out = value.slice(0, MAX_LOGGED_ITEMS).map((v) => deviceText(v, depth + 1));
    if (value.length > MAX_LOGGED_ITEMS) out.push(`[${value.length - MAX_LOGGED_ITEMS} more]`);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, MAX_LOGGED_ITEMS * 2))
    out[k.slice(0, 64)] = deviceText(v, depth + 1);
  return out;
}

type Level = 'info' | 'warn' | 'error';

export class SessionLog {
  private tokens = LOG_BURST;
  private last: number;
  private suppressed = 0;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Fields every line of this session carries (device id, remote address once known). */
  context: Record<string, unknown> = {};

  constructor(log: Logger, now: () => number) {
    this.log = log;
    this.now = now;
    this.last = now();
  }

  info(fields: Record<string, unknown>, msg: string): void {
    this.write('info', fields, msg);
  }

  warn(fields: Record<string, unknown>, msg: string): void {
    this.write('warn', fields, msg);
  }

  /** Says how many lines were held back, if any (at session end). */
  flush(): void {
    if (this.suppressed === 0) return;
    this.log.warn(
      { ...this.context, suppressedLines: this.suppressed },
      'agent session log lines suppressed (rate limit)',
    );
    this.suppressed = 0;
  }

  private write(level: Level, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    this.tokens = Math.min(LOG_BURST, this.tokens + ((t - this.last) * LOG_PER_MINUTE) / 60_000);
    this.last = t;
    if (this.tokens < 1) {
      this.suppressed++;
      return;
    }
    this.tokens -= 1;
    const line = { ...this.context, ...(deviceText(fields) as Record<string, unknown>) };
    if (this.suppressed > 0) {
      line['suppressedLines'] = this.suppressed;
      this.suppressed = 0;
    }
    this.log[level](line, msg.slice(0, MAX_LOGGED_TEXT));
  }
}
