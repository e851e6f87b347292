// My account (every signed-in person): who I am, my password, my two-step sign-in — set it up
// (#/mfa) or, once on, get new recovery codes with a current code from the app (shown once) — and
// the notices addressed to my role (GET /notifications answers each role its own).
import { api } from '../api.js';
import { ext, field, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @param {HTMLElement} main */
export async function render(main) {
  mount(main, h('h1', null, 'My account'), loading('Loading your account'));
  let me;
  try {
    me = await api.me();
  } catch (err) {
    mount(main, h('h1', null, 'My account'), renderError(err));
    return;
  }
  const user = me?.user ?? {};
  const sso = user.sso ? String(user.sso.provider ?? 'SSO') : '';
  const notices = h('div', null, loading('Loading notices'));
  mount(
    main,
    h('h1', null, 'My account'),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'me-h' },
      h('h2', { id: 'me-h' }, 'You'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'User name'),
        h('dd', null, ext(user.username, 64)),
        h('dt', null, 'Role'),
        h('dd', null, String(me?.role ?? '')),
        h('dt', null, 'Signs in with'),
        h('dd', null, sso ? ['the school’s provider (', ext(sso, 32), ')'] : 'a password'),
      ),
      sso ? null : h('p', null, h('a', { href: '#/password' }, 'Change your password')),
    ),
    twoStep(user, sso),
    h(
      'section',
      { class: 'card', id: 'notices', 'aria-labelledby': 'notices-h' },
      h('h2', { id: 'notices-h' }, `Notices for ${String(me?.role ?? 'your role')}`),
      notices,
    ),
  );
  try {
    const list = listOf(await api.notifications(), 'notifications');
    mount(
      notices,
      list.length === 0
        ? h('p', { class: 'muted' }, 'Nothing has been addressed to your role.')
        : table(
            'Notices, newest first',
            ['When', 'What'],
            list.map((n) =>
              h(
                'tr',
                { 'data-notice': String(n.kind ?? '') },
                h('td', { class: 'nowrap' }, fmtTime(n.at)),
                h('td', null, ext(n.subject, 300)),
              ),
            ),
          ),
    );
  } catch (err) {
    mount(notices, renderError(err));
  }
}

/** @param {any} user @param {string} sso */
function twoStep(user, sso) {
  const section = (/** @type {unknown[]} */ ...children) =>
    h(
      'section',
      { class: 'card', id: 'two-step', 'aria-labelledby': 'two-step-h' },
      h('h2', { id: 'two-step-h' }, 'Two-step sign-in'),
      ...children,
    );
  if (sso) return section(h('p', null, 'Your school’s provider asks for the second step when you sign in.'));
  if (!user.mfaEnabled)
    return section(
      h('p', null, 'Not set up: anyone with your password can sign in as you.'),
      h('a', { class: 'button', href: '#/mfa' }, 'Set up an authenticator app'),
    );
  const say = statusLine();
  const out = h('div', { 'aria-live': 'polite' });
  const left = h('span', { 'data-recovery-left': '' }, String(Number(user.recoveryCodesLeft ?? 0)));
  const code = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'code',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      pattern: '[0-9]{6}',
      maxlength: '6',
      required: true,
    })
  );
  return section(
    h('p', null, 'On, with an authenticator app. Recovery codes left: ', left, '.'),
    h(
      'form',
      {
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          try {
            const res = await api.mfaRecoveryCodes(code.value.trim());
            const codes = Array.isArray(res?.recoveryCodes) ? res.recoveryCodes : [];
            code.value = '';
            left.textContent = String(codes.length);
            mount(
              out,
              h(
                'div',
                { class: 'code-box' },
                h(
                  'p',
                  null,
                  'New recovery codes — the old ones no longer work. Each works once; they are not shown again:',
                ),
                h(
                  'ul',
                  { 'data-recovery-codes': '' },
                  codes.map((/** @type {unknown} */ c) => h('li', null, h('code', null, String(c)))),
                ),
              ),
            );
            say.say('New recovery codes made.', 'ok');
          } catch (err) {
            const x = /** @type {any} */ (err);
            say.say(`${String(x?.message ?? x)}${x?.code ? ` (${x.code})` : ''}`, 'error');
          }
        },
      },
      field('Code from the app', code, 'A current code proves it is you, not just your open session.'),
      h('button', { type: 'submit', class: 'secondary' }, 'Make new recovery codes'),
    ),
    say.el,
    out,
  );
}
