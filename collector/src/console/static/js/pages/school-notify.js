// Who is told of one school's alerts (admin, DSL; issue 20): the school's own notify layer — its
// contacts, rota and, if it differs from the trust's, its time zone, school hours and term dates.
// School-scoped staff see their own schools only (the server answers 404 for any other). A school
// without a layer uses the trust's Notifications settings; where its rota has no band for an
// alert, the trust's rota takes it. The relay, webhooks and threshold stay on the trust's page.
import { api } from '../api.js';
import { field, h, mount } from '../h.js';
import { OPTIONS } from '../options.js';
import { loading, renderError, saveThenRedraw, statusLine } from '../ui.js';
import { input, parseBands, parseContacts, parseTerms, select } from './notify.js';

/** @param {string} name @param {string} value @param {number} rows */
function textarea(name, value, rows) {
  return /** @type {HTMLTextAreaElement} */ (h('textarea', { name, rows, value }));
}

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  mount(main, h('h1', null, 'School alert contacts'), loading('Loading schools'));
  /** @type {{ id: string, name: string }[]} */
  let schools;
  try {
    schools = (await api.schools()).schools ?? [];
  } catch (err) {
    mount(main, renderError(err));
    return;
  }
  const say = statusLine();
  const body = h('div');
  const wanted = ctx.query.get('school');
  const picker = /** @type {HTMLSelectElement} */ (
    select(
      schools.map((s) => s.id),
      schools.some((s) => s.id === wanted) ? /** @type {string} */ (wanted) : (schools[0]?.id ?? ''),
    )
  );
  for (const o of picker.options) {
    const s = schools.find((x) => x.id === o.value);
    if (s) o.textContent = `${s.name} (${s.id})`;
  }

  const save = saveThenRedraw(say, () => draw());

  const draw = async () => {
    const schoolId = picker.value;
    /** @type {any} */
    let layer;
    try {
      layer = (await api.schoolNotifySettings(schoolId)).layer;
    } catch (err) {
      mount(body, renderError(err));
      return;
    }
    const contacts = textarea(
      'contacts',
      (layer?.contacts ?? [])
        .map((/** @type {any} */ c) => [c.id, c.name, c.email, c.role].join(', '))
        .join('\n'),
      4,
    );
    const bands = textarea(
      'bands',
      (layer?.rota.bands ?? [])
        .map((/** @type {any} */ b) => [b.minSeverity, b.window, b.contacts.join(' ')].join(', '))
        .join('\n'),
      3,
    );
    const escalate = input('escalate', {
      type: 'number',
      min: 1,
      max: 1440,
      value: layer?.rota.escalateAfterMinutes ?? 15,
    });
    const stopOn = /** @type {HTMLSelectElement} */ (
      select([...OPTIONS.rotaStopOn], layer?.rota.stopOn ?? 'viewed')
    );
    const timeZone = input('timeZone', { value: layer?.timeZone ?? '', placeholder: "the trust's" });
    const days = input('days', {
      value: layer?.schoolHours?.days.join(' ') ?? '',
      placeholder: "the trust's",
    });
    const start = input('start', { type: 'time', value: layer?.schoolHours?.start ?? '' });
    const end = input('end', { type: 'time', value: layer?.schoolHours?.end ?? '' });
    const ownTerms = /** @type {HTMLInputElement} */ (
      h('input', { type: 'checkbox', name: 'ownTerms', checked: layer?.termDates !== undefined })
    );
    const terms = textarea(
      'terms',
      (layer?.termDates ?? []).map((/** @type {any} */ t) => [t.name, t.start, t.end].join(', ')).join('\n'),
      3,
    );

    const patch = () => {
      const hours = days.value.trim() || start.value || end.value;
      return {
        contacts: parseContacts(contacts.value),
        rota: {
          escalateAfterMinutes: Number(escalate.value),
          stopOn: stopOn.value,
          bands: parseBands(bands.value),
        },
        timeZone: timeZone.value.trim() || null,
        schoolHours: hours
          ? {
              days: days.value
                .split(/[\s,]+/)
                .filter((d) => d !== '')
                .map(Number),
              start: start.value,
              end: end.value,
            }
          : null,
        termDates: ownTerms.checked ? parseTerms(terms.value) : null,
      };
    };

    mount(
      body,
      h(
        'p',
        { id: 'school-notify-state', class: 'muted' },
        layer
          ? `${schoolId} has its own contacts and rota (last changed by ${layer.updatedBy}).`
          : `${schoolId} uses the trust's notification settings.`,
      ),
      h(
        'form',
        {
          id: 'school-notify-form',
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault();
            void save(`Saved for ${schoolId}.`, () => api.putSchoolNotifySettings(schoolId, patch()));
          },
        },
        field('Contacts', contacts, 'one per line: id, name, email, role (dsl, it, admin, governor)'),
        field(
          'Rota',
          bands,
          `one band per line: minimum severity, window (${OPTIONS.timeWindows.join(', ')}), contact ids in order separated by spaces; where no band matches, the trust's rota is used`,
        ),
        field('Next contact after (minutes)', escalate),
        field('Stop the chain when the alert is', stopOn),
        field('Time zone', timeZone, "empty: the trust's"),
        field('School days', days, "1 = Monday … 7 = Sunday; days, start and end empty: the trust's hours"),
        field('School starts', start),
        field('School ends', end),
        h('label', null, ownTerms, ' Own term dates (else the trust’s)'),
        field('Term dates', terms, 'one term per line: name, first day, last day (YYYY-MM-DD)'),
        h('button', { type: 'submit' }, 'Save school notifications'),
      ),
      layer
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: () =>
                save(`${schoolId} uses the trust's settings again.`, () =>
                  api.deleteSchoolNotifySettings(schoolId),
                ),
            },
            "Use the trust's settings",
          )
        : null,
    );
  };

  picker.addEventListener('change', () => {
    say.say('');
    void draw();
  });
  mount(
    main,
    h('h1', null, 'School alert contacts'),
    h(
      'p',
      { class: 'muted' },
      "Who is told of a school's alerts. A school without its own contacts uses the trust's notification settings; the email relay, webhooks and alert threshold are the trust's.",
    ),
    say.el,
    schools.length === 0
      ? h('p', { class: 'muted' }, 'No schools.')
      : h('section', { class: 'card' }, field('School', picker), body),
  );
  if (schools.length > 0) await draw();
}
