// What a simulated agent sends in a school day, and how often (issue 20 item 5). Pure: the
// simulator draws from these with a seeded PRNG so a run replays from its seed.
//
// The rates are those of a pupil's laptop in lessons, from the agent's own behaviour:
// - a window/title change on average every `windowEverySec` (exponential gaps; the offline soak
//   campaign uses the same 30 s);
// - a heartbeat every policy.heartbeatSeconds (the Welcome says how often; 60 s by default) with
//   the outbox depth, the logged-in user and memory figures;
// - `flagsPerDay` flagged activities, each with one small screenshot uploaded as a blob;
// - `usbPerDay` USB sticks plugged in (attached event, then removed a few minutes later);
// - at boot: AgentStarted and Inventory, as the real agent emits them.
// `speed` compresses time: at speed 10 a device sends ten school days' worth per day.
import type { IEvent } from '@custodian/protocol';

export interface SchoolDayProfile {
  windowEverySec: number;
  flagsPerDay: number;
  usbPerDay: number;
  /** Length of the school day the per-day counts spread over (08:40–15:20). */
  schoolDaySec: number;
  /** Bytes of each screenshot (a PNG header and filler: the collector checks size and hash). */
  screenshotBytes: number;
  /** Time compression (1 = real school-day rates). */
  speed: number;
}

export const SCHOOL_DAY: SchoolDayProfile = {
  windowEverySec: 30,
  flagsPerDay: 3,
  usbPerDay: 2,
  schoolDaySec: 6 * 3600 + 40 * 60,
  screenshotBytes: 24 * 1024,
  speed: 1,
};

export type ActivityKind = 'window' | 'flag' | 'usb';

/** Mean events per second of one device (heartbeats at `heartbeatSec`), for sizing figures. */
export function eventsPerSecond(p: SchoolDayProfile, heartbeatSec: number): number {
  return (
    p.speed *
    (1 / p.windowEverySec +
      1 / heartbeatSec +
      p.flagsPerDay / p.schoolDaySec +
      (2 * p.usbPerDay) / p.schoolDaySec)
  );
}

/** Rates per second of the activity kinds (heartbeats are on their own timer). */
function rates(p: SchoolDayProfile): Record<ActivityKind, number> {
  return {
    window: p.speed / p.windowEverySec,
    flag: (p.speed * p.flagsPerDay) / p.schoolDaySec,
    usb: (p.speed * p.usbPerDay) / p.schoolDaySec,
  };
}

/** The next activity: how long until it (ms, exponential) and which kind. */
export function nextActivity(
  p: SchoolDayProfile,
  random: () => number,
): { inMs: number; kind: ActivityKind } {
  const r = rates(p);
  const total = r.window + r.flag + r.usb;
  const inMs = Math.max(1, Math.round((-Math.log(1 - random()) / total) * 1000));
  const pick = random() * total;
  const kind: ActivityKind = pick < r.window ? 'window' : pick < r.window + r.flag ? 'flag' : 'usb';
  return { inMs, kind };
}

/** A heartbeat period with ±10 % jitter, compressed by speed. */
export function heartbeatEveryMs(p: SchoolDayProfile, heartbeatMs: number, random: () => number): number {
  return Math.max(50, Math.round((heartbeatMs / p.speed) * (0.9 + 0.2 * random())));
}

const APPS = [
  [
    'firefox',
    'Year 9 Geography – rivers and floods – Mozilla Firefox',
    'https://www.bbc.co.uk/bitesize/topics/zs',
  ],
  ['chromium', 'Google Docs – History essay draft', 'https://docs.google.com/document/d/1x'],
  ['libreoffice', 'maths-homework.ods – LibreOffice Calc', ''],
  ['firefox', 'Scratch – Imagine, Program, Share', 'https://scratch.mit.edu/projects/editor'],
  ['chromium', 'Oak National Academy – Lesson: Photosynthesis', 'https://www.thenational.academy/pupils'],
  ['code', 'main.py – Visual Studio Code', ''],
] as const;

export function windowEvent(seq: number, random: () => number, now = Date.now()): IEvent {
  const [app, title, url] = APPS[Math.floor(random() * APPS.length)]!;
  return {
    seq,
    timeMs: now,
    activeWindow: { app, title: `${title} (${seq})`, url, pid: 1000 + (seq % 5000) },
  };
}

export function heartbeatEvent(
  seq: number,
  uptimeSeconds: number,
  outboxDepth: number,
  now = Date.now(),
): IEvent {
  return {
    seq,
    timeMs: now,
    heartbeat: {
      uptimeSeconds,
      loggedInUser: 'pupil',
      outboxDepth,
      cpuLoadPercent: 7.5,
      memoryUsedBytes: 3_100_000_000,
      batteryPercent: 81,
      agentRssBytes: 70_000_000,
    },
  };
}

export function flagEvent(seq: number, blobId: string, now = Date.now()): IEvent {
  return {
    seq,
    timeMs: now,
    flaggedActivity: {
      category: 'custodian-diagnostic',
      severity: 1,
      matchedTerm: 'diagnostic',
      context: `simulated flag ${seq}`,
      window: { app: 'firefox', title: `simulated flag ${seq}`, url: '', pid: 1 },
      screenshotBlobIds: [blobId],
      source: 'title',
    },
  };
}

export function usbAttachedEvent(seq: number, serial: string, now = Date.now()): IEvent {
  return {
    seq,
    timeMs: now,
    usbAttached: {
      device: 'sdb1',
      vendorId: '0781',
      productId: '5583',
      vendor: 'SanDisk',
      product: 'Ultra Fit',
      serial,
      sizeBytes: 32_000_000_000,
      label: 'PUPIL',
      filesystem: 'vfat',
      encryption: 2,
      decision: 2,
      mountpoint: '/media/pupil/PUPIL',
      decisionReason: 'unencrypted: writes blocked by policy',
    },
  };
}

export function usbRemovedEvent(seq: number, serial: string, now = Date.now()): IEvent {
  return { seq, timeMs: now, usbRemoved: { device: 'sdb1', serial, label: 'PUPIL' } };
}

export function bootEvents(firstSeq: number, hostname: string, now = Date.now()): IEvent[] {
  return [
    { seq: firstSeq, timeMs: now, agentStarted: { agentVersion: 'sim-1', os: 'linux', hostname } },
    {
      seq: firstSeq + 1,
      timeMs: now,
      inventory: {
        hostname,
        osPlatform: 'linux',
        osDistro: 'Debian GNU/Linux',
        osRelease: '12',
        kernel: '6.1.0-26-amd64',
        manufacturer: 'LENOVO',
        model: 'ThinkPad 11e',
        serial: hostname.toUpperCase(),
        cpuBrand: 'Intel Celeron N4120',
        cpuCores: 4,
        memoryTotalBytes: 4_000_000_000,
        disks: [{ name: 'mmcblk0', type: 'SSD', sizeBytes: 64_000_000_000, interfaceType: 'MMC' }],
        interfaces: [{ name: 'wlan0', ipv4: '10.20.3.4', ipv6: '', mac: '00:11:22:33:44:55' }],
        hasBattery: true,
        loggedInUser: 'pupil',
        agentVersion: 'sim-1',
      },
    },
  ];
}
