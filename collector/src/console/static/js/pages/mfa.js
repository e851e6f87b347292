// Authenticator app set-up (TOTP). Admin and DSL accounts are sent here until they have one.
// The secret and the otpauth:// link are shown once; the recovery codes are shown once, after
// the first code proves the app works.
import { api } from '../api.js';
import { field, h, mount } from '../h.js';
import { statusLine } from '../ui.js';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  const status = statusLine();
  const start = h('button', { type: 'button' }, 'Set up an authenticator app');
  const area = h('div');
  start.addEventListener('click', async () => {
    start.setAttribute('disabled', '');
    try {
      const { secret, uri } = await api.mfaEnrol();
      const code = h('input', {
        name: 'code',
        inputmode: 'numeric',
        autocomplete: 'one-time-code',
        pattern: '[0-9]{6}',
        maxlength: '6',
        required: true,
      });
      mount(
        area,
        h(
          'div',
          { class: 'code-box' },
          h('p', null, 'Add this key to your authenticator app (shown once):'),
          h('code', { class: 'big', 'data-mfa-secret': '' }, String(secret)),
          h('p', null, 'or open this link on the phone:'),
          h('code', { 'data-mfa-uri': '' }, String(uri)),
        ),
        h(
          'form',
          {
            onsubmit: async (/** @type {SubmitEvent} */ ev) => {
              ev.preventDefault();
              status.say('Checking…');
              try {
                const res = await api.mfaConfirm(/** @type {HTMLInputElement} */ (code).value.trim());
                const codes = Array.isArray(res.recoveryCodes) ? res.recoveryCodes : [];
                mount(
                  area,
                  h(
                    'div',
                    { class: 'code-box' },
                    h(
                      'p',
                      null,
                      'Recovery codes — keep them somewhere safe; each works once and they are not shown again:',
                    ),
                    h(
                      'ul',
                      { 'data-recovery-codes': '' },
                      codes.map((/** @type {unknown} */ c) => h('li', null, h('code', null, String(c)))),
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        onclick: async () => {
                          await ctx.refreshUser();
                          ctx.navigate('#/');
                        },
                      },
                      'I have saved them',
                    ),
                  ),
                );
                status.say('Authenticator app set up.', 'ok');
              } catch (err) {
                status.say(/** @type {Error} */ (err).message, 'error');
              }
            },
          },
          field('Code from the app', code),
          h('button', { type: 'submit' }, 'Confirm'),
        ),
      );
      code.focus();
    } catch (err) {
      status.say(/** @type {Error} */ (err).message, 'error');
      start.removeAttribute('disabled');
    }
  });
  mount(
    main,
    h(
      'div',
      { class: 'card narrow' },
      h('h1', null, 'Two-step sign-in'),
      h(
        'p',
        null,
        ctx.user?.mustEnrolMfa
          ? 'Your role needs an authenticator app (such as Microsoft or Google Authenticator) before you can continue.'
          : 'Protect your account with an authenticator app.',
      ),
      start,
      area,
      status.el,
    ),
  );
}
