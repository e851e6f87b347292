// One line of text per timeline event kind. Values from the device stay strings handed to ext()
// by the caller's renderer; here they are only picked out and labelled.
import { badge, ext, fmtBytes, fmtTime, h } from './h.js';

export const KIND_LABELS = {
  agentStarted: 'Agent started',
  agentStopping: 'Agent stopping',
  heartbeat: 'Heartbeat',
  inventory: 'Inventory',
  activeWindow: 'Active window',
  idleState: 'Idle state',
  screenLocked: 'Screen locked',
  lockFailed: 'Lock failed',
  usbAttached: 'USB attached',
  usbRemoved: 'USB removed',
  usbWriteBlocked: 'USB write blocked',
  usbEnforcementFailed: 'USB enforcement failed',
  fileWritten: 'File written to USB',
  flaggedActivity: 'Flagged activity',
  policyApplied: 'Policy applied',
  capabilities: 'Capabilities',
  gap: 'Gap (events dropped)',
  scopeChanged: 'Monitoring scope (BYOD)',
  agentUninstalled: 'Agent uninstalled',
};

export const USB_KINDS = [
  'usbAttached',
  'usbRemoved',
  'usbWriteBlocked',
  'usbEnforcementFailed',
  'fileWritten',
];

/** @param {any} e */
export function kindOf(e) {
  if (typeof e?.kind === 'string') return e.kind;
  if (typeof e?.payload === 'string') return e.payload;
  for (const k of Object.keys(KIND_LABELS)) if (e?.[k] ?? e?.event?.[k]) return k;
  return 'unknown';
}

/** @param {any} e */
export function payloadOf(e) {
  const k = kindOf(e);
  return e?.[k] ?? e?.event?.[k] ?? e?.data ?? {};
}

/** @param {any} e */
export function timeOf(e) {
  return Number(e?.timeMs ?? e?.time ?? e?.event?.timeMs ?? e?.receivedAt ?? 0);
}

/**
 * One event as a table row: time, kind, description (the timeline, USB history and alert pages).
 * @param {any} e @param {Record<string, string> | null} [attrs]
 */
export function eventRow(e, attrs = null) {
  return h(
    'tr',
    attrs,
    h('td', { class: 'nowrap' }, fmtTime(timeOf(e))),
    h('td', null, KIND_LABELS[/** @type {keyof typeof KIND_LABELS} */ (kindOf(e))] ?? kindOf(e)),
    h('td', null, describe(e)),
  );
}

/**
 * Says that the collector left a piece of device text out for this user, and why: text matching
 * the safeguarding library is for safeguarding staff only; IT sees the site's domain, not titles.
 * @param {string} reason
 */
export function hiddenNote(reason) {
  return h(
    'span',
    { class: 'muted small hidden-text' },
    reason === 'safeguarding' ? 'hidden: for safeguarding staff only' : 'not shown to IT',
  );
}

/** A short, inert description of one event. @param {any} e */
export function describe(e) {
  const k = kindOf(e);
  const p = payloadOf(e);
  switch (k) {
    case 'activeWindow':
      return [
        ext(p.app, 30),
        ' — ',
        p.hidden?.title ? hiddenNote(p.hidden.title) : ext(p.title, 120),
        p.url ? [' ', h('span', { class: 'muted' }, ext(p.url, 80))] : null,
        // One note for the page: a flagged title and its URL are hidden together.
        p.hidden?.url === 'safeguarding' && p.hidden?.title !== 'safeguarding'
          ? [' ', hiddenNote('safeguarding')]
          : null,
      ];
    case 'idleState':
      return [String(p.state ?? '').toLowerCase(), p.idleMs ? ` after ${Math.round(p.idleMs / 1000)} s` : ''];
    case 'screenLocked':
      return [
        `by ${ext(p.method, 30).textContent}`,
        p.byPolicy ? ' (policy)' : ' (command)',
        // The agent locked again: the lock it held was killed or hidden without an unlock.
        p.relockReason ? [' ', badge('relocked', 'bad'), ' ', ext(p.relockReason, 160)] : null,
      ];
    case 'lockFailed':
      return [badge('failed', 'bad'), ' ', ext(p.method, 30), ': ', ext(p.reason, 120)];
    case 'usbAttached':
      return [
        ext(p.label || p.product || p.device, 40),
        ' ',
        ext(`${p.vendor ?? ''} ${p.product ?? ''}`.trim(), 40),
        ' ',
        badge(String(p.encryption ?? '').toLowerCase() || 'unknown'),
        ' ',
        badge(
          String(p.decision ?? '')
            .toLowerCase()
            .replace(/_/g, ' ') || 'no decision',
        ),
        p.sizeBytes ? ` ${fmtBytes(p.sizeBytes)}` : '',
      ];
    case 'usbRemoved':
      return [ext(p.label || p.device, 40)];
    case 'usbWriteBlocked':
      return [ext(p.device, 20), ' via ', ext(p.method, 30)];
    case 'usbEnforcementFailed':
      return [badge('failed', 'bad'), ' ', ext(p.device, 20), ': ', ext(p.reason, 120)];
    case 'fileWritten':
      return [
        ext(p.path, 120),
        ` ${fmtBytes(p.sizeBytes)}`,
        p.beforeBlock ? [' ', badge('before block', 'warn')] : null,
      ];
    case 'flaggedActivity':
      if (p.redacted)
        return [h('span', { class: 'muted' }, 'Flagged activity — details are for safeguarding staff only')];
      return [
        badge(`S${p.severity ?? '?'}`, 'bad'),
        ' ',
        ext(p.category, 30),
        ' — "',
        ext(p.matchedTerm, 40),
        '"',
      ];
    case 'heartbeat':
      return [
        p.loggedInUser ? ['user ', ext(p.loggedInUser, 30)] : 'no user',
        p.outboxDepth ? ` · outbox ${p.outboxDepth}` : '',
        p.scope?.applies && p.scope.inScope !== true ? [' ', badge('out of scope', 'warn')] : null,
      ];
    case 'scopeChanged':
      return [
        p.inScope ? badge('monitoring started', 'ok') : badge('monitoring stopped', 'warn'),
        ' ',
        ext(p.reason, 120),
      ];
    case 'agentStarted':
      return [`version ${ext(p.agentVersion, 20).textContent}`, p.demoMode ? ' (demo mode)' : ''];
    case 'agentStopping':
      return [ext(p.reason, 80)];
    case 'agentUninstalled':
      return [badge('uninstalled', 'bad'), ' ', ext(p.method, 64), p.user ? [' by ', ext(p.user, 64)] : ''];
    case 'policyApplied':
      return [
        `v${p.version ?? '?'}`,
        p.ok === false ? [' ', badge('rejected', 'bad'), ' ', ext(p.error, 120)] : '',
      ];
    case 'capabilities':
      return [
        /** @type {any[]} */ (p.capabilities ?? [])
          .map((c) => `${c.name}: ${c.available ? 'yes' : `no (${c.reason ?? ''})`}`)
          .join(', '),
      ].map((s) => ext(s, 160));
    case 'gap':
      return [`seq ${p.fromSeq}–${p.toSeq} dropped (${ext(p.reason, 40).textContent})`];
    case 'inventory':
      return [
        ext(`${p.manufacturer ?? ''} ${p.model ?? ''} · ${p.osDistro ?? ''} ${p.osRelease ?? ''}`, 100),
      ];
    default:
      return [h('span', { class: 'muted' }, 'event')];
  }
}
