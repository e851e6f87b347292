// What the notification settings routes accept (TypeBox, checked by the router before the
// handler) and the rules across fields that a schema cannot say (applyPatch).

import type { Static } from '@sinclair/typebox';
import { badInput, ROLES } from '../http/router.ts';
import { Body, Id, Literals, QueryInt, Text, TimeZone, Type } from '../http/schema.ts';
import { LAYER_SCHEDULE_FIELDS, layeredSettings, type SchoolNotifyLayer } from './school-layer.ts';
import {
  type NotifySettings,
  ROTA_STOP_ON,
  SMTP_SECURITY,
  TIME_WINDOWS,
  WEBHOOK_EVENTS,
} from './settings.ts';

const Email = (description: string) =>
  Type.String({
    maxLength: 254,
    pattern: '^[^\\s@<>()",;:\\\\]{1,64}@[A-Za-z0-9.-]{1,253}$',
    description: `${description}: an email address (name@example.sch.uk)`,
  });
const LocalTime = (description: string) =>
  Type.String({
    pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
    description: `${description}: a local time HH:MM`,
  });
const LocalDate = (description: string) =>
  Type.String({
    pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$',
    description: `${description}: YYYY-MM-DD`,
  });
const Int = (minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, description: `${description} (${minimum} to ${maximum})` });
const Obj = <P extends Parameters<typeof Type.Object>[0]>(p: P, description: string) =>
  Type.Object(p, { additionalProperties: false, description });

const SmtpBody = Obj(
  {
    host: Text(1, 253, 'the SMTP relay host name'),
    port: Int(1, 65535, 'its port (465 for tls, 587 for starttls)'),
    security: Literals(
      SMTP_SECURITY,
      'tls (implicit TLS), starttls (required), none (a relay on this machine only)',
    ),
    user: Text(0, 254, 'the user name to log in with (empty: no login)'),
    password: Type.Optional(
      Type.String({
        maxLength: 512,
        description:
          'the password (stored, never shown again); leave out to keep the stored one, empty to remove it',
      }),
    ),
    from: Email('the From address'),
  },
  'the SMTP relay, or null to send no email',
);

/** The people who can be notified (the trust record's, or a school layer's: `role` says what it is for). */
const Contacts = (roleDescription: string) =>
  Type.Array(
    Obj(
      {
        id: Id('a short id for the contact, used by the rota'),
        name: Text(1, 100, "the person's name"),
        email: Email('where their notifications go'),
        role: Literals(ROLES, roleDescription),
      },
      'a person who can be notified',
    ),
    { maxItems: 50, description: 'people who can be notified (at most 50)' },
  );

const RotaSchema = Obj(
  {
    escalateAfterMinutes: Int(1, 1440, 'minutes before the next contact is told'),
    stopOn: Literals(ROTA_STOP_ON, 'what stops the chain besides a decision on the alert'),
    bands: Type.Array(
      Obj(
        {
          minSeverity: Int(1, 5, 'alerts at least this severe'),
          window: Literals(TIME_WINDOWS, 'when this band applies'),
          contacts: Type.Array(Id('a contact id'), { maxItems: 20, description: 'contact ids in order' }),
        },
        'a band: the first matching one is used',
      ),
      { maxItems: 20, description: 'ordered contacts per severity and time window' },
    ),
  },
  'the rota',
);

const SchoolHoursSchema = Obj(
  {
    days: Type.Array(Int(1, 7, 'ISO weekday, 1 = Monday'), { maxItems: 7, description: 'school days' }),
    start: LocalTime('school starts'),
    end: LocalTime('school ends'),
  },
  'school hours',
);

const TermDatesSchema = Type.Array(
  Obj(
    {
      name: Text(0, 100, 'the term, e.g. Autumn 1'),
      start: LocalDate('first day'),
      end: LocalDate('last day'),
    },
    'a term, dates inclusive',
  ),
  { maxItems: 40, description: 'term dates; any other date is a holiday (none listed: no holidays)' },
);

export const SettingsBody = Body({
  alertMinSeverity: Type.Optional(Int(1, 6, 'alerts at or above this severity notify people; 6 = none')),
  smtp: Type.Optional(Type.Union([Type.Null(), SmtpBody])),
  contacts: Type.Optional(Contacts('the role they hold (staff notices for that role go to them)')),
  rota: Type.Optional(RotaSchema),
  timeZone: Type.Optional(TimeZone()),
  schoolHours: Type.Optional(SchoolHoursSchema),
  termDates: Type.Optional(TermDatesSchema),
  delivery: Type.Optional(
    Obj(
      {
        retryBaseSeconds: Int(1, 3600, 'seconds before the first retry (doubling after)'),
        maxAttempts: Int(1, 50, 'attempts before giving up'),
      },
      'retries',
    ),
  ),
});

/** A school's notify layer (school-layer.ts): fields left out are kept; null = the trust's again. */
export const SchoolLayerBody = Body({
  contacts: Type.Optional(
    Contacts("the role they hold (for the record: staff notices go to the trust's contacts)"),
  ),
  rota: Type.Optional(RotaSchema),
  timeZone: Type.Optional(
    Type.Union([Type.Null(), TimeZone()], { description: "the school's time zone; null: the trust's" }),
  ),
  schoolHours: Type.Optional(
    Type.Union([Type.Null(), SchoolHoursSchema], { description: "the school's hours; null: the trust's" }),
  ),
  termDates: Type.Optional(
    Type.Union([Type.Null(), TermDatesSchema], { description: "the school's terms; null: the trust's" }),
  ),
});

export const WebhookBody = Body({
  name: Text(1, 100, 'a name for the webhook, e.g. "DSL Teams channel"'),
  url: Type.String({
    maxLength: 2000,
    pattern: '^https?://[^\\s]+$',
    description: 'the receiver URL: https (plain http only to this machine: 127.0.0.1, ::1, localhost)',
  }),
  events: Type.Array(Literals(WEBHOOK_EVENTS, 'what it receives'), {
    minItems: 1,
    maxItems: 2,
    uniqueItems: true,
    description: 'alert: new alerts at or above the threshold; staff: staff notices',
  }),
});

/** A test of one channel: an email address, or a webhook by id (one shape each). */
export const TestBody = Type.Union(
  [
    Body({
      channel: Type.Literal('email', { description: 'which channel to test' }),
      to: Email('the address to send the test to'),
    }),
    Body({
      channel: Type.Literal('webhook', { description: 'which channel to test' }),
      webhookId: Id('the webhook to test'),
    }),
  ],
  { description: '{channel: email, to} or {channel: webhook, webhookId}' },
);

export const DeliveriesQuery = Type.Object({
  endpoint: Type.Optional(
    Type.String({
      pattern: '^(webhook|email)-[A-Za-z0-9_-]{1,64}$',
      description: 'one endpoint (webhook-<id> or email-<hash>)',
    }),
  ),
  limit: Type.Optional(QueryInt(1, 500, 'how many (default 100)')),
});

export type SettingsPatch = Static<typeof SettingsBody>;

/** The patch onto the stored settings, with the rules across fields. Throws 400 naming the field. */
export function applyPatch(cur: NotifySettings, p: SettingsPatch): NotifySettings {
  const next: NotifySettings = { ...cur };
  if (p.alertMinSeverity !== undefined) next.alertMinSeverity = p.alertMinSeverity;
  if (p.smtp !== undefined) {
    if (p.smtp === null) next.smtp = null;
    else {
      const { password, ...rest } = p.smtp;
      next.smtp = { ...rest, password: password ?? cur.smtp?.password ?? '' };
    }
  }
  if (p.contacts) {
    const ids = new Set<string>();
    for (const c of p.contacts) {
      if (ids.has(c.id)) throw badInput(`contact id ${c.id} is listed twice`, { field: 'body.contacts' });
      ids.add(c.id);
    }
    next.contacts = p.contacts;
  }
  if (p.rota) next.rota = p.rota;
  // Known to this server: its schema (TimeZone) checked it.
  if (p.timeZone !== undefined) next.timeZone = p.timeZone;
  if (p.schoolHours) {
    if (p.schoolHours.start >= p.schoolHours.end)
      throw badInput('school hours must end after they start', { field: 'body.schoolHours' });
    next.schoolHours = p.schoolHours;
  }
  if (p.termDates) {
    for (const t of p.termDates)
      if (t.start > t.end)
        throw badInput(`term ${t.name || t.start} ends before it starts`, { field: 'body.termDates' });
    next.termDates = p.termDates;
  }
  if (p.delivery) next.delivery = p.delivery;
  const known = new Set(next.contacts.map((c) => c.id));
  for (const b of next.rota.bands)
    for (const id of b.contacts)
      if (!known.has(id))
        throw badInput(`the rota names contact ${id}, who is not in contacts`, { field: 'body.rota' });
  return next;
}

/**
 * A webhook URL the collector will POST to: https, or plain http to this machine only (a relay
 * or bridge beside the collector). Anything else would send the signed body in clear. Throws 400.
 */
export function checkWebhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badInput(`url ${raw.slice(0, 100)} is not a URL`, { field: 'body.url' });
  }
  const local = ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  if (u.protocol === 'https:' || (u.protocol === 'http:' && local)) {
    if (u.username || u.password)
      throw badInput('url must not carry a user name or password: the signature is the credential', {
        field: 'body.url',
      });
    return u.href;
  }
  throw badInput('url must be https (plain http only to 127.0.0.1, ::1 or localhost)', { field: 'body.url' });
}

/** What the school layer routes accept: the layer's fields; `null` for a schedule field = the trust's. */
export type LayerPatch = Static<typeof SchoolLayerBody>;

/**
 * The patch onto a school's layer (a new layer starts with no contacts and no bands, the trust's
 * escalation time and stop rule). The same rules across fields as the trust record (applyPatch:
 * unique contact ids, bands name the layer's own contacts, hours and terms in order). Throws 400.
 */
export function applyLayerPatch(
  trust: NotifySettings,
  cur: SchoolNotifyLayer | null,
  schoolId: string,
  p: LayerPatch,
  by: string,
  at: number,
): SchoolNotifyLayer {
  const base: SchoolNotifyLayer = cur ?? {
    schoolId,
    contacts: [],
    rota: { ...trust.rota, bands: [] },
    updatedAt: at,
    updatedBy: by,
  };
  const checked: SettingsPatch = {};
  if (p.contacts) checked.contacts = p.contacts;
  if (p.rota) checked.rota = p.rota;
  if (p.timeZone) checked.timeZone = p.timeZone;
  if (p.schoolHours) checked.schoolHours = p.schoolHours;
  if (p.termDates) checked.termDates = p.termDates;
  const merged = applyPatch(layeredSettings(trust, base), checked);
  const next: SchoolNotifyLayer = {
    schoolId,
    contacts: merged.contacts,
    rota: merged.rota,
    updatedAt: at,
    updatedBy: by,
  };
  for (const f of LAYER_SCHEDULE_FIELDS) {
    const v = p[f] === undefined ? base[f] : p[f] === null ? undefined : merged[f];
    if (v !== undefined) (next as unknown as Record<string, unknown>)[f] = v;
  }
  return next;
}
