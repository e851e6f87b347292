// The force-install entry on Windows (forcelist.ts): its text, and what the agent does with the
// value under its own name — never a school's entry.
import { describe, expect, it } from 'vitest';
import {
  decideForcelist,
  FORCELIST_VALUE_NAME,
  forcelistEntry,
  isCustodianEntry,
} from '../../src/native-host/forcelist.ts';

const ID = 'abcdefghijklmnopabcdefghijklmnop';
const OURS = `${ID};https://custodian.school.uk/ext/updates.xml`;
const sz = (data: string) => ({ type: 'REG_SZ', data });

describe('force-install entry (Windows registry)', () => {
  it("is Chrome's '<id>;<update URL>' and refuses anything else", () => {
    expect(forcelistEntry(ID, 'https://custodian.school.uk/ext/updates.xml')).toBe(OURS);
    expect(forcelistEntry(ID, 'http://127.0.0.1:8443/ext/updates.xml')).toBe(
      `${ID};http://127.0.0.1:8443/ext/updates.xml`,
    );
    expect(() => forcelistEntry('not-an-id', 'https://c.uk/ext/updates.xml')).toThrow(
      /not a force-install entry/,
    );
    expect(() => forcelistEntry(ID, 'https://c.uk/ext/updates.xml;x')).toThrow(/not a force-install entry/);
    expect(() => forcelistEntry(ID, 'https://c.uk/other.xml')).toThrow(/not a force-install entry/);
  });

  it('its value name is a fixed high number, far above a list a school numbers from 1', () => {
    expect(FORCELIST_VALUE_NAME).toMatch(/^[1-9]\d*$/);
    expect(Number(FORCELIST_VALUE_NAME)).toBeGreaterThan(1000);
  });

  it('tells a Custodian entry from a school entry', () => {
    expect(isCustodianEntry(OURS)).toBe(true);
    expect(isCustodianEntry(`${ID};https://clients2.google.com/service/update2/crx`)).toBe(false);
    expect(isCustodianEntry(ID)).toBe(false);
  });

  it('opted in: writes where nothing is, keeps its own, replaces its older entry, never a foreign one', () => {
    expect(decideForcelist(undefined, OURS)).toEqual({ action: 'set', data: OURS });
    expect(decideForcelist(sz(OURS), OURS)).toEqual({ action: 'keep' });
    // Re-enrolled with another collector, or the collector's packing key changed.
    const older = `${'p'.repeat(32)};https://old.school.uk/ext/updates.xml`;
    expect(decideForcelist(sz(older), OURS)).toEqual({ action: 'set', data: OURS });
    const school = `${'c'.repeat(32)};https://clients2.google.com/service/update2/crx`;
    expect(decideForcelist(sz(school), OURS)).toMatchObject({ action: 'conflict' });
    expect(decideForcelist({ type: 'REG_DWORD', data: '0x1' }, OURS)).toMatchObject({ action: 'conflict' });
  });

  it('not opted in (or uninstalling): removes its own entry only', () => {
    expect(decideForcelist(sz(OURS), undefined)).toEqual({ action: 'delete' });
    expect(decideForcelist(undefined, undefined)).toEqual({ action: 'none' });
    const school = `${'c'.repeat(32)};https://clients2.google.com/service/update2/crx`;
    expect(decideForcelist(sz(school), undefined)).toEqual({ action: 'none' });
  });
});
