// A flag's `source` comes from the device: only the known origins reach the alert.
import { v1 } from '@custodian/protocol';
import { describe, expect, it } from 'vitest';
import { alertSource, buildRecord } from '../../src/ingest/events.ts';

function flag(source: string) {
  return v1.Event.fromObject({
    seq: 1,
    timeMs: 1_700_000_000_000,
    flaggedActivity: { category: 'suicide', severity: 5, matchedTerm: 't', context: 'c', source },
  });
}

describe('flagged activity source', () => {
  it('keeps the known origins and the empty source of older agents', () => {
    for (const s of ['', 'title', 'url', 'page', 'typed', 'screen']) {
      const built = buildRecord('dev1', 'st1', flag(s), 1_700_000_000_500);
      expect(built.alert?.source).toBe(s);
      expect(built.notes.filter((n) => n.includes('unknown source'))).toEqual([]);
    }
  });

  it('stores anything else as "other", with a note that does not repeat what was sent', () => {
    const hostile = `<img src=x onerror=alert(1)>${'x'.repeat(5000)}`;
    const built = buildRecord('dev1', 'st1', flag(hostile), 1_700_000_000_500);
    expect(built.alert?.source).toBe('other');
    expect(built.notes.join('\n')).not.toContain('onerror');
    const notes: string[] = [];
    expect(alertSource('keyboard', notes)).toBe('other');
    expect(notes).toHaveLength(1);
  });
});
