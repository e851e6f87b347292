// The trust's schools (tenancy), for trust-wide admins: the list, a new school, a new name.
// Staff limited to some schools are set on the Staff page; devices move school from their page.
import { api } from '../api.js';
import { fmtTime, h, mount } from '../h.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @typedef {{ id: string, name: string, createdAt: number }} School */

/** @param {HTMLElement} main */
export async function render(main) {
  mount(main, h('h1', null, 'Schools'), loading('Loading schools'));
  const say = statusLine();
  const tbody = h('tbody');

  const load = async () => {
    /** @type {School[]} */
    const schools = (await api.schools()).schools ?? [];
    mount(
      tbody,
      schools.map((s) => {
        const name = /** @type {HTMLInputElement} */ (
          h('input', { value: s.name, maxlength: '120', 'aria-label': `New name for ${s.id}` })
        );
        return h(
          'tr',
          { 'data-school-id': s.id },
          h('td', null, h('code', null, s.id)),
          h('td', null, name),
          h('td', { class: 'muted small' }, s.createdAt ? fmtTime(s.createdAt) : 'built in'),
          h(
            'td',
            null,
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                onclick: async () => {
                  try {
                    await api.renameSchool(s.id, name.value.trim());
                    say.say(`Renamed ${s.id}`, 'ok');
                    await load();
                  } catch (err) {
                    say.say(/** @type {Error} */ (err).message, 'error');
                  }
                },
              },
              'Rename',
            ),
          ),
        );
      }),
    );
  };

  const id = /** @type {HTMLInputElement} */ (
    h('input', {
      required: true,
      pattern: '[a-z0-9][a-z0-9-]{0,39}',
      placeholder: 'e.g. st-marys',
      class: 'mid',
    })
  );
  const name = /** @type {HTMLInputElement} */ (
    h('input', { required: true, maxlength: '120', placeholder: "St Mary's Primary" })
  );
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        try {
          await api.createSchool(id.value.trim(), name.value.trim());
          say.say(`Added ${name.value.trim()}`, 'ok');
          id.value = '';
          name.value = '';
          await load();
        } catch (err) {
          say.say(/** @type {Error} */ (err).message, 'error');
        }
      },
    },
    h('label', null, 'Id ', id),
    h('label', null, 'Name ', name),
    h('button', { type: 'submit' }, 'Add school'),
  );

  try {
    await load();
  } catch (err) {
    mount(main, h('h1', null, 'Schools'), renderError(err));
    return;
  }
  mount(
    main,
    h('h1', null, 'Schools'),
    h(
      'p',
      { class: 'muted' },
      'Each school’s staff see only their school’s devices, alerts, incidents and reports. ',
      'Devices enrolled before schools existed, and with the first enrol secret, belong to the default school.',
    ),
    form,
    say.el,
    h(
      'div',
      { class: 'table-wrap' },
      table('Schools of the trust', ['Id', 'Name', 'Added', ''], [], { id: 'schools-table' }),
    ),
  );
  main.querySelector('#schools-table tbody')?.replaceWith(tbody);
}
