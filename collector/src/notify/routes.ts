// The notification settings API (admin and DSL): read and change the one settings record,
// add and remove webhooks (a secret shown once), send a test, read the outbox and the
// per-endpoint delivery log. Alert acknowledgement and "viewed" live with the other alert
// decisions (safeguarding/alert-routes.ts).

import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit } from '../auth/audit.ts';
import { badInput, HttpError, notFound, ROLES, type Role, type Route, route } from '../http/router.ts';
import { Body, Id, IdParams, Literals, QueryInt, Text, Type } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { testMessage } from './content.ts';
import { endpointKey, type Outbox } from './outbox.ts';
import { validTimeZone } from './schedule.ts';
import { deliverOnce } from './sender.ts';
import {
  type NotifySettings,
  newWebhookSecret,
  publicSettings,
  ROTA_STOP_ON,
  type SettingsStore,
  SMTP_SECURITY,
  TIME_WINDOWS,
  WEBHOOK_EVENTS,
} from './settings.ts';

/** Who may change where safeguarding alerts go: the DSL, and admins (who run the mail relay). */
export const NOTIFY_SETTINGS_ACCESS: readonly Role[] = ['admin', 'dsl'];

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

export const SettingsBody = Body({
  alertMinSeverity: Type.Optional(Int(1, 6, 'alerts at or above this severity notify people; 6 = none')),
  smtp: Type.Optional(Type.Union([Type.Null(), SmtpBody])),
  contacts: Type.Optional(
    Type.Array(
      Obj(
        {
          id: Id('a short id for the contact, used by the rota'),
          name: Text(1, 100, "the person's name"),
          email: Email('where their notifications go'),
          role: Literals(ROLES, 'the role they hold (staff notices for that role go to them)'),
        },
        'a person who can be notified',
      ),
      { maxItems: 50, description: 'people who can be notified (at most 50)' },
    ),
  ),
  rota: Type.Optional(
    Obj(
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
    ),
  ),
  timeZone: Type.Optional(Text(1, 64, "the school's time zone, e.g. Europe/London")),
  schoolHours: Type.Optional(
    Obj(
      {
        days: Type.Array(Int(1, 7, 'ISO weekday, 1 = Monday'), { maxItems: 7, description: 'school days' }),
        start: LocalTime('school starts'),
        end: LocalTime('school ends'),
      },
      'school hours',
    ),
  ),
  termDates: Type.Optional(
    Type.Array(
      Obj(
        {
          name: Text(0, 100, 'the term, e.g. Autumn 1'),
          start: LocalDate('first day'),
          end: LocalDate('last day'),
        },
        'a term, dates inclusive',
      ),
      { maxItems: 40, description: 'term dates; any other date is a holiday (none listed: no holidays)' },
    ),
  ),
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

const WebhookBody = Body({
  name: Text(1, 100, 'a name for the webhook, e.g. "DSL Teams channel"'),
  url: Type.String({
    maxLength: 2000,
    pattern: '^https?://[^\\s]+$',
    description: 'the receiver URL (http or https)',
  }),
  events: Type.Array(Literals(WEBHOOK_EVENTS, 'what it receives'), {
    minItems: 1,
    maxItems: 2,
    uniqueItems: true,
    description: 'alert: new alerts at or above the threshold; staff: staff notices',
  }),
});

const TestBody = Body({
  channel: Literals(['email', 'webhook'] as const, 'which channel to test'),
  to: Type.Optional(Email('for email: the address to send the test to')),
  webhookId: Type.Optional(Id('for webhook: the webhook to test')),
});

const DeliveriesQuery = Type.Object({
  endpoint: Type.Optional(
    Type.String({
      pattern: '^(webhook|email)-[A-Za-z0-9_-]{1,64}$',
      description: 'one endpoint (webhook-<id> or email-<hash>)',
    }),
  ),
  limit: Type.Optional(QueryInt(1, 500, 'how many (default 100)')),
});

type Patch = Parameters<typeof applyPatch>[1];

/** The patch onto the stored settings, with the rules across fields. Throws 400 naming the field. */
export function applyPatch(
  cur: NotifySettings,
  p: import('@sinclair/typebox').Static<typeof SettingsBody>,
): NotifySettings {
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
  if (p.timeZone !== undefined) {
    if (!validTimeZone(p.timeZone))
      throw badInput(`time zone ${p.timeZone} is not known: send an IANA name such as Europe/London`, {
        field: 'body.timeZone',
      });
    next.timeZone = p.timeZone;
  }
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

export function notifyRoutes(deps: {
  store: Store;
  settings: SettingsStore;
  outbox: Outbox;
  consoleUrl: () => string;
  now: () => number;
  wake: () => void;
}): Route[] {
  const { store, settings, outbox } = deps;
  const access = NOTIFY_SETTINGS_ACCESS;
  return [
    route({
      method: 'GET',
      path: '/api/v1/notify/settings',
      access,
      schema: { summary: 'Notification settings (no SMTP password, no webhook secrets)' },
      handler: async () => ({ settings: publicSettings(await settings.read()) }),
    }),
    route({
      method: 'PUT',
      path: '/api/v1/notify/settings',
      access,
      schema: { body: SettingsBody, summary: 'Change notification settings (fields left out are kept)' },
      handler: async (ctx) => {
        const body = ctx.input.body as Patch;
        const by = ctx.principal?.username ?? 'unknown';
        const saved = await settings.update((cur) => ({
          ...applyPatch(cur, body),
          updatedAt: deps.now(),
          updatedBy: by,
        }));
        await audit(store.audit, ctx.principal, AUDIT.notifySettingsChanged, 'notify:settings', ctx.ip, {
          fields: Object.keys(body),
        });
        return { settings: publicSettings(saved) };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/notify/webhooks',
      access,
      schema: { body: WebhookBody, summary: 'Add a webhook; its signing secret is in this answer only' },
      handler: async (ctx) => {
        const { name, url, events } = ctx.input.body;
        const secret = newWebhookSecret();
        const hook = {
          id: randomBytes(8).toString('hex'),
          name,
          url,
          events,
          secret,
          createdAt: deps.now(),
          createdBy: ctx.principal?.username ?? 'unknown',
        };
        await settings.update((s) => {
          if (s.webhooks.length >= 20) throw new HttpError(409, ErrorCode.CONFLICT, 'at most 20 webhooks');
          return { ...s, webhooks: [...s.webhooks, hook] };
        });
        await audit(store.audit, ctx.principal, AUDIT.notifyWebhookCreated, `webhook:${hook.id}`, ctx.ip, {
          name,
          events,
        });
        ctx.res.statusCode = 201;
        const { secret: _s, ...shown } = hook;
        return { webhook: shown, secret, endpoint: endpointKey('webhook', hook.id) };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/notify/webhooks/:id',
      access,
      schema: { params: IdParams('webhook'), summary: 'Remove a webhook (its waiting messages are dropped)' },
      handler: async (ctx) => {
        const { id } = ctx.input.params;
        let found = false;
        await settings.update((s) => {
          found = s.webhooks.some((w) => w.id === id);
          return { ...s, webhooks: s.webhooks.filter((w) => w.id !== id) };
        });
        if (!found) throw notFound('webhook');
        await audit(store.audit, ctx.principal, AUDIT.notifyWebhookDeleted, `webhook:${id}`, ctx.ip);
        return { ok: true };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/notify/test',
      access,
      schema: {
        body: TestBody,
        summary: 'Send a test notification now (not queued); the answer says what the endpoint said',
      },
      handler: async (ctx) => {
        const { channel, to, webhookId } = ctx.input.body;
        const target = channel === 'email' ? to : webhookId;
        if (!target)
          throw badInput(
            channel === 'email' ? 'to is required: the address to send the test to' : 'webhookId is required',
            {
              field: channel === 'email' ? 'body.to' : 'body.webhookId',
            },
          );
        const s = await settings.read();
        if (channel === 'webhook' && !s.webhooks.some((w) => w.id === target)) throw notFound('webhook');
        const by = ctx.principal?.username ?? 'unknown';
        const id = `test-${randomBytes(12).toString('base64url')}`;
        const started = deps.now();
        let result: { ok: boolean; detail: string };
        try {
          result = await deliverOnce(
            { id, channel, target, message: testMessage(deps.consoleUrl(), by) },
            s,
            started,
          );
        } catch (err) {
          result = { ok: false, detail: (err instanceof Error ? err.message : String(err)).slice(0, 200) };
        }
        const endpoint = endpointKey(channel, target);
        await outbox.log({
          endpoint,
          channel,
          outboxId: id,
          attempt: 1,
          ok: result.ok,
          detail: result.detail,
          ms: deps.now() - started,
        });
        await audit(store.audit, ctx.principal, AUDIT.notifyTestSent, `notify:${endpoint}`, ctx.ip, {
          channel,
          ok: result.ok,
        });
        if (!result.ok)
          throw new HttpError(
            502,
            ErrorCode.DELIVERY_FAILED,
            `the test was not delivered: ${result.detail}`,
            { endpoint },
          );
        return { ok: true, endpoint, detail: result.detail };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/notify/outbox',
      access,
      schema: { summary: 'Messages waiting (with attempts and next try) and the last ones sent or given up' },
      handler: async () => {
        const view = (e: Awaited<ReturnType<Outbox['pending']>>[number]) => ({
          id: e.id,
          channel: e.channel,
          endpoint: endpointKey(e.channel, e.target),
          source: e.source,
          state: e.state,
          attempts: e.attempts,
          nextTryAt: e.nextTryAt,
          lastError: e.lastError,
          createdAt: e.createdAt,
          sentAt: e.sentAt,
        });
        return { pending: (await outbox.pending()).map(view), done: (await outbox.sent(100)).map(view) };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/notify/deliveries',
      access,
      schema: {
        query: DeliveriesQuery,
        summary: 'The delivery log: every attempt per endpoint, newest first',
      },
      handler: async (ctx) => {
        const { endpoint, limit } = ctx.input.query;
        return { deliveries: await outbox.deliveries(endpoint, limit ?? 100) };
      },
    }),
  ];
}
