// Forced password change on first sign-in (and voluntary change). The shell sends every
// navigation here while the account must change its password.
import { api } from '../api.js';
import { field, h, mount } from '../h.js';
import { statusLine } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const current = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
  const again = h('input', { type: 'password', autocomplete: 'new-password', required: true, minlength: 12 });
  const status = statusLine();
  const value = (/** @type {HTMLElement} */ el) => /** @type {HTMLInputElement} */ (el).value;
  mount(
    main,
    h(
      'form',
      {
        class: 'card narrow',
        onsubmit: async (/** @type {SubmitEvent} */ ev) => {
          ev.preventDefault();
          if (value(next) !== value(again)) {
            status.say('The new passwords do not match.', 'error');
            return;
          }
          status.say('Saving…');
          try {
            await api.changePassword(value(current), value(next));
            await ctx.refreshUser();
            status.say('Password changed.', 'ok');
            ctx.navigate('#/');
          } catch (err) {
            status.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      h('h1', null, 'Choose a new password'),
      ctx.user?.mustChangePassword
        ? h('p', null, 'This account has a one-time password. Choose your own before you continue.')
        : null,
      field('Current password', current),
      field('New password', next, 'At least 12 characters.'),
      field('New password again', again),
      h('button', { type: 'submit' }, 'Change password'),
      status.el,
    ),
  );
  current.focus();
}
