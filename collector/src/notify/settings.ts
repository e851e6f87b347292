// The trust's notification settings: ONE record (kv `notify-settings`, key `settings`) read
// through `read()` only; a school's own layer over it (its contacts, rota and schedule, kv
// `notify-school-settings`, school-layer.ts) is read through `settingsForSchool()` only. Holds
// the SMTP relay (its password is stored and never answered), the webhooks (each secret is shown
// once, when the webhook is created), the contacts, the rota, the alert threshold, school hours
// and term dates. Pure shaping (defaults, the public view) is here; the routes are in routes.ts.
import { randomBytes } from 'node:crypto';
import type { Role } from '../http/router.ts';
import type { AuditInput, KvNamespace } from '../store/types.ts';
import { DEFAULT_SCHOOL_ID } from '../tenancy/model.ts';
import { layeredSettings, type SchoolNotifyLayer } from './school-layer.ts';

export const SMTP_SECURITY = ['tls', 'starttls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];
export const TIME_WINDOWS = ['school-hours', 'out-of-hours', 'holidays', 'any'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];
export const WEBHOOK_EVENTS = ['alert', 'staff'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** When the rota stops moving to the next contact: a DSL opened the alert in the console (`viewed`), or acknowledged it. */
export const ROTA_STOP_ON = ['viewed', 'acknowledged'] as const;
export type RotaStopOn = (typeof ROTA_STOP_ON)[number];

export interface SmtpSettings {
  host: string;
  port: number;
  /** `tls`: TLS from the first byte (465); `starttls`: plain then STARTTLS, required (587); `none`: a relay on this machine only. */
  security: SmtpSecurity;
  user: string;
  /** Stored to log in to the relay; never answered by any route. */
  password: string;
  from: string;
}

export interface Contact {
  id: string;
  name: string;
  email: string;
  /** The role this person holds: staff notifications for the role go to every contact with it. */
  role: Role;
}

export interface RotaBand {
  /** Alerts of at least this severity use this band. */
  minSeverity: number;
  window: TimeWindow;
  /** Contact ids, in the order they are told. */
  contacts: string[];
}

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: WebhookEvent[];
  /** HMAC-SHA256 key (base64url); shown once on creation, never answered again. */
  secret: string;
  createdAt: number;
  createdBy: string;
}

export interface NotifySettings {
  /** Alerts at or above this severity start the rota (and go to `alert` webhooks). 6 = none. */
  alertMinSeverity: number;
  smtp: SmtpSettings | null;
  webhooks: Webhook[];
  contacts: Contact[];
  rota: { escalateAfterMinutes: number; stopOn: RotaStopOn; bands: RotaBand[] };
  /** IANA time zone of the school (school hours and term dates are local times). */
  timeZone: string;
  /** ISO weekdays (1 = Monday) and local times `HH:MM`. */
  schoolHours: { days: number[]; start: string; end: string };
  /** Terms, local dates `YYYY-MM-DD` inclusive. A date outside every term is a holiday (when any term is listed). */
  termDates: { name: string; start: string; end: string }[];
  /** Retries: first after `retryBaseSeconds`, doubling, at most `maxAttempts` attempts in all. */
  delivery: { retryBaseSeconds: number; maxAttempts: number };
  updatedAt: number;
  updatedBy: string;
}

export const DEFAULT_SETTINGS: NotifySettings = {
  alertMinSeverity: 4,
  smtp: null,
  webhooks: [],
  contacts: [],
  rota: { escalateAfterMinutes: 15, stopOn: 'viewed', bands: [] },
  timeZone: 'Europe/London',
  schoolHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '16:30' },
  termDates: [],
  delivery: { retryBaseSeconds: 30, maxAttempts: 12 },
  updatedAt: 0,
  updatedBy: 'system',
};

export const SETTINGS_NS = 'notify-settings';
const KEY = 'settings';

/** What GET answers: no SMTP password (only whether one is set), no webhook secrets. */
export function publicSettings(s: NotifySettings) {
  const { smtp, webhooks, ...rest } = s;
  return {
    ...rest,
    smtp: smtp ? { ...smtp, password: undefined, passwordSet: smtp.password !== '' } : null,
    webhooks: webhooks.map(({ secret: _secret, ...w }) => w),
  };
}

export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

export class SettingsStore {
  private readonly kv: KvNamespace<NotifySettings>;
  private readonly layers: KvNamespace<SchoolNotifyLayer> | undefined;

  /** Without `layers` (unit tests of the trust record): no school has a layer. */
  constructor(kv: KvNamespace<NotifySettings>, layers?: KvNamespace<SchoolNotifyLayer>) {
    this.kv = kv;
    this.layers = layers;
  }

  /** The one way the trust's settings are read. */
  async read(): Promise<NotifySettings> {
    const stored = await this.kv.get(KEY);
    return stored ? { ...DEFAULT_SETTINGS, ...stored } : structuredClone(DEFAULT_SETTINGS);
  }

  /** Read-modify-write under the store lock. */
  async update(change: (s: NotifySettings) => NotifySettings): Promise<NotifySettings> {
    const out = await this.kv.update(KEY, (cur) =>
      change(cur ? { ...DEFAULT_SETTINGS, ...cur } : structuredClone(DEFAULT_SETTINGS)),
    );
    return out as NotifySettings;
  }

  /** A school's own layer, or null (no layer: the trust's record applies). */
  async layerOf(schoolId: string = DEFAULT_SCHOOL_ID): Promise<SchoolNotifyLayer | null> {
    return (await this.layers?.get(schoolId)) ?? null;
  }

  /**
   * The one way a school's notification settings are read: the trust record, with the school's
   * layer over it when it has one (school-layer.ts `layeredSettings`), and that layer.
   */
  async settingsForSchool(
    schoolId: string = DEFAULT_SCHOOL_ID,
  ): Promise<{ settings: NotifySettings; trust: NotifySettings; layer: SchoolNotifyLayer | null }> {
    const [trust, layer] = await Promise.all([this.read(), this.layerOf(schoolId)]);
    return { settings: layeredSettings(trust, layer), trust, layer };
  }

  /**
   * Read-modify-write of a school's layer under the store lock, its audit record in the same
   * batch (`audit` is given the old and new layer). `change` returns undefined to remove it.
   */
  async updateLayer(
    schoolId: string,
    change: (cur: SchoolNotifyLayer | null) => SchoolNotifyLayer | undefined,
    audit: (old: SchoolNotifyLayer | null, next: SchoolNotifyLayer | null) => AuditInput,
  ): Promise<SchoolNotifyLayer | null> {
    if (!this.layers) throw new Error('no school layers in this settings store');
    // The audit record names the old and new layer and is written in the same batch, so the
    // change is worked out before the write; a write that lands in between (another process)
    // makes this one start again rather than record an old value that is no longer true.
    const layers = this.layers;
    const raced = new Error('changed meanwhile');
    for (;;) {
      const cur = (await layers.get(schoolId)) ?? null;
      const next = change(cur) ?? null;
      try {
        const out = await layers.update(
          schoolId,
          (now) => {
            if (JSON.stringify(now ?? null) !== JSON.stringify(cur)) throw raced;
            return next ?? undefined;
          },
          audit(cur, next),
        );
        return out ?? null;
      } catch (err) {
        if (err !== raced) throw err;
      }
    }
  }
}
