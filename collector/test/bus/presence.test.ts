// The pure presence decisions of the NATS bus (bus/presence.ts).
import { describe, expect, it } from 'vitest';
import { alive, goneProcesses, parseEntry, supersedes } from '../../src/bus/presence.ts';

const entry = (process: string, session: string) => ({ process, session, streamId: 's', since: 1 });

describe('supersedes', () => {
  it('only a later write of another session supersedes this process claim', () => {
    expect(supersedes({ entry: entry('b', 'y'), revision: 5 }, { session: 'x', revision: 4 })).toBe(true);
    expect(supersedes({ entry: entry('b', 'y'), revision: 3 }, { session: 'x', revision: 4 })).toBe(false);
    expect(supersedes({ entry: entry('a', 'x'), revision: 9 }, { session: 'x', revision: 4 })).toBe(false);
    // Claim still in flight: decided once its revision is known.
    expect(supersedes({ entry: entry('b', 'y'), revision: 5 }, { session: 'x' })).toBe(false);
    expect(supersedes({ entry: entry('b', 'y'), revision: 5 }, undefined)).toBe(false);
  });
});

describe('goneProcesses', () => {
  const presence = [
    { entry: entry('a', '1'), revision: 1 },
    { entry: entry('b', '2'), revision: 2 },
    { entry: entry('c', '3'), revision: 3 },
  ];
  const lastSeen = new Map([
    ['b', 9_000],
    ['c', 1_000],
  ]);
  it('names processes not renewed within the TTL (never itself), once connected for a TTL', () => {
    const base = { self: 'a', presence, lastSeen, now: 10_000, ttlMs: 5_000 };
    expect([...goneProcesses({ ...base, connectedSince: 0 })]).toEqual(['c']);
    expect([...goneProcesses({ ...base, connectedSince: 6_000 })]).toEqual([]);
    expect([...goneProcesses({ ...base, connectedSince: undefined })]).toEqual([]);
    expect([...goneProcesses({ ...base, lastSeen: new Map(), connectedSince: 0 })]).toEqual(['b', 'c']);
  });
  it('alive', () => {
    expect(alive('a', 'a', new Map(), 0, 1)).toBe(true);
    expect(alive('b', 'a', lastSeen, 10_000, 5_000)).toBe(true);
    expect(alive('c', 'a', lastSeen, 10_000, 5_000)).toBe(false);
  });
});

describe('parseEntry', () => {
  it('reads a presence entry and refuses anything else', () => {
    const ok = new TextEncoder().encode(JSON.stringify(entry('a', 'x')));
    expect(parseEntry(ok)).toEqual(entry('a', 'x'));
    expect(parseEntry(new TextEncoder().encode('{"process":1}'))).toBeUndefined();
    expect(parseEntry(new TextEncoder().encode('not json'))).toBeUndefined();
  });
});
