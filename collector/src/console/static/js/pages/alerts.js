// The DSL's queue: severity then time, filters, live arrival of new alerts, and keyboard triage
// (j/k move, Enter opens, 1–5 grade, f false positive, e escalate).
import { api } from '../api.js';
import { exportLinks } from '../export-links.js';
import { badge, ext, fmtTime, h, mount } from '../h.js';
import { onLive, onLiveStatus } from '../live.js';
import { alertView, listOf } from '../model.js';
import { OPTIONS } from '../options.js';
import { loadSchools, schoolName, schoolOf, schoolSelect } from '../schools.js';
import { renderError, sevBadge, statusLine, table } from '../ui.js';

const STATUSES = OPTIONS.alertStatuses;
/** Labels of the `source` filter (where the words were seen); the values come from the server. */
const SOURCE_LABELS = /** @type {Record<string, string>} */ ({
  typed: 'typed',
  screen: 'on screen',
  title: 'window title',
  url: 'URL',
  page: 'page text',
});
const SOURCE_OPTIONS = OPTIONS.alertSources.map((s) => [s, SOURCE_LABELS[s] ?? s]);

/** @typedef {import('../model.js').AlertView} AlertView */

/** @param {AlertView} a @param {AlertView} b */
export function queueOrder(a, b) {
  return b.effectiveSeverity - a.effectiveSeverity || b.time - a.time;
}

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  // Tenancy: trust-wide DSLs of a trust with several schools see each alert's school and a filter.
  const schools = await loadSchools(ctx.user);
  const school = schoolSelect(schools);
  const status = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      null,
      h('option', { value: '' }, 'any status'),
      STATUSES.map((s) => h('option', { value: s, selected: s === 'new' }, s)),
    )
  );
  const minSev = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      null,
      h('option', { value: '' }, 'any'),
      [5, 4, 3, 2, 1].map((n) => h('option', { value: n }, `${n}+`)),
    )
  );
  const source = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      null,
      h('option', { value: '' }, 'any'),
      SOURCE_OPTIONS.map(([v, label]) => h('option', { value: v }, label)),
    )
  );
  const category = /** @type {HTMLInputElement} */ (
    h('input', { placeholder: 'e.g. self-harm', class: 'mid' })
  );
  const device = /** @type {HTMLInputElement} */ (h('input', { placeholder: 'device id', class: 'mid' }));
  const from = /** @type {HTMLInputElement} */ (h('input', { type: 'date' }));
  const to = /** @type {HTMLInputElement} */ (h('input', { type: 'date' }));
  const liveState = h('span', { class: 'live-state', role: 'status' });
  const say = statusLine();
  const tbody = h('tbody');
  /** @type {AlertView[]} */
  let alerts = [];
  let selected = 0;
  /** @type {Set<string>} */
  const fresh = new Set();

  const load = async () => {
    try {
      const data = await api.alerts({
        school: school.value,
        status: status.value,
        minSeverity: minSev.value,
        category: category.value.trim(),
        source: source.value,
        deviceId: device.value.trim(),
        from: from.value ? new Date(`${from.value}T00:00:00`).getTime() : undefined,
        to: to.value ? new Date(`${to.value}T23:59:59`).getTime() : undefined,
      });
      const before = new Set(alerts.map((a) => a.id));
      const next = listOf(data, 'alerts').map(alertView).sort(queueOrder);
      if (before.size) for (const a of next) if (!before.has(a.id)) fresh.add(a.id);
      const selId = alerts[selected]?.id;
      alerts = next;
      const keep = alerts.findIndex((a) => a.id === selId);
      selected = keep >= 0 ? keep : Math.min(selected, Math.max(0, alerts.length - 1));
      draw();
    } catch (err) {
      mount(tbody, h('tr', null, h('td', { colspan: schools.show ? '9' : '8' }, renderError(err))));
    }
  };

  const draw = () => {
    mount(
      tbody,
      alerts.map((a, i) =>
        h(
          'tr',
          {
            'data-alert-id': a.id,
            class: `${i === selected ? 'selected' : ''} ${fresh.has(a.id) ? 'fresh' : ''} ${a.severity >= 5 ? 'sev5-row' : ''}`,
            'aria-selected': i === selected ? 'true' : 'false',
            onclick: () => {
              selected = i;
              draw();
            },
          },
          h('td', null, sevBadge(a.effectiveSeverity)),
          h('td', null, ext(a.category, 30)),
          h('td', null, h('a', { href: `#/alerts/${encodeURIComponent(a.id)}` }, ext(a.term, 40))),
          h('td', null, ext(a.hostname || a.deviceId, 30)),
          schools.show
            ? h('td', { 'data-school': schoolOf(a.raw) }, schoolName(schools, schoolOf(a.raw)))
            : null,
          h('td', null, a.user ? ext(a.user, 30) : h('span', { class: 'muted' }, '—')),
          h('td', { class: 'nowrap' }, fmtTime(a.time)),
          h(
            'td',
            null,
            badge(a.status, a.status === 'new' ? 'warn' : a.status === 'escalated' ? 'bad' : ''),
            a.grade ? ` graded ${a.grade}` : '',
          ),
        ),
      ),
    );
    if (alerts.length === 0)
      mount(
        tbody,
        h(
          'tr',
          null,
          h('td', { colspan: schools.show ? '8' : '7', class: 'muted' }, 'Nothing in the queue. Well done.'),
        ),
      );
    tbody.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  };

  /** @param {string} what @param {(a: AlertView) => Promise<unknown>} act */
  const act = async (what, act) => {
    const a = alerts[selected];
    if (!a) return;
    try {
      await act(a);
      say.say(`${what}: ${a.term}`, 'ok');
      await load();
    } catch (err) {
      say.say(/** @type {Error} */ (err).message, 'error');
    }
  };

  /** @param {KeyboardEvent} ev */
  const onKey = (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    if (
      ev.ctrlKey ||
      ev.metaKey ||
      ev.altKey ||
      ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(target.tagName)
    )
      return;
    if (ev.key === 'j' || ev.key === 'ArrowDown') {
      selected = Math.min(alerts.length - 1, selected + 1);
      draw();
    } else if (ev.key === 'k' || ev.key === 'ArrowUp') {
      selected = Math.max(0, selected - 1);
      draw();
    } else if (ev.key === 'Enter' || ev.key === 'o') {
      const a = alerts[selected];
      if (a) ctx.navigate(`#/alerts/${encodeURIComponent(a.id)}`);
    } else if (/^[1-5]$/.test(ev.key)) {
      void act(`Graded ${ev.key}`, (a) => api.grade(a.id, Number(ev.key)));
    } else if (ev.key === 'f') {
      void act('Marked false positive', (a) => api.falsePositive(a.id));
    } else if (ev.key === 'e') {
      void act('Escalated to an incident', (a) => api.escalate(a.id, {}));
    } else {
      return;
    }
    ev.preventDefault();
  };

  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', null, 'Alerts'), liveState),
    h(
      'form',
      {
        class: 'filters',
        role: 'search',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          void load();
        },
        onchange: () => void load(),
      },
      schools.show ? h('label', null, 'School ', school) : null,
      h('label', null, 'Status ', status),
      h('label', null, 'Severity ', minSev),
      h('label', null, 'Category ', category),
      h('label', null, 'Seen as ', source),
      h('label', null, 'Device ', device),
      h('label', null, 'From ', from),
      h('label', null, 'To ', to),
      h('button', { type: 'submit' }, 'Filter'),
      // The same filters, the whole range (no paging), as a file; audited on the server.
      exportLinks('alerts', () => ({
        school: school.value,
        status: status.value,
        minSeverity: minSev.value,
        category: category.value.trim(),
        source: source.value,
        deviceId: device.value.trim(),
        from: from.value ? new Date(`${from.value}T00:00:00`).getTime() : undefined,
        to: to.value ? new Date(`${to.value}T23:59:59`).getTime() : undefined,
      })),
    ),
    h(
      'p',
      { class: 'muted small', id: 'keys-help' },
      'Keys: ',
      h('kbd', null, 'j'),
      '/',
      h('kbd', null, 'k'),
      ' next/previous · ',
      h('kbd', null, 'Enter'),
      ' open · ',
      h('kbd', null, '1'),
      '–',
      h('kbd', null, '5'),
      ' grade · ',
      h('kbd', null, 'f'),
      ' false positive · ',
      h('kbd', null, 'e'),
      ' escalate',
    ),
    say.el,
    h(
      'div',
      { class: 'table-wrap' },
      table(
        'Alert queue, most severe first',
        [
          'Severity',
          'Category',
          'Term',
          'Device',
          ...(schools.show ? ['School'] : []),
          'User',
          'Time',
          'Status',
        ],
        [],
        { id: 'alerts-table', 'aria-describedby': 'keys-help' },
      ),
    ),
  );
  main.querySelector('#alerts-table tbody')?.replaceWith(tbody);
  await load();

  document.addEventListener('keydown', onKey);
  // A DSL gets each new alert on both feeds (devices and alerts): one reload covers both.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let reloadTimer = null;
  const loadSoon = () => {
    reloadTimer ??= setTimeout(() => {
      reloadTimer = null;
      void load();
    }, 150);
  };
  const offLive = onLive('alert', loadSoon);
  const offStatus = onLiveStatus((up) => {
    liveState.textContent = up ? '● live' : '○ reconnecting…';
    liveState.className = `live-state ${up ? 'up' : 'down'}`;
  });
  return () => {
    document.removeEventListener('keydown', onKey);
    offLive();
    if (reloadTimer) clearTimeout(reloadTimer);
    offStatus();
  };
}
