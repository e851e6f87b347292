// Renders an evidence pack as ONE self-contained, printable HTML file: no scripts, no external
// resources (screenshots are data: URLs), a CSP that forbids anything else, and every piece
// of device-sourced text passed through `text()`. Pure: data in, string out, so the escaping
// is tested directly against hostile titles.
import type { Alert, AuditRecord } from '../store/types.ts';
import type { DeviceSummary, TimelineItem } from './context.ts';
import { text } from './escape.ts';
import type { Incident } from './incidents.ts';

export interface EvidenceScreenshot {
  blobId: string;
  contentType: string | null;
  size: number | null;
  /** SHA-256 recorded when the agent's upload was verified. */
  sha256: string | null;
  /** Recomputed over the decrypted bytes at export time; must equal `sha256`. */
  sha256Now: string | null;
  /** base64 of the image, when available. */
  base64: string | null;
  /**
   * Instead of `base64`: index of the image in the export's streamed images. The HTML then holds
   * a placeholder (`imagePlaceholder`) that the sender replaces with the bytes as it writes.
   */
  embed?: number;
  unavailable: string | null;
}

/**
 * Placeholder for a streamed image. NUL never reaches the HTML from data (`text()` shows control
 * characters as [U+0000]), so device text cannot forge one.
 */
export const imagePlaceholder = (index: number) => `\u0000IMG:${index}\u0000`;
export const IMAGE_PLACEHOLDER = /\u0000IMG:(\d+)\u0000/;

export interface HashedItem {
  label: string;
  sha256: string;
  bytes: number;
}

export interface AlertEvidence {
  alert: Alert;
  device: DeviceSummary;
  user: string | null;
  screenshots: EvidenceScreenshot[];
  timeline: TimelineItem[];
  /** Audit records about this alert (views, exports, decisions), oldest first. */
  accessLog: AuditRecord[];
  /** Screenshot references of the alert not in this export (repeats, over the per-capture cap). */
  screenshotsOmitted?: number;
}

export interface EvidenceDoc {
  kind: 'alert' | 'incident';
  exportId: string;
  generatedAt: number;
  generatedBy: { username: string; role: string };
  incident?: Incident;
  incidentLog?: AuditRecord[];
  alerts: AlertEvidence[];
  /** SHA-256 of every item in the pack (records, screenshots, excerpts, logs). */
  items: HashedItem[];
}

const london = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  dateStyle: 'medium',
  timeStyle: 'long',
});

export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return `${text(london.format(new Date(ms)))} <span class="iso">(${text(new Date(ms).toISOString())})</span>`;
}

function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${text(label)}</th><td>${valueHtml}</td></tr>`;
}

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg']);

/** Highlights the matched term inside the context; each segment is escaped on its own. */
export function highlight(context: string, term: string, max = 400): string {
  const i = term === '' ? -1 : context.toLowerCase().indexOf(term.toLowerCase());
  // Lower-casing can change lengths for a few scripts; then we do not risk wrong offsets.
  if (i < 0 || context.toLowerCase().length !== context.length) return text(context, max);
  const end = i + term.length;
  return `${text(context.slice(0, i), max)}<mark>${text(context.slice(i, end), max)}</mark>${text(context.slice(end), max)}`;
}

function summariseEvent(item: TimelineItem): string {
  const e = item.event;
  if (!e) return '<em>stored event could not be decoded</em>';
  const p = e[item.kind] as Record<string, unknown> | undefined;
  if (!p) return text(JSON.stringify(e), 300);
  switch (item.kind) {
    case 'activeWindow':
      return `${text(p.app, 80)} — ${text(p.title, 300)}${p.url ? ` — <span class="url">${text(p.url, 300)}</span>` : ''}`;
    case 'flaggedActivity':
      return `<strong>flagged</strong>: ${text(p.category, 60)} / “${text(p.matchedTerm, 100)}” (severity ${text(p.severity, 3)})`;
    case 'heartbeat':
      return `user ${text(p.loggedInUser, 100)}`;
    case 'idleState':
      return `${text(p.state, 20)} (idle ${text(p.idleMs, 20)} ms)`;
    default:
      return text(JSON.stringify(p), 300);
  }
}

function screenshotHtml(s: EvidenceScreenshot, n: number): string {
  const integrity =
    s.sha256 && s.sha256Now
      ? s.sha256 === s.sha256Now
        ? '<span class="ok">matches the hash verified at upload</span>'
        : '<span class="bad">DOES NOT MATCH the hash verified at upload</span>'
      : '';
  const data = s.embed !== undefined ? imagePlaceholder(s.embed) : s.base64;
  const img =
    data && s.contentType && IMAGE_TYPES.has(s.contentType)
      ? `<img alt="Screenshot ${n}" src="data:${s.contentType};base64,${data}">`
      : `<p class="unavailable">Screenshot not included: ${text(s.unavailable ?? 'not an image type this export embeds')}</p>`;
  return `<figure>${img}<figcaption>Screenshot ${n} · blob ${text(s.blobId)} · ${text(s.contentType ?? 'unknown type')} · ${text(
    s.size ?? '?',
  )} bytes<br>SHA-256 <code>${text(s.sha256Now ?? s.sha256 ?? 'unavailable')}</code> ${integrity}</figcaption></figure>`;
}

function accessLogHtml(records: AuditRecord[], caption: string): string {
  if (records.length === 0) return `<p>${text(caption)}: no records.</p>`;
  const rows = records
    .map(
      (r) =>
        `<tr><td>${when(r.at)}</td><td>${text(r.actor, 100)}${
          r.details?.role ? ` (${text(r.details.role, 20)})` : ''
        }</td><td class="nw">${text(r.action, 60)}</td><td>${text(r.details?.blobId ?? r.details?.grade ?? r.details?.incidentId ?? '', 120)}</td><td>${text(r.ip ?? '', 60)}</td></tr>`,
    )
    .join('');
  return `<table class="grid"><caption>${text(caption)}</caption><thead><tr><th>When</th><th>Who</th><th>What</th><th>Detail</th><th>From</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function alertSection(ev: AlertEvidence, index: number): string {
  const a = ev.alert;
  const notes = a.notes.length
    ? `<ul>${a.notes.map((n) => `<li>${when(n.at)} — ${text(n.author, 100)}: ${text(n.text, 10_000)}</li>`).join('')}</ul>`
    : '<p>No notes.</p>';
  const history = a.history.length
    ? `<ul>${a.history
        .map(
          (h) =>
            `<li>${when(h.at)} — ${text(h.actor, 100)}: ${text(h.action, 60)}${
              h.from !== undefined || h.to !== undefined
                ? ` (${text(JSON.stringify(h.from ?? null), 100)} → ${text(JSON.stringify(h.to ?? null), 100)})`
                : ''
            }</li>`,
        )
        .join('')}</ul>`
    : '<p>No decisions recorded.</p>';
  const shots = ev.screenshots.length
    ? ev.screenshots.map((s, i) => screenshotHtml(s, i + 1)).join('')
    : `<p class="unavailable">No screenshot was captured${a.screenshotUnavailableReason ? `: ${text(a.screenshotUnavailableReason, 500)}` : '.'}</p>`;
  const omitted = ev.screenshotsOmitted
    ? `<p class="unavailable">${text(ev.screenshotsOmitted, 12)} further screenshot reference(s) not included: repeats, or more than one capture takes.</p>`
    : '';
  const expired = a.screenshotsExpired
    ? `<p class="unavailable">Screenshots deleted under the retention policy ${when(a.screenshotsExpired.at)}: ${text(a.screenshotsExpired.note, 500)}</p>`
    : '';
  const timeline = ev.timeline.length
    ? `<table class="grid"><caption>Device timeline around the event (oldest first)</caption><thead><tr><th>Time</th><th>Seq</th><th>Kind</th><th>Detail</th></tr></thead><tbody>${ev.timeline
        .map(
          (t) =>
            `<tr${t.isAlertEvent ? ' class="hit"' : ''}><td>${when(t.time)}</td><td class="nw">${text(t.seq, 20)}</td><td class="nw">${text(t.kind, 40)}</td><td>${summariseEvent(t)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No timeline events in the excerpt window.</p>';
  return `<section class="alert">
<h2>Alert ${index + 1}: ${text(a.category, 60)} — “${text(a.term, 200)}”</h2>
<table class="facts">
${row('Alert id', `<code>${text(a.id)}</code>`)}
${row('Status', text(a.status))}
${row('Category', text(a.category, 60))}
${row('Matched term', `<strong>${text(a.term, 200)}</strong>`)}
${row('Severity (matcher)', text(a.severity, 3))}
${row('Grade (DSL)', a.grade === undefined ? 'not graded' : text(a.grade, 3))}
${row('Source', text(a.source, 20))}
${row('Educational context', a.educationalContext ? 'yes (severity lowered by context rules)' : 'no')}
${row('Repeat captures suppressed', text(a.repeatCount, 10))}
${row('Occurred (device time)', when(a.occurredAt))}
${row('Received by the collector', when(a.createdAt))}
${row('Incident', a.incidentId ? `<code>${text(a.incidentId)}</code>` : 'none')}
</table>
<h3>Device and user</h3>
<table class="facts">
${row('Device id', `<code>${text(ev.device.id)}</code>`)}
${row('Hostname', text(ev.device.hostname, 200))}
${row('Kind', text(ev.device.kind, 20))}
${row('Operating system', text(ev.device.os, 60))}
${row('Serial', text(ev.device.serial, 100))}
${row('Signed-in user at the time', text(ev.user ?? 'unknown', 200))}
${ev.device.byodUser !== null ? row('BYOD owner (agreement accepted)', text(ev.device.byodUser, 200)) : ''}
</table>
<h3>What was on screen</h3>
<table class="facts">
${row('Application', text(a.windowApp, 200))}
${row('Window title', `<span class="device-text">${text(a.windowTitle, 1000)}</span>`)}
${row('URL', `<span class="device-text url">${text(a.windowUrl, 1000)}</span>`)}
${row('Context', `<span class="device-text">${highlight(a.context, a.term)}</span>`)}
</table>
<h3>Screenshots</h3>
${expired}${shots}${omitted}
<h3>Notes</h3>
${notes}
<h3>Decisions</h3>
${history}
<h3>Timeline excerpt</h3>
${timeline}
<h3>Who has viewed this alert</h3>
${accessLogHtml(ev.accessLog, 'Audit log entries for this alert')}
</section>`;
}

function incidentSection(i: Incident, log: AuditRecord[]): string {
  const people = i.peopleInvolved.length
    ? `<ul>${i.peopleInvolved.map((p) => `<li>${text(p.name, 200)} (${text(p.role, 20)})${p.note ? ` — ${text(p.note, 2000)}` : ''}</li>`).join('')}</ul>`
    : 'none recorded';
  const history = i.history
    .map(
      (h) =>
        `<li>${when(h.at)} — ${text(h.actor, 100)}: ${text(h.action, 40)}${
          Object.keys(h.changes).length ? ` (${text(Object.keys(h.changes).join(', '), 300)})` : ''
        }</li>`,
    )
    .join('');
  return `<section class="incident">
<h2>Incident: ${text(i.title, 300)}</h2>
<table class="facts">
${row('Incident id', `<code>${text(i.id)}</code>`)}
${row('Status', text(i.status))}
${row('Occurred', when(i.occurredAt))}
${row('Recorded', `${when(i.createdAt)} by ${text(i.createdBy, 100)}`)}
${row('What happened', `<div class="pre">${text(i.description, 20_000)}</div>`)}
${row('People involved', people)}
${row('Actions taken', `<div class="pre">${text(i.actionsTaken, 20_000)}</div>`)}
${row('Referral', `${text(i.referral.agency)}${i.referral.reference ? ` — ref. ${text(i.referral.reference, 200)}` : ''}${i.referral.at ? ` — ${when(i.referral.at)}` : ''}${i.referral.note ? `<div class="pre">${text(i.referral.note, 4000)}</div>` : ''}`)}
${row('Outcome', `${text(i.outcome)}${i.outcomeNotes ? `<div class="pre">${text(i.outcomeNotes, 20_000)}</div>` : ''}`)}
${row('Linked alerts', i.linkedAlertIds.map((id) => `<code>${text(id)}</code>`).join(', ') || 'none')}
</table>
<h3>History of changes</h3><ul>${history}</ul>
${accessLogHtml(log, 'Audit log entries for this incident')}
</section>`;
}

const CSS = `
body{font:11pt/1.45 system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#111;margin:2em auto;max-width:60em;padding:0 1em}
header{border-bottom:3px solid #111;margin-bottom:1em}
.banner{background:#111;color:#fff;padding:.3em .6em;font-weight:bold;letter-spacing:.05em}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.25em;border-bottom:1px solid #999;margin-top:1.6em}h3{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%;margin:.3em 0}
.facts th{text-align:left;width:14em;vertical-align:top;padding:.2em .6em .2em 0;color:#333}
.facts td{padding:.2em 0;vertical-align:top}
.grid th,.grid td{border:1px solid #bbb;padding:.25em .4em;text-align:left;vertical-align:top;font-size:.92em}
.grid caption{text-align:left;font-weight:bold;padding:.2em 0}
td,th,.device-text,code{overflow-wrap:anywhere;word-break:break-word}
.device-text{unicode-bidi:isolate;direction:ltr;font-family:ui-monospace,Consolas,monospace;background:#f4f4f4}
.pre{white-space:pre-wrap}
.grid td.nw{white-space:nowrap;overflow-wrap:normal;word-break:normal}
tr.hit td{background:#fff3c4;font-weight:bold}
mark{background:#ffd54f}
figure{margin:1em 0;page-break-inside:avoid}figure img{max-width:100%;border:1px solid #999}
figcaption{font-size:.9em;color:#333}
.iso{color:#666;font-size:.85em}
.ok{color:#176117}.bad{color:#b00020;font-weight:bold}.unavailable{color:#8a4b00}
.sign{margin-top:2.5em;page-break-inside:avoid}
.sign table td{padding:1.6em .5em .2em 0;border-bottom:1px solid #111;width:33%}
.sign table th{text-align:left;padding-top:1.6em;width:10em}
@media print{body{margin:0;max-width:none}section{page-break-before:always}header+section{page-break-before:auto}a{color:inherit;text-decoration:none}}
`;

export function renderEvidenceHtml(doc: EvidenceDoc): string {
  const title =
    doc.kind === 'incident' && doc.incident
      ? `Safeguarding evidence — incident ${doc.incident.id}`
      : `Safeguarding evidence — alert ${doc.alerts[0]?.alert.id ?? ''}`;
  const items = doc.items
    .map(
      (i) =>
        `<tr><td>${text(i.label, 200)}</td><td>${text(i.bytes, 20)}</td><td><code>${text(i.sha256)}</code></td></tr>`,
    )
    .join('');
  const body = [
    doc.incident ? incidentSection(doc.incident, doc.incidentLog ?? []) : '',
    ...doc.alerts.map((a, i) => alertSection(a, i)),
  ].join('\n');
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${text(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<div class="banner">OFFICIAL-SENSITIVE — SAFEGUARDING. Contains personal data about a child. Handle under the school's child protection policy.</div>
<h1>${text(title)}</h1>
<table class="facts">
${row('Export id', `<code>${text(doc.exportId)}</code>`)}
${row('Exported', when(doc.generatedAt))}
${row('Exported by', `${text(doc.generatedBy.username, 100)} (${text(doc.generatedBy.role, 20)})`)}
${row('Produced by', 'Custodian collector. Device-sourced text is shown exactly as received, with invisible control characters made visible as [U+XXXX].')}
</table>
</header>
${body}
<section class="integrity">
<h2>Integrity</h2>
<p>SHA-256 of every item in this pack. Screenshot hashes are of the original image bytes; record hashes are of the JSON records as exported. The SHA-256 of this whole file is recorded in the collector's audit log under the export id above.</p>
<table class="grid"><thead><tr><th>Item</th><th>Bytes</th><th>SHA-256</th></tr></thead><tbody>${items}</tbody></table>
</section>
<section class="sign">
<h2>Declaration</h2>
<p>I confirm that this is a true print of the evidence held by the school's monitoring system.</p>
<table>
<tr><th>Name</th><td></td><th>Role</th><td></td></tr>
<tr><th>Signature</th><td></td><th>Date</th><td></td></tr>
<tr><th>Received by</th><td></td><th>Agency / ref.</th><td></td></tr>
<tr><th>Signature</th><td></td><th>Date</th><td></td></tr>
</table>
</section>
</body>
</html>
`;
}
