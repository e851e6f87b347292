// The e-safety incident log: every incident with status, referral and outcome; DSLs open new ones.
import { api } from '../api.js';
import { exportRangeForm } from '../export-links.js';
import { badge, ext, field, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  mount(main, h('h1', null, 'Incidents'), loading());
  let incidents;
  try {
    incidents = listOf(await api.incidents({}), 'incidents');
  } catch (err) {
    mount(main, h('h1', null, 'Incidents'), renderError(err));
    return;
  }
  const isDsl = ctx.user.role === 'dsl';
  mount(
    main,
    h('h1', null, 'Incidents'),
    isDsl ? newIncidentForm(ctx) : h('p', { class: 'muted' }, 'Names are shown only to safeguarding staff.'),
    isDsl ? exportRangeForm('incidents') : null,
    h(
      'div',
      { class: 'table-wrap' },
      table(
        'Incident log',
        ['Opened', 'Title', 'Status', 'Referral', 'Outcome', 'Alerts'],
        incidents.map((i) =>
          h(
            'tr',
            null,
            h('td', { class: 'nowrap' }, fmtTime(i.createdAt ?? i.openedAt)),
            h(
              'td',
              null,
              isDsl && i.id
                ? h('a', { href: `#/incidents/${encodeURIComponent(i.id)}` }, ext(i.title ?? 'incident', 80))
                : ext(i.title ?? i.category ?? 'incident', 80),
            ),
            h('td', null, badge(String(i.status ?? 'open'), i.status === 'closed' ? '' : 'warn')),
            h('td', null, ext(referralText(i.referral), 40)),
            h('td', null, ext(i.outcome || '—', 60)),
            h('td', null, String((i.linkedAlertIds ?? i.alertIds ?? []).length)),
          ),
        ),
      ),
    ),
  );
}

/** @param {any} r @returns {string} */
export function referralText(r) {
  if (!r) return 'none';
  if (typeof r === 'string') return r;
  if (Array.isArray(r)) return r.map(referralText).join(', ');
  return r.agency && r.agency !== 'none' ? [r.agency, r.reference].filter(Boolean).join(' ') : 'none';
}

/** @param {import('../app.js').PageContext} ctx */
function newIncidentForm(ctx) {
  const title = /** @type {HTMLInputElement} */ (h('input', { required: true, maxlength: '200' }));
  const what = /** @type {HTMLTextAreaElement} */ (h('textarea', { rows: '3', maxlength: '4000' }));
  const say = statusLine();
  return h(
    'details',
    { class: 'card' },
    h('summary', null, 'Record a new incident'),
    h(
      'form',
      {
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          try {
            const res = await api.createIncident({
              title: title.value.trim(),
              description: what.value.trim(),
            });
            const id = res?.incident?.id ?? res?.id;
            if (id) ctx.navigate(`#/incidents/${encodeURIComponent(id)}`);
          } catch (err) {
            say.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      field('Title', title),
      field('What happened', what),
      h('button', { type: 'submit' }, 'Open incident'),
      say.el,
    ),
  );
}
