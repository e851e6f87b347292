// Evidence export: one alert, or one incident with its linked alerts, as a single printable
// HTML file for the police or the local authority. The export is audited (with the SHA-256 of
// the exact file handed over) before the file is sent.
import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit } from '../auth/audit.ts';
import { HttpError, type Principal, type RequestContext } from '../http/router.ts';
import type { Alert, AuditRecord, Store } from '../store/types.ts';
import { currentUserOf, deviceSummary, timelineExcerpt, userAtEvent } from './context.ts';
import {
  type AlertEvidence,
  type EvidenceDoc,
  type EvidenceScreenshot,
  type HashedItem,
  renderEvidenceHtml,
} from './evidence-html.ts';
import type { IncidentService } from './incidents.ts';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

function hashed(label: string, data: string | Uint8Array): HashedItem {
  return {
    label,
    sha256: sha256(data),
    bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength,
  };
}

async function auditTrail(store: Store, target: string): Promise<AuditRecord[]> {
  const { records } = await store.audit.list({ target, limit: 1000 });
  return records.reverse();
}

export async function gatherAlertEvidence(
  store: Store,
  alert: Alert,
): Promise<{ evidence: AlertEvidence; items: HashedItem[] }> {
  const device = await store.devices.get(alert.deviceId);
  const timeline = await timelineExcerpt(store, alert);
  const user = userAtEvent(timeline, alert, await currentUserOf(store, device, alert.deviceId));
  const items: HashedItem[] = [hashed(`Alert ${alert.id}: record (JSON)`, JSON.stringify(alert))];
  const screenshots: EvidenceScreenshot[] = [];
  for (const blobId of alert.screenshotBlobIds) {
    const blob = await store.blobs.read(alert.deviceId, blobId);
    if (!blob) {
      screenshots.push({
        blobId,
        contentType: null,
        size: null,
        sha256: null,
        sha256Now: null,
        base64: null,
        unavailable: alert.screenshotsExpired ? 'deleted by the retention policy' : 'not stored',
      });
      continue;
    }
    const now = sha256(blob.data);
    screenshots.push({
      blobId,
      contentType: blob.meta.contentType,
      size: blob.meta.size,
      sha256: blob.meta.sha256,
      sha256Now: now,
      base64: Buffer.from(blob.data).toString('base64'),
      unavailable: null,
    });
    items.push({
      label: `Alert ${alert.id}: screenshot ${blobId}`,
      sha256: now,
      bytes: blob.data.byteLength,
    });
  }
  const accessLog = await auditTrail(store, `alert:${alert.id}`);
  items.push(hashed(`Alert ${alert.id}: timeline excerpt (JSON)`, JSON.stringify(timeline)));
  items.push(hashed(`Alert ${alert.id}: access log (JSON)`, JSON.stringify(accessLog)));
  return {
    evidence: {
      alert,
      device: deviceSummary(device, alert.deviceId),
      user,
      screenshots,
      timeline,
      accessLog,
    },
    items,
  };
}

function newExportId(): string {
  return `ex_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

function generatedBy(p: Principal | undefined) {
  return { username: p?.username ?? 'unknown', role: p?.role ?? 'unknown' };
}

async function send(
  store: Store,
  ctx: RequestContext,
  doc: EvidenceDoc,
  target: string,
  filename: string,
  blobIds: string[],
): Promise<void> {
  const html = renderEvidenceHtml(doc);
  const digest = sha256(html);
  await audit(store.audit, ctx.principal, AUDIT.evidenceExported, target, ctx.ip, {
    exportId: doc.exportId,
    sha256: digest,
    bytes: Buffer.byteLength(html),
    alertIds: doc.alerts.map((a) => a.alert.id),
    blobIds,
  });
  // Each linked alert's own trail also shows that its evidence left the system.
  if (doc.kind === 'incident')
    for (const a of doc.alerts)
      await audit(store.audit, ctx.principal, AUDIT.evidenceExported, `alert:${a.alert.id}`, ctx.ip, {
        exportId: doc.exportId,
        sha256: digest,
        via: target,
      });
  ctx.res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-disposition': `attachment; filename="${filename}"`,
    'cache-control': 'no-store, private',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
    'referrer-policy': 'no-referrer',
    'x-evidence-sha256': digest,
    'x-evidence-export-id': doc.exportId,
  });
  ctx.res.end(html);
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export async function exportAlert(store: Store, ctx: RequestContext): Promise<void> {
  const alert = await store.alerts.get(ctx.params.id as string);
  if (!alert) throw new HttpError(404, ErrorCode.NOT_FOUND, 'alert not found');
  const { evidence, items } = await gatherAlertEvidence(store, alert);
  const generatedAt = Date.now();
  const doc: EvidenceDoc = {
    kind: 'alert',
    exportId: newExportId(),
    generatedAt,
    generatedBy: generatedBy(ctx.principal),
    alerts: [evidence],
    items,
  };
  await send(
    store,
    ctx,
    doc,
    `alert:${alert.id}`,
    `evidence-${alert.id}-${day(generatedAt)}.html`,
    alert.screenshotBlobIds,
  );
}

export async function exportIncident(
  store: Store,
  incidents: IncidentService,
  ctx: RequestContext,
): Promise<void> {
  const incident = await incidents.require(ctx.params.id as string);
  const alerts: AlertEvidence[] = [];
  const items: HashedItem[] = [hashed(`Incident ${incident.id}: record (JSON)`, JSON.stringify(incident))];
  const blobIds: string[] = [];
  for (const id of incident.linkedAlertIds) {
    const alert = await store.alerts.get(id);
    if (!alert) continue;
    const gathered = await gatherAlertEvidence(store, alert);
    alerts.push(gathered.evidence);
    items.push(...gathered.items);
    blobIds.push(...alert.screenshotBlobIds);
  }
  const incidentLog = await auditTrail(store, `incident:${incident.id}`);
  items.push(hashed(`Incident ${incident.id}: audit log (JSON)`, JSON.stringify(incidentLog)));
  const generatedAt = Date.now();
  const doc: EvidenceDoc = {
    kind: 'incident',
    exportId: newExportId(),
    generatedAt,
    generatedBy: generatedBy(ctx.principal),
    incident,
    incidentLog,
    alerts,
    items,
  };
  await send(
    store,
    ctx,
    doc,
    `incident:${incident.id}`,
    `evidence-${incident.id}-${day(generatedAt)}.html`,
    blobIds,
  );
}
