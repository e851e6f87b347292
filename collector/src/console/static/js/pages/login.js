// Sign-in. Errors from the server (wrong password, throttled) are shown as they come, without
// saying whether the username exists.
import { api } from '../api.js';
import { field, h, mount } from '../h.js';
import { statusLine } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const username = h('input', {
    name: 'username',
    autocomplete: 'username',
    required: true,
    autofocus: true,
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const status = statusLine();
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: async (/** @type {SubmitEvent} */ ev) => {
        ev.preventDefault();
        submit.setAttribute('disabled', '');
        status.say('Signing in…');
        try {
          await api.login(
            /** @type {HTMLInputElement} */ (username).value.trim(),
            /** @type {HTMLInputElement} */ (password).value,
          );
          await ctx.refreshUser();
          ctx.navigate('#/');
        } catch (err) {
          status.say(/** @type {Error} */ (err).message, 'error');
          /** @type {HTMLInputElement} */ (password).value = '';
          password.focus();
        } finally {
          submit.removeAttribute('disabled');
        }
      },
    },
    h('h1', null, 'Sign in'),
    field('Username', username),
    field('Password', password),
    submit,
    status.el,
  );
  mount(main, form);
  username.focus();
}
