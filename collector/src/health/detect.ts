// What is wrong with one device right now, as a pure function of its record, its live status,
// its streams, the settings and the clock. Each finding is a health kind with `since` (when this
// episode began: the last time the device was heard from, the latest clone note or gap), or a
// kind known to have cleared. A kind in neither list is left as it is (e.g. a device still
// offline after school hours: not a new alert, not resolved either).
//
// Subjects and details hold identifiers, numbers and times only: no device text (hostnames,
// window titles, lock methods), so a notification never carries it (issue 18 item 1's rule).
import { UNINSTALL_METHODS } from '@custodian/protocol';
import type { Device, DeviceLiveStatus, StreamState } from '../store/types.ts';
import { schoolClock } from './school-hours.ts';
import type { HealthSettings } from './settings.ts';

export const HEALTH_KINDS = [
  'offline',
  'agent-stopped',
  'lock-failing',
  'usb-enforcement-failing',
  'clone-suspected',
  'outbox-gap',
  'agent-uninstalled',
] as const;
export type HealthKind = (typeof HEALTH_KINDS)[number];

export interface HealthCondition {
  kind: HealthKind;
  /** Start of this episode (ms); a resolved alert is reopened only by a later episode. */
  since: number;
  /** One line for the queue and the notification (no device text). */
  summary: string;
  details: Record<string, number | string | boolean>;
}

export interface Findings {
  present: HealthCondition[];
  cleared: HealthKind[];
  /** Why the cleared kinds cleared, when it is not the condition itself (a revoked device). */
  clearedBecause?: string;
}

export interface DeviceFacts {
  device: Device;
  status: DeviceLiveStatus | undefined;
  streams: StreamState[];
  /**
   * Since when this collector process has been listening (ms): silence while it was down is not
   * the device's, so offline time counts from here at the earliest (no fleet-wide alert after a
   * collector outage, before the agents had a chance to reconnect).
   */
  listeningSince?: number;
}

const minutes = (ms: number) => Math.floor(ms / 60_000);

/** What the way a session ended says about a silence without the agent's shutdown notice. */
export function disconnectHint(code: number | undefined): string {
  if (code === 1006)
    return 'connection dropped without a close (agent killed or crashed, or the machine cut off)';
  if (code === 4007) return 'timed out (machine asleep or off the network)';
  if (code === undefined) return 'no record of how the connection ended';
  return `connection closed with code ${code}`;
}

/** The uninstall method for a notification: one of the installers' own words, never device text. */
export function uninstallMethod(method: string): string {
  return UNINSTALL_METHODS.includes(method) ? method : 'unrecognised method';
}

/** Offline or stopped without notice, in school hours, for longer than the settings allow. */
function silence(facts: DeviceFacts, settings: HealthSettings, now: number): HealthCondition | undefined {
  const { status } = facts;
  const id = facts.device.id;
  if (status?.lastSeenAt === undefined) return undefined;
  const clock = schoolClock(now, settings.schoolHours);
  const offlineMs = now - Math.max(status.lastSeenAt, clock.startedAt, facts.listeningSince ?? 0);
  if (!clock.inHours || offlineMs <= settings.offlineMinutes * 60_000) return undefined;
  const clean = status.lastStop !== undefined;
  return {
    kind: clean ? 'offline' : 'agent-stopped',
    since: status.lastSeenAt,
    summary: clean
      ? `Device ${id} offline for ${minutes(offlineMs)} min in school hours (agent stopped cleanly)`
      : `Device ${id} went silent without the agent's shutdown notice: ${disconnectHint(status.lastDisconnect?.code)}; offline ${minutes(offlineMs)} min in school hours`,
    details: {
      lastSeenAt: status.lastSeenAt,
      offlineMinutesInSchoolHours: minutes(offlineMs),
      cleanStop: clean,
      ...(status.lastStop ? { stoppedAt: status.lastStop.at } : {}),
      ...(status.lastDisconnect ? { disconnectCode: status.lastDisconnect.code } : {}),
    },
  };
}

/** Pure: the health findings for one device at `now`. */
export function detectConditions(facts: DeviceFacts, settings: HealthSettings, now: number): Findings {
  const { device, status, streams } = facts;
  // A revoked (or retired) device is gone on purpose: nothing about it is an alert any more.
  if (device.revokedAt !== undefined)
    return {
      present: [],
      cleared: [...HEALTH_KINDS],
      clearedBecause: device.retiredAt !== undefined ? 'device retired' : 'device revoked',
    };
  const present: HealthCondition[] = [];
  const cleared: HealthKind[] = [];
  const id = device.id;

  const uninstalled = status?.uninstalled;
  if (uninstalled) {
    // Gone on purpose or by tampering: IT must see it at once, in or out of school hours. The
    // silence that follows is this, not "offline".
    present.push({
      kind: 'agent-uninstalled',
      since: uninstalled.at,
      summary: `Device ${id}: the agent was uninstalled (${uninstallMethod(uninstalled.method)})`,
      details: { uninstalledAt: uninstalled.at, method: uninstallMethod(uninstalled.method) },
    });
    cleared.push('offline', 'agent-stopped');
  } else {
    cleared.push('agent-uninstalled');
    if (status?.connected) cleared.push('offline', 'agent-stopped');
    else {
      const silent = silence(facts, settings, now);
      if (silent) present.push(silent);
    }
  }

  const lock = status?.lastLockFailure;
  if (!lock) cleared.push('lock-failing');
  else if (lock.attempt >= settings.lockFailures)
    present.push({
      kind: 'lock-failing',
      since: lock.at,
      summary: `Device ${id} failed to lock the screen ${lock.attempt} times in a row`,
      details: { failuresInARow: lock.attempt, lastFailureAt: lock.at },
    });

  const usb = status?.usbEnforcementFailure;
  if (!usb) cleared.push('usb-enforcement-failing');
  else if (usb.count >= settings.usbFailures)
    present.push({
      kind: 'usb-enforcement-failing',
      since: usb.at,
      summary: `Device ${id} could not block USB writing ${usb.count} time(s) since the last block that worked`,
      details: { failures: usb.count, lastFailureAt: usb.at },
    });

  const clones = device.cloneSuspicion ?? [];
  if (clones.length > 0) {
    const latest = Math.max(...clones.map((c) => c.at));
    present.push({
      kind: 'clone-suspected',
      since: latest,
      summary: `Device ${id} may be a cloned disk image (${clones.length} note(s); see the device page)`,
      details: { notes: clones.length, latestAt: latest },
    });
  }

  const gaps = streams.flatMap((s) => s.gaps.map((g) => ({ ...g, streamId: s.streamId })));
  if (gaps.length > 0) {
    const latest = Math.max(...gaps.map((g) => g.at));
    const missing = gaps.reduce((n, g) => n + Math.max(0, g.nextSeq - g.afterSeq - 1), 0);
    present.push({
      kind: 'outbox-gap',
      since: latest,
      summary: `Device ${id} has ${gaps.length} gap(s) in its event stream (${missing} event(s) never arrived)`,
      details: { gaps: gaps.length, missingEvents: missing, latestAt: latest },
    });
  }
  return { present, cleared };
}
