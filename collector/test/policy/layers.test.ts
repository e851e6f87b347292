// The pure chain merge and "which layer set this value" (policy/layers.ts).
import { defaultPolicy, RECEIVED_LIMITS } from '@custodian/policy';
import { describe, expect, it } from 'vitest';
import { type Layer, layerScope, mergeChain, provenance } from '../../src/policy/layers.ts';

const base = { ...defaultPolicy(), version: 4 };
const school: Layer = {
  kind: 'school',
  id: 'north',
  patch: { idleLock: { idleLockSeconds: 600 } },
  version: 7,
};
const group: Layer = { kind: 'group', id: 'y7', patch: { idleLock: { warningSeconds: 30 } }, version: 5 };
const device: Layer = { kind: 'device', id: 'dev1', patch: { heartbeatSeconds: 30 }, version: 6 };

describe('policy layers', () => {
  it('merges upper first, and takes the newest version on the chain (or the last move)', () => {
    const p = mergeChain(base, [school, group, device], RECEIVED_LIMITS);
    expect(p.idleLock.idleLockSeconds).toBe(600);
    expect(p.idleLock.warningSeconds).toBe(30);
    expect(p.heartbeatSeconds).toBe(30);
    expect(p.version).toBe(7);
    expect(mergeChain(base, [school], RECEIVED_LIMITS, 9).version).toBe(9);
    // A lower layer wins over an upper one for the same field.
    const lower: Layer = { ...group, patch: { idleLock: { idleLockSeconds: 300 } } };
    expect(mergeChain(base, [school, lower], RECEIVED_LIMITS).idleLock.idleLockSeconds).toBe(300);
  });

  it('throws when a layer is invalid over the ones above it', () => {
    const bad: Layer = { ...group, patch: { idleLock: { warningSeconds: 700 } } };
    expect(() => mergeChain(base, [school, bad], RECEIVED_LIMITS)).toThrow(/warningSeconds/);
    expect(() => mergeChain(base, [bad], RECEIVED_LIMITS)).not.toThrow();
  });

  it('says which layer set each field', () => {
    const layers = [school, group, device];
    const fields = provenance(mergeChain(base, layers, RECEIVED_LIMITS), layers);
    const of = (f: string) => fields.find((x) => x.field === f);
    expect(of('idleLock.idleLockSeconds')).toEqual({
      field: 'idleLock.idleLockSeconds',
      value: 600,
      layer: 'school',
      id: 'north',
    });
    expect(of('idleLock.warningSeconds')).toMatchObject({ value: 30, layer: 'group', id: 'y7' });
    expect(of('heartbeatSeconds')).toMatchObject({ value: 30, layer: 'device', id: 'dev1' });
    expect(of('idleLock.enabled')).toMatchObject({ value: true, layer: 'default', id: 'default' });
    expect(of('byodScope.mode')).toMatchObject({ layer: 'default' });
    expect(fields.some((f) => f.field === 'version')).toBe(false);
  });

  it('names layers in the change log the way the store does', () => {
    expect(layerScope({ kind: 'default', id: 'default' })).toBe('default');
    expect(layerScope(school)).toBe('school:north');
    expect(layerScope(group)).toBe('group:y7');
    expect(layerScope(device)).toBe('dev1');
  });
});
