// Sign-in. Errors from the server (wrong password, throttled) are shown as they come, without
// saying whether the username exists. Accounts with an authenticator app get a second step (a
// 6-digit code or a recovery code) before any session exists. "Sign in with <provider>" buttons
// come from the sign-in settings; a refused SSO sign-in comes back as `#/login?sso=<code>`.
import { api } from '../api.js';
import { field, h, mount } from '../h.js';
import { OPTIONS } from '../options.js';
import { statusLine } from '../ui.js';

const E = OPTIONS.errorCodes;
/** What a refused SSO sign-in means for the person at the keyboard. */
const SSO_MESSAGES = {
  [E.SSO_NO_ROLE]:
    'You are signed in at your school account, but Custodian has no role for you yet. Ask an administrator to give you one.',
  [E.SSO_FAILED]: 'The sign-in with your school account could not be completed. Start again.',
  [E.AUTH_FAILED]: 'This account cannot sign in.',
};

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
  const providers = h('div', { class: 'buttons sso' });
  const signedIn = async () => {
    await ctx.refreshUser();
    ctx.navigate('#/');
  };

  /** The second step: a code from the app, or one recovery code. @param {string} mfaToken */
  const secondStep = (mfaToken) => {
    const code = h('input', {
      name: 'code',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]{6}',
      maxlength: '6',
      required: true,
    });
    const recovery = h('input', { name: 'recoveryCode', autocomplete: 'off', maxlength: '12' });
    const step = statusLine();
    /** @param {{ code?: string, recoveryCode?: string }} answer */
    const send = async (answer) => {
      step.say('Checking…');
      try {
        await api.mfaVerify(mfaToken, answer);
        await signedIn();
      } catch (err) {
        step.say(/** @type {Error} */ (err).message, 'error');
        /** @type {HTMLInputElement} */ (code).value = '';
        code.focus();
      }
    };
    mount(
      main,
      h(
        'form',
        {
          class: 'card narrow',
          onsubmit: (/** @type {SubmitEvent} */ ev) => {
            ev.preventDefault();
            void send({ code: /** @type {HTMLInputElement} */ (code).value.trim() });
          },
        },
        h('h1', null, 'Enter your code'),
        h('p', null, 'Open your authenticator app and enter the 6-digit code for Custodian.'),
        field('Code', code),
        h('button', { type: 'submit' }, 'Verify'),
        step.el,
      ),
      h(
        'form',
        {
          class: 'card narrow',
          onsubmit: (/** @type {SubmitEvent} */ ev) => {
            ev.preventDefault();
            void send({ recoveryCode: /** @type {HTMLInputElement} */ (recovery).value.trim() });
          },
        },
        h('p', null, 'Lost your phone? Use one of your recovery codes (each works once).'),
        field('Recovery code', recovery),
        h('button', { type: 'submit', class: 'secondary' }, 'Use recovery code'),
      ),
    );
    code.focus();
  };

  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: async (/** @type {SubmitEvent} */ ev) => {
        ev.preventDefault();
        submit.setAttribute('disabled', '');
        status.say('Signing in…');
        try {
          const res = await api.login(
            /** @type {HTMLInputElement} */ (username).value.trim(),
            /** @type {HTMLInputElement} */ (password).value,
          );
          if (res?.mfaRequired) secondStep(String(res.mfaToken));
          else await signedIn();
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
    providers,
    field('Username', username),
    field('Password', password),
    submit,
    status.el,
  );
  mount(main, form);
  const refused = ctx.query.get('sso');
  if (refused) status.say(SSO_MESSAGES[refused] ?? 'The sign-in was refused.', 'error');
  username.focus();
  try {
    const { providers: list } = await api.ssoProviders();
    mount(
      providers,
      (Array.isArray(list) ? list : []).map((/** @type {any} */ p) =>
        // A plain link: the browser must navigate to the provider (no fetch).
        h(
          'a',
          { class: 'button', href: `/api/v1/auth/sso/${encodeURIComponent(String(p.id))}/start` },
          `Sign in with ${String(p.label)}`,
        ),
      ),
    );
  } catch {
    // No providers answer: password sign-in still works.
  }
}
