// A school's own notify layer (issue 20): who is told of THAT school's alerts. One record per
// school (kv `notify-school-settings`, key = schoolId) over the trust's one record (settings.ts):
// the layer holds the school's contacts and rota, and optionally its own school hours, time zone
// and term dates (absent: the trust's). Everything else — the alert threshold, the SMTP relay,
// the webhooks, retries, and the staff notices by role — stays the trust's.
// Pure: the merge and the choice of a chain (the patch rules are in settings-schema.ts).
import { contactsFor } from './rota.ts';
import type { Contact, NotifySettings } from './settings.ts';

export const SCHOOL_LAYERS_NS = 'notify-school-settings';

export interface SchoolNotifyLayer {
  schoolId: string;
  contacts: Contact[];
  rota: NotifySettings['rota'];
  /** Absent: the trust's. */
  timeZone?: string;
  schoolHours?: NotifySettings['schoolHours'];
  termDates?: NotifySettings['termDates'];
  updatedAt: number;
  updatedBy: string;
}

/** The schedule fields a layer may leave to the trust. */
export const LAYER_SCHEDULE_FIELDS = ['timeZone', 'schoolHours', 'termDates'] as const;

/**
 * The settings an alert of this school is handled with: the trust record with the layer's
 * contacts, rota and schedule (the schedule fields it sets). No layer: the trust record as it is.
 */
export function layeredSettings(trust: NotifySettings, layer: SchoolNotifyLayer | null): NotifySettings {
  if (!layer) return trust;
  return {
    ...trust,
    contacts: layer.contacts,
    rota: layer.rota,
    timeZone: layer.timeZone ?? trust.timeZone,
    schoolHours: layer.schoolHours ?? trust.schoolHours,
    termDates: layer.termDates ?? trust.termDates,
  };
}

/** Which record's contacts a new chain uses: the school's layer (its id) or the trust's (null). */
export interface ChainChoice {
  layer: string | null;
  contacts: string[];
}

/**
 * The contacts of a new chain for an alert of a school: the first matching band of the school's
 * layer (in the school's time window); when the school has no layer, or none of its bands matches
 * (a school that covers school hours only, say), the trust's rota as before — an alert is never
 * left with nobody because a school's rota has a gap the trust's covers.
 */
export function chooseChain(
  severity: number,
  now: number,
  trust: NotifySettings,
  layer: SchoolNotifyLayer | null,
): ChainChoice {
  if (layer) {
    const contacts = contactsFor(severity, now, layeredSettings(trust, layer));
    if (contacts.length > 0) return { layer: layer.schoolId, contacts };
  }
  return { layer: null, contacts: contactsFor(severity, now, trust) };
}
