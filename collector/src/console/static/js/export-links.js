// Download links for the CSV/JSON exports (CPOMS, MyConcern, a chronology). The server audits
// each download (who, what range, how many records, the file's SHA-256); nothing is built here.
import { api } from './api.js';
import { field, h } from './h.js';

/**
 * "Export CSV" / "Export JSON" for one incident or alert.
 * @param {'incidents' | 'alerts'} kind @param {string} id
 */
export function exportOneLinks(kind, id) {
  const one = kind === 'incidents' ? 'incident' : 'alert';
  return h(
    'span',
    { class: 'buttons export-links' },
    ['csv', 'json'].map((format) =>
      h(
        'a',
        {
          class: 'button secondary',
          href: api.exportOneUrl(kind, id, /** @type {'csv' | 'json'} */ (format)),
          download: `${one}-${id}.${format}`,
        },
        `Export ${format.toUpperCase()}`,
      ),
    ),
  );
}

/** @param {string} value a yyyy-mm-dd date input's value */
const dayStart = (value) => (value ? `${value}T00:00:00Z` : undefined);
/** @param {string} value */
const dayAfter = (value) =>
  value ? new Date(Date.parse(`${value}T00:00:00Z`) + 86_400_000).toISOString() : undefined;

/**
 * "Export CSV" / "Export JSON" for a range: `params()` is read when a link is used, so the file
 * is what the page shows (its filters and dates).
 * @param {'incidents' | 'alerts'} kind @param {() => Record<string, unknown>} params
 */
export function exportLinks(kind, params) {
  /** @type {HTMLAnchorElement[]} */
  const links = ['csv', 'json'].map(
    (format) =>
      /** @type {HTMLAnchorElement} */ (
        h('a', { class: 'button secondary', 'data-format': format }, `Export ${format.toUpperCase()}`)
      ),
  );
  const update = () => {
    for (const a of links) {
      const format = a.dataset.format ?? 'csv';
      a.href = api.exportRangeUrl(kind, { ...params(), format });
      a.download = `${kind}.${format}`;
    }
  };
  // The href is set before the browser follows it (click runs before the default action).
  for (const a of links) {
    a.addEventListener('click', update);
    a.addEventListener('focus', update);
    a.addEventListener('mouseenter', update);
  }
  update();
  return h('span', { class: 'buttons export-links' }, links);
}

/**
 * A date range (whole days, UTC) and the two download links: the incident log's export.
 * @param {'incidents' | 'alerts'} kind
 */
export function exportRangeForm(kind) {
  const from = /** @type {HTMLInputElement} */ (h('input', { type: 'date', name: 'export-from' }));
  const to = /** @type {HTMLInputElement} */ (h('input', { type: 'date', name: 'export-to' }));
  return h(
    'details',
    { class: 'card export-range' },
    h('summary', null, `Export ${kind} (CSV / JSON for CPOMS, MyConcern or a chronology)`),
    h(
      'div',
      { class: 'inline-form' },
      field('From (day)', from),
      field('To (day, inclusive)', to),
      exportLinks(kind, () => ({ from: dayStart(from.value), to: dayAfter(to.value) })),
    ),
    h(
      'p',
      { class: 'muted small' },
      'Empty dates mean from the first record / up to now. Each download is recorded in the audit log with its SHA-256.',
    ),
  );
}
