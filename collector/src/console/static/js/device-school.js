// A device's school on its page (tenancy), for staff who see several schools; a trust-wide admin
// can move it to another school (reason required, audited on the server).
import { api } from './api.js';
import { h, mount } from './h.js';
import { loadSchools, schoolName, schoolOf } from './schools.js';
import { statusLine } from './ui.js';

/**
 * @param {any} raw the device record @param {{ role: string, schools?: string[] | null }} user
 * @returns {Promise<HTMLElement | null>} null when there is nothing to show (the caller sees one school)
 */
export async function deviceSchoolSection(raw, user) {
  const schools = await loadSchools(user);
  if (!schools.show) return null;
  const box = h('section', { class: 'card', 'aria-labelledby': 'school-h' });
  const say = statusLine();
  let current = schoolOf(raw);
  const draw = () => {
    const target = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { id: 'school-move-to' },
        schools.list.filter((s) => s.id !== current).map((s) => h('option', { value: s.id }, s.name)),
      )
    );
    const reason = /** @type {HTMLInputElement} */ (
      h('input', { id: 'school-move-reason', required: true, maxlength: '500', placeholder: 'why (audited)' })
    );
    mount(
      box,
      h('h2', { id: 'school-h' }, 'School'),
      h('p', { id: 'device-school' }, schoolName(schools, current)),
      user.role === 'admin' && schools.trustWide
        ? h(
            'form',
            {
              class: 'filters',
              onsubmit: async (/** @type {Event} */ e) => {
                e.preventDefault();
                try {
                  await api.moveDevice(String(raw.id), target.value, reason.value.trim());
                  current = target.value;
                  draw();
                  say.say(`Moved to ${schoolName(schools, current)}`, 'ok');
                } catch (err) {
                  say.say(/** @type {Error} */ (err).message, 'error');
                }
              },
            },
            h('label', null, 'Move to ', target),
            h('label', null, 'Reason ', reason),
            h('button', { type: 'submit' }, 'Move'),
          )
        : null,
      say.el,
    );
  };
  draw();
  return box;
}
