// Audit log (admin): logins, screenshot views, exports, policy and role changes. Newest first,
// filter by action and actor, paged by cursor.
import { api } from '../api.js';
import { ext, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { renderError, table } from '../ui.js';

/** @param {HTMLElement} main */
export async function render(main) {
  const action = /** @type {HTMLInputElement} */ (
    h('input', { placeholder: 'e.g. screenshot.view', class: 'mid' })
  );
  const actor = /** @type {HTMLInputElement} */ (h('input', { placeholder: 'username', class: 'mid' }));
  const tbody = h('tbody');
  const more = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'secondary', hidden: true }, 'Older entries')
  );
  /** @type {string | undefined} */
  let cursor;
  /** @param {boolean} append */
  const load = async (append) => {
    try {
      const data = await api.audit({
        action: action.value.trim(),
        actor: actor.value.trim(),
        cursor: append ? cursor : undefined,
        limit: 100,
      });
      const records = listOf(data, 'records');
      cursor = data?.nextCursor;
      more.hidden = !cursor;
      const rows = records.map((r) =>
        h(
          'tr',
          null,
          h('td', { class: 'nowrap' }, fmtTime(r.at)),
          h('td', null, ext(r.actor, 40)),
          h('td', null, h('code', null, ext(r.action, 40))),
          h('td', null, ext(r.target, 60)),
          h('td', { class: 'small' }, ext(detailText(r.details), 200)),
          h('td', null, ext(r.ip ?? '', 40)),
        ),
      );
      if (append) for (const row of rows) tbody.appendChild(row);
      else
        mount(
          tbody,
          rows.length ? rows : h('tr', null, h('td', { colspan: '6', class: 'muted' }, 'No entries.')),
        );
    } catch (err) {
      mount(tbody, h('tr', null, h('td', { colspan: '6' }, renderError(err))));
    }
  };
  more.addEventListener('click', () => void load(true));
  mount(
    main,
    h('h1', null, 'Audit log'),
    h(
      'form',
      {
        class: 'filters',
        role: 'search',
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          void load(false);
        },
      },
      h('label', null, 'Action ', action),
      h('label', null, 'Actor ', actor),
      h('button', { type: 'submit' }, 'Filter'),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      table('Audit log, newest first', ['When', 'Who', 'Action', 'Target', 'Details', 'From'], [], {
        id: 'audit-table',
      }),
    ),
    more,
  );
  main.querySelector('#audit-table tbody')?.replaceWith(tbody);
  await load(false);
}

/** `key: value · key: value`, so long details wrap at spaces instead of one unbreakable JSON line. @param {unknown} d */
function detailText(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
}
