import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/link/backoff.ts';
import { ingestUrl } from '../../src/link/ws-url.ts';

describe('backoff', () => {
  it('doubles from the initial delay, jittered in [base/2, base]', () => {
    const o = { initialMs: 1_000, maxMs: 60_000 };
    expect(backoffDelay(0, { ...o, random: () => 0 })).toBe(500);
    expect(backoffDelay(0, { ...o, random: () => 1 })).toBe(1_000);
    expect(backoffDelay(3, { ...o, random: () => 1 })).toBe(8_000);
  });

  it('is capped at about a minute however many attempts failed', () => {
    const o = { initialMs: 1_000, maxMs: 60_000 };
    for (const attempt of [6, 10, 100, 10_000]) {
      expect(backoffDelay(attempt, { ...o, random: () => 1 })).toBe(60_000);
      expect(backoffDelay(attempt, { ...o, random: () => 0 })).toBe(30_000);
    }
  });
});

describe('ingest URL', () => {
  it('maps http(s) to ws(s) at /ws/agent', () => {
    expect(ingestUrl('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/ws/agent');
    expect(ingestUrl('https://custodian.school.uk/')).toBe('wss://custodian.school.uk/ws/agent');
    expect(ingestUrl('https://host/base?x=1')).toBe('wss://host/base/ws/agent');
    expect(() => ingestUrl('ftp://x')).toThrow(/http/);
    expect(() => ingestUrl('not a url')).toThrow(/not a URL/);
  });
});
