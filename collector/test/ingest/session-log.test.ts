// The per-session log budget and the cutting of device text (pure, with a fake clock and a
// real pino logger writing to memory).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  deviceText,
  LOG_BURST,
  LOG_PER_MINUTE,
  MAX_LOGGED_TEXT,
  SessionLog,
} from '../../src/ingest/session-log.ts';
import { createLogger } from '../../src/log.ts';

function memoryLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, log: createLogger('info', sink as never) };
}

describe('session log', () => {
  it('cuts device text and bounds lists and nesting', () => {
    const cut = deviceText({ message: 'x'.repeat(5000), list: Array.from({ length: 50 }, () => 'y') }) as {
      message: string;
      list: string[];
    };
    expect(cut.message.length).toBeLessThan(MAX_LOGGED_TEXT + 40);
    expect(cut.message).toContain('[4800 more characters]');
    expect(cut.list).toHaveLength(11);
    expect(deviceText({ a: { b: { c: { d: { e: 'deep' } } } } })).toEqual({
      a: { b: { c: { d: '[nested too deep]' } } },
    });
  });

  it('allows a burst, then a steady rate, and reports what it held back', async () => {
    const { lines, log } = memoryLog();
    let now = 0;
    const s = new SessionLog(log, () => now);
    s.context = { deviceId: 'd1' };
    for (let i = 0; i < 100; i++) s.warn({ i }, 'noisy');
    expect(lines).toHaveLength(LOG_BURST);
    now += 60_000; // a minute later: LOG_PER_MINUTE more
    for (let i = 0; i < 100; i++) s.warn({ i }, 'noisy');
    expect(lines).toHaveLength(LOG_BURST + LOG_PER_MINUTE);
    expect(lines[LOG_BURST]).toMatchObject({ deviceId: 'd1', suppressedLines: 100 - LOG_BURST });
    s.flush();
    expect(lines.at(-1)).toMatchObject({
      suppressedLines: 100 - LOG_PER_MINUTE,
      msg: 'agent session log lines suppressed (rate limit)',
    });
    s.flush();
    expect(lines).toHaveLength(LOG_BURST + LOG_PER_MINUTE + 1);
  });
});
