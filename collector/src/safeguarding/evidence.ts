// Evidence export: one alert, or one incident with its linked alerts, as a single printable
// HTML file for the police or the local authority. The export is audited (with the SHA-256 of
// the exact file handed over) before the file is sent. Images are capped (per alert: distinct, at
// most one capture's frames; per export: MAX_EXPORT_IMAGE_BYTES) and streamed one at a time.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit } from '../auth/audit.ts';
import { HttpError, type Principal, type RequestContext } from '../http/router.ts';
import type { Alert, AuditRecord, Store } from '../store/types.ts';
import { currentUserOf, deviceSummary, screenshotIdsOf, timelineExcerpt, userAtEvent } from './context.ts';
import type { RevealGate } from './dual-control.ts';
import {
  type AlertEvidence,
  type EvidenceDoc,
  type EvidenceScreenshot,
  type HashedItem,
  IMAGE_PLACEHOLDER,
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

/** Images one export embeds at most (bytes); past it an image is listed, hashed, not embedded. */
export const MAX_EXPORT_IMAGE_BYTES = 64 * 1024 * 1024;

/** A screenshot the export streams: read (and re-verified) while the file is written. */
interface StreamedImage {
  deviceId: string;
  blobId: string;
  sha256: string;
}

/** What the images of one export may still use. */
interface ImageBudget {
  bytes: number;
  images: StreamedImage[];
}

const newBudget = (): ImageBudget => ({ bytes: MAX_EXPORT_IMAGE_BYTES, images: [] });

export async function gatherAlertEvidence(
  store: Store,
  alert: Alert,
  budget: ImageBudget = newBudget(),
): Promise<{ evidence: AlertEvidence; items: HashedItem[] }> {
  const device = await store.devices.get(alert.deviceId);
  const timeline = await timelineExcerpt(store, alert);
  const user = userAtEvent(timeline, alert, await currentUserOf(store, device, alert.deviceId));
  const items: HashedItem[] = [hashed(`Alert ${alert.id}: record (JSON)`, JSON.stringify(alert))];
  const screenshots: EvidenceScreenshot[] = [];
  // Distinct, and no more than one capture takes (alerts from before ingest capped them).
  const blobIds = screenshotIdsOf(alert);
  for (const blobId of blobIds) {
    // Hashed chunk by chunk here, embedded chunk by chunk while the file streams out.
    const blob = await store.blobs.readChunks(alert.deviceId, blobId);
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
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of blob.chunks) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
    const now = hash.digest('hex');
    const fits = size <= budget.bytes;
    const shot: EvidenceScreenshot = {
      blobId,
      contentType: blob.meta.contentType,
      size: blob.meta.size,
      sha256: blob.meta.sha256,
      sha256Now: now,
      base64: null,
      unavailable: fits
        ? null
        : `the export embeds at most ${MAX_EXPORT_IMAGE_BYTES / 1024 / 1024} MiB of images; export this alert on its own`,
    };
    if (fits) {
      budget.bytes -= size;
      shot.embed = budget.images.length;
      budget.images.push({ deviceId: alert.deviceId, blobId, sha256: now });
    }
    screenshots.push(shot);
    items.push({ label: `Alert ${alert.id}: screenshot ${blobId}`, sha256: now, bytes: size });
  }
  const accessLog = await auditTrail(store, `alert:${alert.id}`);
  items.push(hashed(`Alert ${alert.id}: timeline excerpt (JSON)`, JSON.stringify(timeline)));
  items.push(hashed(`Alert ${alert.id}: access log (JSON)`, JSON.stringify(accessLog)));
  const omitted = alert.screenshotBlobIds.length - blobIds.length;
  return {
    evidence: {
      alert,
      device: deviceSummary(device, alert.deviceId),
      user,
      screenshots,
      timeline,
      accessLog,
      ...(omitted > 0 ? { screenshotsOmitted: omitted } : {}),
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

/**
 * The file as text parts and images: even indexes are HTML, odd ones the index of a streamed image.
 * Walked twice, once to hash (the audit record holds the hash before a byte leaves) and once to
 * send; images go chunk by chunk, so memory holds one stored chunk at a time, whatever the export.
 */
async function walkExport(
  store: Store,
  parts: string[],
  images: StreamedImage[],
  write: (chunk: string) => Promise<void> | void,
): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    if (i % 2 === 0) {
      await write(parts[i] as string);
      continue;
    }
    const img = images[Number(parts[i])] as StreamedImage;
    const blob = await store.blobs.readChunks(img.deviceId, img.blobId);
    const changed = () =>
      new HttpError(409, ErrorCode.CONFLICT, `screenshot ${img.blobId} changed during the export`);
    if (!blob) throw changed();
    // base64 in pieces: a piece ends on a whole 3-byte group, the rest carries to the next one.
    const hash = createHash('sha256');
    let carry: Buffer = Buffer.alloc(0);
    for await (const chunk of blob.chunks) {
      hash.update(chunk);
      const buf = carry.length ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
      const cut = buf.length - (buf.length % 3);
      await write(buf.subarray(0, cut).toString('base64'));
      carry = buf.subarray(cut);
    }
    if (carry.length) await write(carry.toString('base64'));
    // Deleted or changed since it was hashed: the file would not match its audit record.
    if (hash.digest('hex') !== img.sha256) throw changed();
  }
}

async function send(
  store: Store,
  ctx: RequestContext,
  doc: EvidenceDoc,
  target: string,
  filename: string,
  blobIds: string[],
  images: StreamedImage[],
  dualControl: Record<string, unknown>[] = [],
): Promise<void> {
  const parts = renderEvidenceHtml(doc).split(IMAGE_PLACEHOLDER);
  const hash = createHash('sha256');
  let bytes = 0;
  await walkExport(store, parts, images, (chunk) => {
    hash.update(chunk);
    bytes += Buffer.byteLength(chunk);
  });
  const digest = hash.digest('hex');
  await audit(store.audit, ctx.principal, AUDIT.evidenceExported, target, ctx.ip, {
    exportId: doc.exportId,
    sha256: digest,
    bytes,
    alertIds: doc.alerts.map((a) => a.alert.id),
    blobIds,
    // The images embed screenshots: under dual control, who asked and who approved, per alert.
    ...(dualControl.length ? { dualControl } : {}),
  });
  // Each linked alert's own trail also shows that its evidence left the system.
  if (doc.kind === 'incident')
    for (const a of doc.alerts)
      await audit(store.audit, ctx.principal, AUDIT.evidenceExported, `alert:${a.alert.id}`, ctx.ip, {
        exportId: doc.exportId,
        sha256: digest,
        via: target,
      });
  const { res } = ctx;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': bytes,
    'content-disposition': `attachment; filename="${filename}"`,
    'cache-control': 'no-store, private',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
    'referrer-policy': 'no-referrer',
    'x-evidence-sha256': digest,
    'x-evidence-export-id': doc.exportId,
  });
  try {
    await walkExport(store, parts, images, async (chunk) => {
      if (res.destroyed) throw new Error('client went away');
      if (!res.write(chunk)) await once(res, 'drain');
    });
    res.end();
  } catch {
    // Headers are out: the only honest signal left is a cut-off response (length mismatch).
    res.destroy();
  }
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Dual control for every alert whose images an export embeds: all admitted, or none sent. */
async function admitAll(
  gate: RevealGate | undefined,
  alerts: Alert[],
  p: Principal | undefined,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  if (!gate) return out;
  for (const a of alerts) {
    const d = await gate.admit(a, p);
    if (d) out.push({ alertId: a.id, ...(d.dualControl as Record<string, unknown>) });
  }
  return out;
}

export async function exportAlert(store: Store, ctx: RequestContext, gate?: RevealGate): Promise<void> {
  const alert = await store.alerts.get(ctx.params.id as string);
  if (!alert) throw new HttpError(404, ErrorCode.NOT_FOUND, 'alert not found');
  const dual = await admitAll(gate, [alert], ctx.principal);
  const budget = newBudget();
  const { evidence, items } = await gatherAlertEvidence(store, alert, budget);
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
    budget.images.map((i) => i.blobId),
    budget.images,
    dual,
  );
}

export async function exportIncident(
  store: Store,
  incidents: IncidentService,
  ctx: RequestContext,
  gate?: RevealGate,
): Promise<void> {
  const incident = await incidents.require(ctx.params.id as string);
  const linked: Alert[] = [];
  for (const id of incident.linkedAlertIds) {
    const a = await store.alerts.get(id);
    if (a) linked.push(a);
  }
  const dual = await admitAll(gate, linked, ctx.principal);
  const alerts: AlertEvidence[] = [];
  const items: HashedItem[] = [hashed(`Incident ${incident.id}: record (JSON)`, JSON.stringify(incident))];
  // One image budget for the whole incident: many linked alerts cannot add up to a huge file.
  const budget = newBudget();
  for (const alert of linked) {
    const gathered = await gatherAlertEvidence(store, alert, budget);
    alerts.push(gathered.evidence);
    items.push(...gathered.items);
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
    budget.images.map((i) => i.blobId),
    budget.images,
    dual,
  );
}
