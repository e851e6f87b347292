// One incident record: what happened, who was involved, actions, referral, outcome, linked
// alerts, status and its history. DSLs update it; the server keeps every change in the history.
import { api } from '../api.js';
import { exportOneLinks } from '../export-links.js';
import { badge, ext, extLong, field, fmtTime, h, mount } from '../h.js';
import { OPTIONS } from '../options.js';
import { loading, renderError, statusLine } from '../ui.js';

// The values come from the collector (options.js); the words for them are the console's.
/** @type {Record<string, string>} */
const AGENCY_LABELS = {
  none: 'No referral',
  police: 'Police',
  lado: 'LADO',
  ceop: 'CEOP',
  'childrens-social-care': "Children's social care",
  other: 'Other',
};
const AGENCIES = OPTIONS.referralAgencies.map((v) => [v, AGENCY_LABELS[v] ?? v]);
const OUTCOMES = OPTIONS.outcomes;
const STATUSES = OPTIONS.incidentStatuses;
const PERSON_ROLES = OPTIONS.personRoles;

/** @param {HTMLElement} el */
const val = (el) => /** @type {HTMLInputElement} */ (el).value;

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const id = ctx.params.id ?? '';
  mount(main, loading('Loading incident'));
  const say = statusLine();
  const draw = async () => {
    let i;
    try {
      const data = await api.incident(id);
      i = data?.incident ?? data;
    } catch (err) {
      mount(main, h('p', null, h('a', { href: '#/incidents' }, '← Incidents')), renderError(err));
      return;
    }
    const title = h('input', { value: i.title ?? '', maxlength: '300', required: true });
    const description = h('textarea', { rows: '4', maxlength: '20000' });
    /** @type {HTMLTextAreaElement} */ (description).value = String(i.description ?? '');
    const people = h('div', { class: 'people' });
    /** @param {any} p */
    const personRow = (p) => {
      const name = h('input', {
        value: p?.name ?? '',
        'aria-label': 'Name',
        placeholder: 'name',
        required: true,
      });
      const role = h(
        'select',
        { 'aria-label': 'Role' },
        PERSON_ROLES.map((r) => h('option', { value: r, selected: p?.role === r }, r)),
      );
      const note = h('input', { value: p?.note ?? '', 'aria-label': 'Note', placeholder: 'note' });
      const row = h(
        'div',
        { class: 'allow-row' },
        name,
        role,
        note,
        h('button', { type: 'button', class: 'secondary', onclick: () => row.remove() }, 'Remove'),
      );
      /** @type {any} */ (row).read = () => ({ name: val(name).trim(), role: val(role), note: val(note) });
      return row;
    };
    for (const p of i.peopleInvolved ?? []) people.appendChild(personRow(p));
    const actionsTaken = h('textarea', { rows: '3', maxlength: '20000' });
    /** @type {HTMLTextAreaElement} */ (actionsTaken).value = String(i.actionsTaken ?? '');
    const ref = i.referral ?? {};
    const agency = h(
      'select',
      null,
      AGENCIES.map(([v, label]) => h('option', { value: v, selected: (ref.agency ?? 'none') === v }, label)),
    );
    const reference = h('input', { value: ref.reference ?? '', maxlength: '200' });
    const outcome = h(
      'select',
      null,
      OUTCOMES.map((o) =>
        h('option', { value: o, selected: (i.outcome ?? 'pending') === o }, o.replace(/-/g, ' ')),
      ),
    );
    const outcomeNotes = h('textarea', { rows: '2', maxlength: '20000' });
    /** @type {HTMLTextAreaElement} */ (outcomeNotes).value = String(i.outcomeNotes ?? '');
    const status = h(
      'select',
      null,
      STATUSES.map((s) => h('option', { value: s, selected: i.status === s }, s)),
    );
    const linked = /** @type {string[]} */ (i.linkedAlertIds ?? i.alertIds ?? []);
    mount(
      main,
      h('p', null, h('a', { href: '#/incidents' }, '← Incidents')),
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, ext(i.title ?? 'Incident', 100)),
        badge(String(i.status ?? 'open'), i.status === 'closed' ? '' : 'warn'),
        h(
          'a',
          { class: 'button secondary', href: api.incidentEvidenceUrl(id), download: `incident-${id}.html` },
          'Export evidence',
        ),
        exportOneLinks('incidents', id),
      ),
      h(
        'p',
        { class: 'muted' },
        `Opened ${fmtTime(i.createdAt)} by `,
        ext(i.createdBy ?? '', 40),
        ` · occurred ${fmtTime(i.occurredAt)}`,
      ),
      say.el,
      h(
        'form',
        {
          class: 'card',
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            try {
              await api.updateIncident(id, {
                title: val(title).trim(),
                description: val(description),
                peopleInvolved: [...people.children]
                  .map((r) => /** @type {any} */ (r).read())
                  .filter((p) => p.name),
                actionsTaken: val(actionsTaken),
                referral: {
                  agency: val(agency),
                  reference: val(reference).trim(),
                  at: ref.at ?? (val(agency) === 'none' ? null : Date.now()),
                  note: ref.note ?? '',
                },
                outcome: val(outcome),
                outcomeNotes: val(outcomeNotes),
                status: val(status),
              });
              await draw();
              say.say('Incident updated.', 'ok');
            } catch (err) {
              say.say(/** @type {Error} */ (err).message, 'error');
            }
          },
        },
        field('Title', title),
        field('What happened', description),
        h(
          'fieldset',
          null,
          h('legend', null, 'People involved'),
          people,
          h(
            'button',
            { type: 'button', class: 'secondary', onclick: () => people.appendChild(personRow(null)) },
            'Add person',
          ),
        ),
        field('Actions taken', actionsTaken),
        h('div', { class: 'row' }, field('Referral made to', agency), field('Their reference', reference)),
        h('div', { class: 'row' }, field('Outcome', outcome), field('Status', status)),
        field('Outcome notes', outcomeNotes),
        h('button', { type: 'submit' }, 'Save incident'),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'Linked alerts'),
        linked.length === 0
          ? h('p', { class: 'muted' }, 'None.')
          : h(
              'ul',
              null,
              linked.map((a) =>
                h('li', null, h('a', { href: `#/alerts/${encodeURIComponent(a)}` }, ext(a, 40))),
              ),
            ),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', null, 'History'),
        h(
          'ol',
          { class: 'history' },
          (i.history ?? []).map((/** @type {any} */ x) =>
            h(
              'li',
              null,
              h(
                'span',
                { class: 'muted small' },
                fmtTime(x.at),
                ' · ',
                ext(x.actor ?? '', 40),
                ' · ',
                String(x.action ?? ''),
              ),
              ' ',
              extLong(Object.keys(x.changes ?? {}).join(', '), 200),
            ),
          ),
        ),
      ),
    );
  };
  await draw();
}
