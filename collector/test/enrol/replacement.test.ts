// The pure re-enrolment decision (src/enrol/replacement.ts), case by case. The HTTP and
// end-to-end tests replay the same rules from outside (http/enrol.test.ts, e2e/enrol-replacement).
import { describe, expect, it } from 'vitest';
import { decideReplacement, type ReplacementFacts } from '../../src/enrol/replacement.ts';
import type { Device } from '../../src/store/types.ts';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;

function prev(extra: Partial<Device> = {}): Device {
  return {
    id: 'd_old',
    kind: 'school',
    machineId: 'm',
    hostname: 'lab-01',
    os: 'linux',
    serial: 'SN1',
    keyHash: 'ab'.repeat(32),
    enrolledAt: NOW - 200 * DAY,
    ...extra,
  };
}

function facts(extra: Partial<ReplacementFacts> = {}): ReplacementFacts {
  return {
    kind: 'school',
    hostname: 'lab-01',
    serial: 'SN1',
    previous: prev(),
    proof: 'none',
    connectedFrom: undefined,
    lastSeenAt: NOW - DAY,
    now: NOW,
    liveMs: 90 * DAY,
    ...extra,
  };
}

describe('decideReplacement', () => {
  it('enrols when nobody holds the machine id, or the holder is revoked (noting differences)', () => {
    expect(decideReplacement(facts({ previous: undefined }))).toEqual({ action: 'enrol', suspicion: [] });
    const d = decideReplacement(
      facts({ previous: prev({ revokedAt: NOW - DAY }), serial: 'SN2', kind: 'byod' }),
    );
    expect(d).toEqual({ action: 'enrol', suspicion: ['serial SN2 differs from SN1 of d_old'] });
  });

  it('a BYOD code never replaces a device that is not revoked, however old', () => {
    const d = decideReplacement(facts({ kind: 'byod', lastSeenAt: NOW - 1000 * DAY }));
    expect(d.action).toBe('queue');
    expect(d.action === 'queue' && d.reasons[0]).toContain('a BYOD code never replaces a live device');
  });

  it('the enrol secret never replaces a BYOD device without approval', () => {
    const d = decideReplacement(facts({ previous: prev({ kind: 'byod' }), lastSeenAt: NOW - 1000 * DAY }));
    expect(d.action).toBe('queue');
  });

  it('a live school device (seen recently, or connected now) is queued without proof', () => {
    expect(decideReplacement(facts({ lastSeenAt: NOW - 89 * DAY })).action).toBe('queue');
    const online = decideReplacement(facts({ lastSeenAt: NOW - 200 * DAY, connectedFrom: '10.0.0.7' }));
    expect(online.action).toBe('queue');
    expect(online.action === 'queue' && online.reasons).toContain(
      'd_old is connected right now from 10.0.0.7',
    );
  });

  it('a school device unseen for liveMs is replaced by the secret, with suspicion', () => {
    const d = decideReplacement(facts({ lastSeenAt: NOW - 91 * DAY, hostname: 'lab-99' }));
    expect(d).toEqual({
      action: 'replace',
      how: 'stale',
      suspicion: [
        'replaced d_old without proof: not seen for 91 days',
        'hostname lab-99 differs from lab-01 of d_old',
      ],
    });
  });

  it('valid proof replaces at once (BYOD too), always with suspicion; invalid proof is refused', () => {
    const byProof = decideReplacement(facts({ kind: 'byod', proof: 'valid' }));
    expect(byProof).toMatchObject({ action: 'replace', how: 'proof' });
    expect(byProof.action === 'replace' && byProof.suspicion[0]).toBe('replaced d_old with proof of its key');
    expect(decideReplacement(facts({ proof: 'invalid' })).action).toBe('refuse');
    // A proof for a revoked holder is moot: nothing live is replaced.
    expect(decideReplacement(facts({ proof: 'invalid', previous: prev({ revokedAt: 1 }) })).action).toBe(
      'enrol',
    );
  });
});
