import { defaultPolicy } from '@custodian/policy';
import { describe, expect, it } from 'vitest';
import { captureLowered } from '../../src/safeguarding/capture-watch.ts';

const base = { ...defaultPolicy().capture, enabled: true, minSeverity: 3, categories: [] as string[] };

describe('captureLowered', () => {
  it('names each way capture got weaker', () => {
    expect(captureLowered(base, { ...base, enabled: false })).toEqual(['capture switched off']);
    expect(captureLowered(base, { ...base, minSeverity: 4 })).toEqual([
      'minimum severity raised from 3 to 4',
    ]);
    expect(captureLowered(base, { ...base, categories: ['grooming'] })).toEqual([
      'categories narrowed from all to grooming',
    ]);
    expect(
      captureLowered({ ...base, categories: ['grooming', 'suicide'] }, { ...base, categories: ['grooming'] }),
    ).toEqual(['categories removed: suicide']);
  });

  it('says nothing when capture stays the same or gets stronger', () => {
    expect(captureLowered(base, base)).toEqual([]);
    expect(captureLowered({ ...base, enabled: false }, base)).toEqual([]);
    expect(captureLowered({ ...base, minSeverity: 5 }, { ...base, minSeverity: 2 })).toEqual([]);
    expect(captureLowered({ ...base, categories: ['grooming'] }, base)).toEqual([]);
  });
});
