// What an enrolment may do to the device that already holds its machine id. Pure: the service
// gathers the facts (previous device, proof, connected, last seen) and acts on the decision.
//
// A machine id is not a secret (world-readable /etc/machine-id, shown on the device page), so
// presenting it proves nothing. The rules:
// - a revoked previous device (or none) is no one's identity any more: enrol normally;
// - proof of the previous device's key (the agent still holds its credentials) replaces it;
//   a wrong proof is refused, never downgraded to a queued request;
// - a BYOD code never replaces or revokes anyone, and a school secret never replaces a
//   personal (BYOD) device: both become a request an admin or IT approves or denies;
// - a school secret replaces a school device at once only when that identity is not live:
//   not connected and not seen for `liveMs` (enrol.liveDays, longer than a school holiday);
//   otherwise it is queued for approval too.
// Every replacement, whatever its path, is recorded as clone suspicion on the new identity:
// a cloned disk carries the old key too, so even "proof" does not rule a clone out.
import type { Device, DeviceKind } from '../store/types.ts';

export interface ReplacementFacts {
  kind: DeviceKind;
  hostname: string;
  serial: string;
  previous: Device | undefined;
  /** none: no proof sent; valid: the key of `previous`; invalid: a wrong key or another device. */
  proof: 'none' | 'valid' | 'invalid';
  /** Set when `previous` has a live session right now. */
  connectedFrom: string | undefined;
  /** Last time `previous` was heard from (live status), or its enrolment time. */
  lastSeenAt: number;
  now: number;
  liveMs: number;
}

export type ReplacementDecision =
  /** No live previous identity: a new device (suspicion lists differences from a revoked one). */
  | { action: 'enrol'; suspicion: string[] }
  /** Replace `previous` now (revoke it, new device takes the machine id). */
  | { action: 'replace'; how: 'proof' | 'stale'; suspicion: string[] }
  /** Queue a request for approval; `reasons` say why it was not done at once. */
  | { action: 'queue'; reasons: string[] }
  | { action: 'refuse'; why: string };

const DAY = 86_400_000;

export function ago(ms: number): string {
  if (ms < 120_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 2 * DAY) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / DAY)} days`;
}

export function decideReplacement(f: ReplacementFacts): ReplacementDecision {
  const prev = f.previous;
  if (!prev) return { action: 'enrol', suspicion: [] };
  const differences: string[] = [];
  if (prev.serial !== '' && f.serial !== '' && prev.serial !== f.serial)
    differences.push(`serial ${f.serial} differs from ${prev.serial} of ${prev.id}`);
  if (prev.hostname !== f.hostname)
    differences.push(`hostname ${f.hostname} differs from ${prev.hostname} of ${prev.id}`);
  if (prev.revokedAt !== undefined) return { action: 'enrol', suspicion: differences };

  if (f.proof === 'invalid')
    return {
      action: 'refuse',
      why: `the proof sent is not the key of ${prev.id}, the device holding this machine id`,
    };
  const seen = `${prev.id} was last seen ${ago(f.now - f.lastSeenAt)} ago`;
  const online = f.connectedFrom ? [`${prev.id} is connected right now from ${f.connectedFrom}`] : [];
  if (f.proof === 'valid')
    return {
      action: 'replace',
      how: 'proof',
      suspicion: [`replaced ${prev.id} with proof of its key`, ...online, ...differences],
    };
  if (f.kind === 'byod')
    return {
      action: 'queue',
      reasons: [
        `a BYOD code never replaces a live device (${prev.id}, ${prev.kind})`,
        seen,
        ...online,
        ...differences,
      ],
    };
  if (prev.kind === 'byod')
    return {
      action: 'queue',
      reasons: [
        `the enrol secret never replaces a personal (BYOD) device (${prev.id})`,
        seen,
        ...online,
        ...differences,
      ],
    };
  const live = f.connectedFrom !== undefined || f.now - f.lastSeenAt < f.liveMs;
  if (live)
    return {
      action: 'queue',
      reasons: [`${prev.id} is still live and no proof of its key was sent`, seen, ...online, ...differences],
    };
  return {
    action: 'replace',
    how: 'stale',
    suspicion: [
      `replaced ${prev.id} without proof: not seen for ${ago(f.now - f.lastSeenAt)}`,
      ...differences,
    ],
  };
}
