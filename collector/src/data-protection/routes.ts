// Subject access and erasure routes. Subject access is the DSL's (the archive holds alerts and
// screenshots: safeguarding content, see safeguarding/roles.ts); erasure and its records are the
// DSL's and admins'. Both are audited; the archive's audit record is durable before its first byte.
import type { App } from '../app.ts';
import { audit } from '../auth/audit.ts';
import { NOTIFICATIONS_NS, Notifications, type StaffNotification } from '../auth/notifications.ts';
import { type Role, type Route, route } from '../http/router.ts';
import { Type } from '../http/schema.ts';
import { SAFEGUARDING } from '../safeguarding/roles.ts';
import { inScope, scopeList } from '../tenancy/scope.ts';
import { subjectParts, writeArchive } from './archive.ts';
import { ERASURES_NS, type ErasureRecord, erasedStatus, eraseSubject } from './erasure.ts';
import { ErasureBody, resolveSubject, SubjectQuery, selectorLabel, selectorOf } from './subject.ts';

/**
 * Who runs a subject access request: the DSL only. The archive holds every alert's term and
 * context and the decrypted screenshots, which no admin (session or API token) may otherwise read;
 * letting admins export it would make the SAR a way round SAFEGUARDING. A DPO's request is run
 * by a DSL (data-protection/README.md, "Who runs subject access").
 */
export const SUBJECT_ACCESS: readonly Role[] = SAFEGUARDING;
/** Who erases and reads the erasure records: they name a subject and counts, no safeguarding content. */
export const DATA_PROTECTION: readonly Role[] = ['dsl', 'admin'];

export const DP_AUDIT = {
  subjectAccess: 'data-protection.subject-access',
  subjectAccessCompleted: 'data-protection.subject-access-completed',
  erasure: 'data-protection.erasure',
} as const;

export function dataProtectionRoutes(app: Pick<App, 'store' | 'config' | 'log' | 'now' | 'status'>): Route[] {
  const { store } = app;
  // The DSL hears of every request (safeguarding records may be in it); never the subject's name.
  const notifications = new Notifications({
    kv: store.kv<StaffNotification>(NOTIFICATIONS_NS),
    audit: store.audit,
  });
  return [
    route({
      method: 'GET',
      path: '/api/v1/data-protection/subject-access',
      access: SUBJECT_ACCESS,
      tenancy: 'school',
      raw: true,
      schema: {
        query: SubjectQuery,
        summary: 'Everything held about a user or a device, as one zip with manifest.json (SHA-256 per part)',
      },
      handler: async (ctx) => {
        const selector = selectorOf(ctx.input.query);
        const subject = await resolveSubject(store, selector, (id) => inScope(ctx.principal, id));
        const generatedAt = new Date(app.now()).toISOString();
        const generatedBy = ctx.principal?.username ?? 'unknown';
        const reference = ctx.input.query.reference ?? '';
        const parts = await subjectParts(store, subject, { generatedAt, generatedBy, reference });
        const target = selectorLabel(selector);
        await audit(store.audit, ctx.principal, DP_AUDIT.subjectAccess, target, ctx.ip, {
          reference,
          devices: subject.devices.map((d) => d.device.id),
          alerts: subject.alerts.length,
          incidents: subject.incidents.length,
          parts: parts.length + 1,
        });
        const stamp = generatedAt.slice(0, 10);
        ctx.res.writeHead(200, {
          'content-type': 'application/zip',
          'content-disposition': `attachment; filename="subject-access-${stamp}.zip"`,
          'cache-control': 'no-store, private',
          'x-content-type-options': 'nosniff',
        });
        try {
          const done = await writeArchive(
            parts,
            { subject: target, generatedAt, generatedBy, reference },
            ctx.res,
          );
          await audit(store.audit, ctx.principal, DP_AUDIT.subjectAccessCompleted, target, ctx.ip, {
            archiveSha256: done.sha256,
            bytes: done.bytes,
            parts: done.manifest.parts.length,
          });
          await notifications.notify(
            'dsl',
            'data-protection.subject-access',
            'A subject access archive was exported',
            {
              by: generatedBy,
              alerts: subject.alerts.length,
              incidents: subject.incidents.length,
            },
          );
        } catch (err) {
          app.log.warn({ err, target: 'subject-access' }, 'subject access archive not completed');
          ctx.res.destroy();
        }
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/data-protection/erasures',
      access: DATA_PROTECTION,
      tenancy: 'school',
      schema: {
        body: ErasureBody,
        summary: 'Erase everything held about a user or a device, except what is under safeguarding hold',
      },
      handler: async (ctx) => {
        const selector = selectorOf(ctx.input.body);
        const subject = await resolveSubject(store, selector, (id) => inScope(ctx.principal, id));
        const erasure = await eraseSubject(store, subject, {
          by: ctx.principal?.username ?? 'unknown',
          reason: ctx.input.body.reason,
          now: app.now(),
          retention: app.config.retention,
          schools: scopeList(ctx.principal),
        });
        // The live status in memory too (shown on the device page, persisted at its next change).
        for (const d of subject.devices)
          if (d.whole) app.status.set(erasedStatus(app.status.get(d.device.id)));
        await audit(store.audit, ctx.principal, DP_AUDIT.erasure, erasure.subject, ctx.ip, {
          erasureId: erasure.id,
          reason: erasure.reason,
          erased: erasure.erased,
          kept: erasure.kept.length,
        });
        await notifications.notify('dsl', 'data-protection.erasure', 'Records were erased on request', {
          by: erasure.by,
          erasureId: erasure.id,
          erased: erasure.erased,
          kept: erasure.kept.length,
        });
        return { erasure };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/data-protection/erasures',
      access: DATA_PROTECTION,
      // A school-scoped account sees the erasures made within its schools (the record keeps the
      // requester's scope); erasures made trust-wide are the trust's.
      tenancy: 'school',
      schema: {
        query: Type.Object({}),
        summary: 'Erasure requests and what each erased and kept (newest first)',
      },
      handler: async (ctx) => {
        const scope = scopeList(ctx.principal);
        return {
          erasures: (await store.kv<ErasureRecord>(ERASURES_NS).list({ reverse: true, limit: 500 }))
            .map((e) => e.value)
            .filter((e) => scope === undefined || (e.schools?.every((s) => scope.includes(s)) ?? false)),
        };
      },
    }),
  ];
}
