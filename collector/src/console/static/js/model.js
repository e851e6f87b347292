// Reads the collector's JSON into the few shapes the pages draw. The collector's field names
// are mapped here and nowhere else, so an API change touches one file.

/** @param {...unknown} values */
function first(...values) {
  for (const v of values) if (v !== undefined && v !== null && v !== '') return v;
  return undefined;
}

/**
 * @typedef {{ device: string, label: string, encryption: string, decision: string, mountpoint: string, vendor: string, product: string, serial: string, sizeBytes: number }} UsbView
 * @typedef {{ name: string, available: boolean, reason: string }} CapabilityView
 * @typedef {{
 *   id: string, hostname: string, os: string, byod: boolean, agreementOutdated: boolean, revoked: boolean,
 *   online: boolean, lastSeen: number | null, user: string, app: string, title: string, url: string,
 *   titleHidden: string, urlHidden: string,
 *   idle: string, locked: boolean, usb: UsbView[], agentVersion: string, policyVersion: number | null,
 *   unavailable: CapabilityView[], lockFailing: boolean, lockFailReason: string,
 *   scope: { applies: boolean, inScope: boolean, reason: string } | null,
 *   uninstalled: { at: number, method: string, user: string } | null, raw: any
 * }} DeviceView
 */

/** Reads a device list item or a `GET /devices/:id` response (`{device}`). @param {any} data @returns {DeviceView} */
export function deviceView(data) {
  const d =
    data?.device && typeof data.device === 'object' && !Array.isArray(data.device) ? data.device : data;
  const live = d?.live ?? d?.status ?? {};
  const win = /** @type {any} */ (first(live.currentWindow, live.window, live.activeWindow, d?.window) ?? {});
  const idleRaw = first(live.idleState, live.idle?.state, live.idle, d?.idleState);
  const idle = typeof idleRaw === 'string' ? idleRaw.toLowerCase() : '';
  const caps = /** @type {any[]} */ (first(live.capabilities, d?.capabilities) ?? []);
  const usb = /** @type {any[]} */ (first(live.usbVolumes, live.usb, d?.usbVolumes) ?? []);
  return {
    id: String(d?.id ?? d?.deviceId ?? ''),
    hostname: String(first(d?.hostname, live.hostname) ?? ''),
    os: String(first(d?.os, live.os) ?? ''),
    byod: d?.kind === 'byod' || Boolean(d?.byod),
    // BYOD: the owner accepted an older agreement than the current one (accepts at next enrolment).
    agreementOutdated: d?.agreementOutdated === true,
    revoked: Boolean(d?.revoked ?? d?.revokedAt),
    online: Boolean(first(live.connected, live.online, d?.connected, d?.online)),
    lastSeen: /** @type {number | null} */ (first(live.lastSeenAt, live.lastSeen, d?.lastSeenAt) ?? null),
    user: String(
      first(live.loggedInUser, live.user, live.lastHeartbeat?.loggedInUser, d?.byod?.userName, d?.userName) ??
        '',
    ),
    app: String(win.app ?? ''),
    title: String(win.title ?? ''),
    url: String(win.url ?? ''),
    // Why the collector left them out for this user ('safeguarding', 'domain-only'), if it did.
    titleHidden: String(win.hidden?.title ?? ''),
    urlHidden: String(win.hidden?.url ?? ''),
    idle: idle.replace(/^state_/, ''),
    locked: Boolean(first(live.locked, idle === 'locked')),
    usb: usb.map((v) => ({
      device: String(v.device ?? ''),
      label: String(v.label ?? ''),
      encryption: String(v.encryption ?? '').toLowerCase(),
      decision: String(v.decision ?? '').toLowerCase(),
      mountpoint: String(v.mountpoint ?? ''),
      vendor: String(v.vendor ?? ''),
      product: String(v.product ?? ''),
      serial: String(v.serial ?? ''),
      sizeBytes: Number(v.sizeBytes ?? 0),
    })),
    agentVersion: String(first(live.agentVersion, d?.agentVersion) ?? ''),
    policyVersion: /** @type {number | null} */ (
      first(live.policyVersionApplied, live.policyVersion, d?.policyVersion) ?? null
    ),
    unavailable: caps
      .filter((c) => c && c.available === false)
      .map((c) => ({ name: String(c.name ?? ''), available: false, reason: String(c.reason ?? '') })),
    // Set by the collector on lockFailed and cleared by the next screenLocked.
    lockFailing: Boolean(first(live.lockFailing, live.lastLockFailure)),
    lockFailReason: String(first(live.lockFailReason, live.lastLockFailure?.reason) ?? ''),
    // BYOD monitoring scope (issue 19), as the agent last reported it; null from older agents.
    scope: live.scope
      ? {
          applies: live.scope.applies === true,
          inScope: live.scope.inScope === true,
          reason: String(live.scope.reason ?? ''),
        }
      : null,
    // The installer reported an uninstall (issue 17), until the agent starts again.
    uninstalled: live.uninstalled
      ? {
          at: Number(live.uninstalled.at ?? 0),
          method: String(live.uninstalled.method ?? ''),
          user: String(live.uninstalled.user ?? ''),
        }
      : null,
    raw: d,
  };
}

/** @param {any} data @param {string} key @returns {any[]} */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (Array.isArray(data?.[key])) return data[key];
  if (Array.isArray(data?.items)) return data.items;
  if (Array.isArray(data?.records)) return data.records;
  return [];
}

/**
 * @typedef {{ id: string, deviceId: string, hostname: string, user: string, category: string, severity: number, effectiveSeverity: number,
 *   term: string, context: string, time: number, status: string, grade: number | null, app: string, title: string,
 *   url: string, source: string, screenshots: string[], screenshotUnavailable: string, educational: boolean, repeatCount: number,
 *   notes: { author: string, text: string, at: number }[], incidentId: string, timeline: any[] | null, raw: any }} AlertView
 */

/**
 * Reads a queue row, or a detail response `{alert, device, user, screenshots, timeline}`.
 * @param {any} data @returns {AlertView}
 */
export function alertView(data) {
  const a = data?.alert && typeof data.alert === 'object' ? { ...data.alert, ...detailExtras(data) } : data;
  const win = a?.window ?? {};
  const expired = a?.screenshotsExpired
    ? `expired ${new Date(a.screenshotsExpired.at).toLocaleDateString('en-GB')}: ${a.screenshotsExpired.note ?? ''}`
    : '';
  return {
    id: String(a?.id ?? ''),
    deviceId: String(a?.deviceId ?? ''),
    hostname: String(first(a?.hostname, a?.device?.hostname) ?? ''),
    user: String(first(a?.user, a?.userName, a?.loggedInUser) ?? ''),
    category: String(a?.category ?? ''),
    severity: Number(a?.severity ?? 0),
    effectiveSeverity: Number(a?.effectiveSeverity ?? a?.grade ?? a?.severity ?? 0),
    term: String(first(a?.term, a?.matchedTerm) ?? ''),
    context: String(a?.context ?? ''),
    time: Number(first(a?.occurredAt, a?.time, a?.createdAt) ?? 0),
    status: String(a?.status ?? 'new'),
    grade: /** @type {number | null} */ (first(a?.grade, a?.dslSeverity) ?? null),
    app: String(first(a?.windowApp, win.app) ?? ''),
    title: String(first(a?.windowTitle, win.title) ?? ''),
    url: String(first(a?.windowUrl, win.url) ?? ''),
    source: String(a?.source ?? ''),
    screenshots: a?.screenshotsExpired
      ? []
      : /** @type {string[]} */ (first(a?.screenshotBlobIds, a?.screenshots) ?? []).map(String),
    screenshotUnavailable: String(first(expired, a?.screenshotUnavailableReason) ?? ''),
    educational: Boolean(a?.educationalContext ?? a?.educational),
    repeatCount: Number(a?.repeatCount ?? 0),
    notes: /** @type {any[]} */ (a?.notes ?? []).map((n) => ({
      author: String(first(n.author, n.by) ?? ''),
      text: String(n.text ?? ''),
      at: Number(first(n.at, n.time, n.createdAt) ?? 0),
    })),
    incidentId: String(a?.incidentId ?? ''),
    timeline: Array.isArray(a?.timeline) ? a.timeline : null,
    raw: a,
  };
}

/** Fields of an alert detail response that live beside the alert record. @param {any} data */
function detailExtras(data) {
  /** @type {Record<string, unknown>} */
  const out = {};
  if (data.device?.hostname) out.hostname = data.device.hostname;
  if (data.user) out.user = data.user;
  if (Array.isArray(data.timeline)) out.timeline = data.timeline;
  if (Array.isArray(data.screenshots)) {
    out.availableBlobIds = data.screenshots
      .filter((/** @type {any} */ s) => s.available !== false)
      .map((/** @type {any} */ s) => s.blobId);
    const missing = data.screenshots.length - /** @type {string[]} */ (out.availableBlobIds).length;
    if (missing > 0 && !data.alert?.screenshotUnavailableReason)
      out.screenshotUnavailableReason = `${missing} screenshot(s) no longer stored`;
  }
  return out;
}
