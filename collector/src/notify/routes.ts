// The notification settings API (admin and DSL): read and change the one settings record,
// add and remove webhooks (a secret shown once), send a test, read the outbox and the
// per-endpoint delivery log. Alert acknowledgement and "viewed" live with the other alert
// decisions (safeguarding/alert-routes.ts).

import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit } from '../auth/audit.ts';
import { HttpError, notFound, type Role, type Route, route } from '../http/router.ts';
import { IdParams } from '../http/schema.ts';
import type { Store } from '../store/types.ts';
import { testMessage } from './content.ts';
import { endpointKey, type Outbox } from './outbox.ts';
import { deliverOnce } from './sender.ts';
import { newWebhookSecret, publicSettings, type SettingsStore } from './settings.ts';
import {
  applyPatch,
  checkWebhookUrl,
  DeliveriesQuery,
  SettingsBody,
  type SettingsPatch,
  TestBody,
  WebhookBody,
} from './settings-schema.ts';

/** Who may change where safeguarding alerts go: the DSL, and admins (who run the mail relay). */
export const NOTIFY_SETTINGS_ACCESS: readonly Role[] = ['admin', 'dsl'];

export function notifyRoutes(deps: {
  store: Store;
  settings: SettingsStore;
  outbox: Outbox;
  consoleUrl: () => string;
  now: () => number;
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
        const body = ctx.input.body as SettingsPatch;
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
        const { name, events } = ctx.input.body;
        const url = checkWebhookUrl(ctx.input.body.url);
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
        const b = ctx.input.body;
        const { channel } = b;
        const target = b.channel === 'email' ? b.to : b.webhookId;
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
