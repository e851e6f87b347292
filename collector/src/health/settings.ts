// The school's device-health settings: ONE record (kv `health-settings`, key `school`) read
// through `readHealthSettings`, so that one record per school is the later change (tenancy).
// Defaults first; a stored record is merged onto them, so a field added later has its default.
import { type Static, Type } from '@sinclair/typebox';
import { Body, TimeZone } from '../http/schema.ts';
import type { KvNamespace, Store } from '../store/types.ts';
import type { SchoolHours } from './school-hours.ts';

export interface HealthSettings {
  schoolHours: SchoolHours;
  /** A device offline for more than this many minutes inside school hours is an alert. */
  offlineMinutes: number;
  /** Lock attempts failed in a row before an alert. */
  lockFailures: number;
  /** USB write blocks failed (since the last that landed) before an alert. */
  usbFailures: number;
  /** A device not seen for this many days is stale (lifecycle list and report). */
  staleDays: number;
  /** One notification a school day, at `at` local time, listing the open health items. */
  digest: { enabled: boolean; at: string };
  updatedAt?: number;
  updatedBy?: string;
}

export const DEFAULT_HEALTH_SETTINGS: HealthSettings = {
  schoolHours: { timeZone: 'Europe/London', days: [1, 2, 3, 4, 5], start: '08:30', end: '15:30' },
  offlineMinutes: 30,
  lockFailures: 3,
  usbFailures: 1,
  staleDays: 14,
  digest: { enabled: false, at: '07:30' },
};

export const HEALTH_SETTINGS_NS = 'health-settings';
const KEY = 'school';

export function settingsKv(store: Store): KvNamespace<HealthSettings> {
  return store.kv<HealthSettings>(HEALTH_SETTINGS_NS);
}

/** The settings in force: the stored record over the defaults. */
export async function readHealthSettings(store: Store): Promise<HealthSettings> {
  const stored = await settingsKv(store).get(KEY);
  return mergeSettings(DEFAULT_HEALTH_SETTINGS, stored ?? {});
}

export function mergeSettings(base: HealthSettings, patch: HealthSettingsPatch): HealthSettings {
  return {
    ...base,
    ...patch,
    schoolHours: { ...base.schoolHours, ...(patch.schoolHours ?? {}) },
    digest: { ...base.digest, ...(patch.digest ?? {}) },
  };
}

export async function writeHealthSettings(
  store: Store,
  patch: HealthSettingsPatch,
  actor: string,
  now: number,
): Promise<HealthSettings> {
  const next = mergeSettings(await readHealthSettings(store), {
    ...patch,
    updatedAt: now,
    updatedBy: actor,
  });
  await settingsKv(store).put(KEY, next);
  return next;
}

const HHMM = (description: string) =>
  Type.String({
    pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$',
    description: `${description}, local time HH:MM (00:00 to 24:00)`,
  });

/** The PUT body: every field optional, unknown fields refused. */
export const HealthSettingsBody = Body({
  schoolHours: Type.Optional(
    Body({
      timeZone: Type.Optional(TimeZone("the school hours' time zone")),
      days: Type.Optional(
        Type.Array(Type.Integer({ minimum: 0, maximum: 6 }), {
          maxItems: 7,
          uniqueItems: true,
          description: 'school days, 0 = Sunday … 6 = Saturday',
        }),
      ),
      start: Type.Optional(HHMM('school starts')),
      end: Type.Optional(HHMM('school ends (after start)')),
    }),
  ),
  offlineMinutes: Type.Optional(
    Type.Number({
      minimum: 0.05,
      maximum: 1440,
      description: 'minutes offline inside school hours before an alert, 0.05 to 1440',
    }),
  ),
  lockFailures: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, description: 'lock attempts failed in a row before an alert' }),
  ),
  usbFailures: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, description: 'USB write blocks failed before an alert' }),
  ),
  staleDays: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 3650,
      description: 'days unseen before a device is stale (0: every device not connected now)',
    }),
  ),
  digest: Type.Optional(
    Body({
      enabled: Type.Optional(Type.Boolean({ description: 'send a daily digest of open health items' })),
      at: Type.Optional(HHMM('when the digest goes out')),
    }),
  ),
});

/** A change as the API takes it (and a stored record, which may predate later fields). */
export type HealthSettingsPatch = Static<typeof HealthSettingsBody> & {
  updatedAt?: number;
  updatedBy?: string;
};
