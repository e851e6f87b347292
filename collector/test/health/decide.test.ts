// The pure health decisions with a fake clock: detection (offline in school hours, unclean stop,
// lock and USB failures, clones, gaps), the queue rules (one open per device and kind, cleared →
// resolved, a resolved alert reopened only by a new episode) and the daily digest.
import { describe, expect, it } from 'vitest';
import { decideHealth, digestDue, type HealthAlert } from '../../src/health/decide.ts';
import {
  type DeviceFacts,
  detectConditions,
  disconnectHint,
  type HealthKind,
} from '../../src/health/detect.ts';
import { localTime, schoolClock } from '../../src/health/school-hours.ts';
import { DEFAULT_HEALTH_SETTINGS, type HealthSettings, mergeSettings } from '../../src/health/settings.ts';
import { staleDevices } from '../../src/health/stale.ts';
import type { Device, DeviceLiveStatus } from '../../src/store/types.ts';

const MIN = 60_000;
// Wednesday 2026-11-25 (GMT, so London = UTC).
const WED_1000 = Date.UTC(2026, 10, 25, 10, 0, 0);
const WED_0700 = Date.UTC(2026, 10, 25, 7, 0, 0);
const SAT_1000 = Date.UTC(2026, 10, 28, 10, 0, 0);

const settings: HealthSettings = mergeSettings(DEFAULT_HEALTH_SETTINGS, { offlineMinutes: 10 });

const device = (extra: Partial<Device> = {}): Device => ({
  id: 'd_one',
  kind: 'school',
  machineId: 'm',
  hostname: 'lab-1',
  os: 'linux',
  serial: 'S',
  keyHash: 'x',
  enrolledAt: WED_1000 - 30 * 86_400_000,
  ...extra,
});
const offline = (lastSeenAt: number, extra: Partial<DeviceLiveStatus> = {}): DeviceLiveStatus => ({
  deviceId: 'd_one',
  connected: false,
  lastSeenAt,
  usbVolumes: [],
  ...extra,
});
const facts = (status: DeviceLiveStatus | undefined, d = device()): DeviceFacts => ({
  device: d,
  status,
  streams: [],
});
const kinds = (f: { present: { kind: HealthKind }[] }) => f.present.map((c) => c.kind);

describe('school hours', () => {
  it('knows school days and hours in the school time zone, through British Summer Time', () => {
    expect(schoolClock(WED_1000, settings.schoolHours)).toEqual({
      inHours: true,
      startedAt: Date.UTC(2026, 10, 25, 8, 30),
    });
    expect(schoolClock(WED_0700, settings.schoolHours).inHours).toBe(false);
    expect(schoolClock(SAT_1000, settings.schoolHours).inHours).toBe(false);
    // 08:00 UTC in June is 09:00 in London: in hours, school started at 07:30 UTC.
    const june = Date.UTC(2026, 5, 17, 8, 0);
    expect(schoolClock(june, settings.schoolHours)).toEqual({
      inHours: true,
      startedAt: Date.UTC(2026, 5, 17, 7, 30),
    });
    expect(localTime(june, 'Europe/London')).toMatchObject({
      weekday: 3,
      minutes: 9 * 60,
      day: '2026-06-17',
    });
  });
});

describe('detectConditions', () => {
  it('an agent silent without its shutdown notice for more than N minutes in school hours', () => {
    const f = detectConditions(facts(offline(WED_1000 - 11 * MIN)), settings, WED_1000);
    expect(kinds(f)).toEqual(['agent-stopped']);
    expect(f.present[0]).toMatchObject({ since: WED_1000 - 11 * MIN, details: { cleanStop: false } });
    expect(f.cleared).not.toContain('agent-stopped');
  });

  it('not before N minutes; not outside school hours; counted from the start of school hours', () => {
    expect(kinds(detectConditions(facts(offline(WED_1000 - 9 * MIN)), settings, WED_1000))).toEqual([]);
    expect(kinds(detectConditions(facts(offline(SAT_1000 - 60 * MIN)), settings, SAT_1000))).toEqual([]);
    // Gone since last night: 8:35 is 5 minutes into school hours, 8:41 is 11.
    const night = Date.UTC(2026, 10, 24, 20, 0);
    expect(kinds(detectConditions(facts(offline(night)), settings, Date.UTC(2026, 10, 25, 8, 35)))).toEqual(
      [],
    );
    expect(kinds(detectConditions(facts(offline(night)), settings, Date.UTC(2026, 10, 25, 8, 41)))).toEqual([
      'agent-stopped',
    ]);
    // Outside hours the offline kinds neither open nor clear.
    const f = detectConditions(facts(offline(WED_0700 - 60 * MIN)), settings, WED_0700);
    expect(f.cleared).not.toContain('offline');
    expect(f.cleared).not.toContain('agent-stopped');
  });

  it('says how the silent session ended', () => {
    const f = detectConditions(
      facts(offline(WED_1000 - 11 * MIN, { lastDisconnect: { at: WED_1000 - 11 * MIN, code: 4007 } })),
      settings,
      WED_1000,
    );
    expect(f.present[0]?.summary).toContain('timed out (machine asleep or off the network)');
    expect(f.present[0]?.details).toMatchObject({ disconnectCode: 4007 });
    expect(disconnectHint(1006)).toMatch(/agent killed or crashed/);
    expect(disconnectHint(1000)).toBe('connection closed with code 1000');
  });

  it('silence while the collector was down does not count: offline time starts when it listens again', () => {
    const f = (listeningSince: number) =>
      kinds(detectConditions({ ...facts(offline(WED_1000 - 60 * MIN)), listeningSince }, settings, WED_1000));
    expect(f(WED_1000 - 2 * MIN)).toEqual([]);
    expect(f(WED_1000 - 11 * MIN)).toEqual(['agent-stopped']);
  });

  it('a clean stop (agentStopping seen) is plain offline; connected clears both', () => {
    const clean = offline(WED_1000 - 20 * MIN, { lastStop: { at: WED_1000 - 20 * MIN, reason: 'SIGTERM' } });
    expect(kinds(detectConditions(facts(clean), settings, WED_1000))).toEqual(['offline']);
    const on = detectConditions(facts({ ...clean, connected: true }), settings, WED_1000);
    expect(kinds(on)).toEqual([]);
    expect(on.cleared).toEqual(expect.arrayContaining(['offline', 'agent-stopped']));
  });

  it('an uninstall (issue 17): at once, in or out of school hours, instead of offline; a reinstall clears it', () => {
    const gone = offline(SAT_1000 - 1 * MIN, {
      lastStop: { at: SAT_1000 - 2 * MIN, reason: 'service stop' },
      uninstalled: { at: SAT_1000 - 1 * MIN, method: 'dpkg remove', user: 'pupil' },
    });
    const f = detectConditions(facts(gone), settings, SAT_1000);
    expect(kinds(f)).toEqual(['agent-uninstalled']);
    expect(f.present[0]).toMatchObject({ since: SAT_1000 - 1 * MIN, details: { method: 'dpkg remove' } });
    expect(f.cleared).toEqual(expect.arrayContaining(['offline', 'agent-stopped']));
    // In school hours, long silent: still "uninstalled", not offline.
    const longGone = { ...gone, lastSeenAt: WED_1000 - 60 * MIN };
    expect(kinds(detectConditions(facts(longGone), settings, WED_1000))).toEqual(['agent-uninstalled']);
    // The method is device text: a notification carries only the installers' own words.
    const odd = { ...gone, uninstalled: { at: 1, method: 'Jane Doe <script>', user: '' } };
    const fOdd = detectConditions(facts(odd), settings, SAT_1000);
    expect(JSON.stringify(fOdd.present)).not.toContain('Jane');
    expect(fOdd.present[0]?.details['method']).toBe('unrecognised method');
    // Reinstalled (agentStarted cleared it): the alert resolves.
    const back = offline(SAT_1000, { connected: true });
    expect(detectConditions(facts(back), settings, SAT_1000).cleared).toContain('agent-uninstalled');
  });

  it('lock failing at the threshold, USB enforcement failing, clone notes, stream gaps', () => {
    const s = offline(WED_1000, {
      connected: true,
      lastLockFailure: { at: WED_1000, method: 'i3lock', reason: 'no display', attempt: 2 },
      usbEnforcementFailure: { at: WED_1000, method: 'remount-ro', count: 1 },
    });
    expect(kinds(detectConditions(facts(s), settings, WED_1000))).toEqual(['usb-enforcement-failing']);
    s.lastLockFailure = { at: WED_1000, method: 'i3lock', reason: 'no display', attempt: 3 };
    const d = device({ cloneSuspicion: [{ at: WED_1000 - 5, reason: 'two sessions' }] });
    const f = detectConditions(
      {
        device: d,
        status: s,
        streams: [
          {
            deviceId: d.id,
            streamId: 's1',
            maxSeq: 20,
            count: 15,
            firstSeenAt: 0,
            lastSeenAt: 0,
            gaps: [{ afterSeq: 4, nextSeq: 10, at: WED_1000 - 3 }],
            outOfOrder: 0,
            duplicates: 0,
          },
        ],
      },
      settings,
      WED_1000,
    );
    expect(kinds(f)).toEqual(['lock-failing', 'usb-enforcement-failing', 'clone-suspected', 'outbox-gap']);
    expect(f.present.find((c) => c.kind === 'outbox-gap')?.details).toMatchObject({
      gaps: 1,
      missingEvents: 5,
    });
    // No device text in what is notified: the lock method and the hostname are not there.
    expect(JSON.stringify(f.present)).not.toMatch(/i3lock|no display|lab-1|remount-ro/);
  });

  it('a revoked device has nothing open: every kind clears', () => {
    const f = detectConditions(
      facts(offline(WED_1000 - 60 * MIN), device({ revokedAt: 1 })),
      settings,
      WED_1000,
    );
    expect(f.present).toEqual([]);
    expect(f.cleared).toHaveLength(7);
    expect(f.clearedBecause).toBe('device revoked');
    const open = alert('open');
    expect(decideHealth(f, new Map([['agent-stopped', open]]))).toEqual([
      { type: 'resolve', alert: open, reason: 'device revoked' },
    ]);
  });
});

const alert = (state: HealthAlert['state'], extra: Partial<HealthAlert> = {}): HealthAlert => ({
  id: 'a1',
  deviceId: 'd_one',
  kind: 'agent-stopped',
  state,
  summary: '',
  details: {},
  since: 100,
  openedAt: 200,
  history: [],
  ...extra,
});
const condition = { kind: 'agent-stopped' as const, since: 100, summary: 's', details: {} };

describe('decideHealth', () => {
  it('opens once per device and kind while open or acknowledged', () => {
    const found = { present: [condition], cleared: [] };
    expect(decideHealth(found, new Map())).toEqual([{ type: 'open', condition }]);
    expect(decideHealth(found, new Map([['agent-stopped', alert('open')]]))).toEqual([]);
    expect(decideHealth(found, new Map([['agent-stopped', alert('acknowledged')]]))).toEqual([]);
  });

  it('resolves when the condition clears; leaves resolved alerts alone', () => {
    const open = alert('acknowledged');
    expect(
      decideHealth({ present: [], cleared: ['agent-stopped'] }, new Map([['agent-stopped', open]])),
    ).toEqual([{ type: 'resolve', alert: open, reason: 'condition cleared' }]);
    expect(
      decideHealth(
        { present: [], cleared: ['agent-stopped'] },
        new Map([['agent-stopped', alert('resolved')]]),
      ),
    ).toEqual([]);
  });

  it('a resolved alert is reopened by a new episode only', () => {
    const resolved = alert('resolved', { resolvedAt: 300 });
    expect(
      decideHealth({ present: [condition], cleared: [] }, new Map([['agent-stopped', resolved]])),
    ).toEqual([]);
    const later = { ...condition, since: 301 };
    expect(decideHealth({ present: [later], cleared: [] }, new Map([['agent-stopped', resolved]]))).toEqual([
      { type: 'open', condition: later },
    ]);
  });
});

describe('digestDue', () => {
  const on = { enabled: true, atMinutes: 7 * 60 + 30, days: [1, 2, 3, 4, 5] };
  it('once a school day, at or after its time', () => {
    const wed = { day: '2026-11-25', weekday: 3, minutes: 7 * 60 + 30 };
    expect(digestDue(wed, on, undefined)).toBe(true);
    expect(digestDue(wed, on, '2026-11-24')).toBe(true);
    expect(digestDue(wed, on, '2026-11-25')).toBe(false);
    expect(digestDue({ ...wed, minutes: 7 * 60 + 29 }, on, undefined)).toBe(false);
    expect(digestDue({ ...wed, weekday: 6 }, on, undefined)).toBe(false);
    expect(digestDue(wed, { ...on, enabled: false }, undefined)).toBe(false);
  });
});

describe('stale devices', () => {
  it('not revoked, not connected, unseen for N days (never seen: since enrolment)', () => {
    const now = WED_1000;
    const day = 86_400_000;
    const devices = [
      device({ id: 'seen-15', enrolledAt: now - 100 * day }),
      device({ id: 'seen-13', enrolledAt: now - 100 * day }),
      device({ id: 'never-20', enrolledAt: now - 20 * day }),
      device({ id: 'revoked', enrolledAt: now - 100 * day, revokedAt: now - 50 * day }),
      device({ id: 'connected', enrolledAt: now - 100 * day }),
    ];
    const status: Record<string, DeviceLiveStatus> = {
      'seen-15': offline(now - 15 * day),
      'seen-13': offline(now - 13 * day),
      revoked: offline(now - 60 * day),
      connected: { ...offline(now - 30 * day), connected: true },
    };
    const list = staleDevices(devices, (id) => status[id], now, 14);
    expect(list.map((s) => [s.device.id, s.daysUnseen])).toEqual([
      ['never-20', 20],
      ['seen-15', 15],
    ]);
  });
});
