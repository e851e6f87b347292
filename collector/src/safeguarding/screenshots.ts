// The one way screenshot bytes leave the collector for a person: only the safeguarding role,
// only screenshots that belong to the alert named in the URL, and an audit record made durable
// BEFORE the first byte is written. Bytes are never logged.
import { ErrorCode } from '@custodian/protocol';
import { AUDIT, audit } from '../auth/audit.ts';
import { HttpError, type RequestContext } from '../http/router.ts';
import type { Store } from '../store/types.ts';
import type { RevealGate } from './dual-control.ts';

/** Only image types we produce are served as such; anything else is an opaque download. */
const SERVABLE = new Set(['image/png', 'image/jpeg']);

export async function serveScreenshot(store: Store, ctx: RequestContext, gate?: RevealGate): Promise<void> {
  const alertId = ctx.params.id as string;
  const blobId = ctx.params.blobId as string;
  const alert = await store.alerts.get(alertId);
  if (!alert) throw new HttpError(404, ErrorCode.NOT_FOUND, 'alert not found');
  // The blob must belong to this alert: a DSL link cannot be edited into another device's blob.
  if (!alert.screenshotBlobIds.includes(blobId))
    throw new HttpError(404, ErrorCode.NOT_FOUND, 'this alert has no such screenshot');
  const blob = await store.blobs.read(alert.deviceId, blobId);
  if (!blob) {
    if (alert.screenshotsExpired)
      throw new HttpError(
        410,
        ErrorCode.GONE,
        `screenshot deleted by retention: ${alert.screenshotsExpired.note}`,
      );
    throw new HttpError(404, ErrorCode.NOT_FOUND, 'screenshot not stored (not yet uploaded or deleted)');
  }
  // Dual control (dual-control.ts): refused without a second DSL's approval; else the audit
  // record of this view names the requester and the approver.
  const dual = gate ? await gate.admit(alert, ctx.principal) : undefined;
  await audit(store.audit, ctx.principal, AUDIT.screenshotViewed, `alert:${alertId}`, ctx.ip, {
    ...dual,
    blobId,
    deviceId: alert.deviceId,
    sha256: blob.meta.sha256,
    size: blob.meta.size,
  });
  const type = SERVABLE.has(blob.meta.contentType) ? blob.meta.contentType : 'application/octet-stream';
  const ext = type === 'image/jpeg' ? 'jpg' : type === 'image/png' ? 'png' : 'bin';
  ctx.res.writeHead(200, {
    'content-type': type,
    'content-length': blob.data.byteLength,
    // Evidence must not linger in browser or proxy caches.
    'cache-control': 'no-store, private',
    pragma: 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'content-disposition': `inline; filename="alert-${alertId}-${blobId}.${ext}"`,
    'referrer-policy': 'no-referrer',
  });
  ctx.res.end(blob.data);
}
