// Staff accounts (admin): create with a role, change a role (with a reason), disable, reset a
// password. One-time passwords are shown once, here, and never again.
import { api } from '../api.js';
import { badge, ext, field, fmtTime, h, mount } from '../h.js';
import { listOf } from '../model.js';
import { OPTIONS } from '../options.js';
import { loadSchools, schoolName } from '../schools.js';
import { drawPending } from '../sso-pending.js';
import { loading, renderError, statusLine, table } from '../ui.js';

const ROLES = OPTIONS.roles;
/** A dsl account (create, role, reset) waits for a DSL: the one-time password goes to them. */
const DSL_REQUESTED =
  'Request sent: a DSL must approve it. The one-time password goes to the approving DSL, not to you.';

/** @param {HTMLElement} main @param {import('../app.js').PageContext} ctx */
export async function render(main, ctx) {
  // Tenancy: an admin who sees several schools sets each account's schools (a trust-wide admin may
  // also make it trust-wide); an admin of one school makes accounts of that school (the server's default).
  const schools = await loadSchools(ctx.user);
  const trustWide = !Array.isArray(ctx.user.schools);
  /**
   * The schools an account sees: "trust-wide", or one or more schools (Ctrl/Shift-click).
   * @param {string[] | null | undefined} current @param {string} label
   */
  const schoolPicker = (current, label) =>
    /** @type {HTMLSelectElement} */ (
      h(
        'select',
        {
          'data-school-picker': '',
          multiple: true,
          size: String(Math.min(schools.list.length + (schools.trustWide ? 1 : 0), 5)),
          'aria-label': label,
        },
        // Only a trust-wide admin may make an account trust-wide (the collector refuses others).
        schools.trustWide ? h('option', { value: '', selected: !current }, 'trust-wide') : null,
        schools.list.map((x) =>
          h('option', { value: x.id, selected: Boolean(current?.includes(x.id)) }, x.name),
        ),
      )
    );
  /**
   * What a picker says: null = trust-wide, else the schools; a string is what is wrong.
   * @param {HTMLSelectElement} picker @returns {string[] | null | string}
   */
  const picked = (picker) => {
    const values = [...picker.selectedOptions].map((o) => o.value);
    if (values.length === 0)
      return schools.trustWide
        ? 'Choose the account’s schools, or trust-wide.'
        : 'Choose the account’s schools.';
    if (values.includes('')) return values.length === 1 ? null : 'Choose trust-wide or schools, not both.';
    return values;
  };
  /** @param {string[] | null} list */
  const scopeWords = (list) =>
    list ? list.map((id) => schoolName(schools, id)).join(', ') : 'the whole trust';
  const say = statusLine();
  const roleReason = /** @type {HTMLInputElement} */ (
    h('input', { maxlength: '1000', placeholder: 'e.g. new deputy DSL from January' })
  );
  const secret = h('div', { 'aria-live': 'polite' });
  const list = h('div', null, loading('Loading accounts'));
  /** @param {string} username @param {string} password */
  const showOnce = (username, password) =>
    mount(
      secret,
      h(
        'div',
        { class: 'code-box' },
        h(
          'p',
          null,
          'One-time password for ',
          ext(username, 64),
          ' (shown once; they must change it at first sign-in):',
        ),
        h('code', { class: 'big' }, password),
      ),
    );

  const load = async () => {
    try {
      const users = listOf(await api.users(), 'users');
      mount(
        list,
        h(
          'div',
          { class: 'table-wrap' },
          table(
            'Staff accounts',
            ['Username', 'Name', 'Role', ...(schools.show ? ['School'] : []), 'State', 'Created', 'Actions'],
            users.map((u) => {
              const picker = schoolPicker(u.schools, `Schools of ${u.username}`);
              const role = /** @type {HTMLSelectElement} */ (
                h(
                  'select',
                  { 'aria-label': `Role of ${u.username}` },
                  ROLES.map((r) => h('option', { value: r, selected: u.role === r }, r)),
                )
              );
              const self = u.username === ctx.user.username;
              return h(
                'tr',
                { 'data-username': u.username },
                h('td', null, ext(u.username, 64)),
                h('td', null, ext(u.displayName, 64)),
                h('td', null, role),
                schools.show
                  ? h(
                      'td',
                      null,
                      picker,
                      ' ',
                      h(
                        'button',
                        {
                          type: 'button',
                          class: 'secondary',
                          onclick: async () => {
                            const chosen = picked(picker);
                            if (typeof chosen === 'string') {
                              say.say(chosen, 'error');
                              return;
                            }
                            const reason = roleReason.value.trim();
                            if (!reason) {
                              say.say('Give a reason for the school change first (audited).', 'error');
                              roleReason.focus();
                              return;
                            }
                            try {
                              await api.updateUser(u.id, { schools: chosen, reason });
                              roleReason.value = '';
                              say.say(`${u.username} now sees ${scopeWords(chosen)}.`, 'ok');
                              await load();
                            } catch (err) {
                              say.say(/** @type {Error} */ (err).message, 'error');
                            }
                          },
                        },
                        'Save schools',
                      ),
                    )
                  : null,
                h(
                  'td',
                  null,
                  u.disabled ? badge('disabled', 'off') : badge('active', 'ok'),
                  u.mustChangePassword ? [' ', badge('must change password', 'warn')] : null,
                  u.sso ? [' ', badge(`SSO ${String(u.sso.provider)}`)] : null,
                  u.mfaEnabled ? [' ', badge('2-step', 'ok')] : null,
                ),
                h('td', { class: 'nowrap' }, fmtTime(u.createdAt)),
                h(
                  'td',
                  null,
                  h(
                    'div',
                    { class: 'buttons' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary',
                        onclick: async () => {
                          if (role.value === u.role) return;
                          const reason = roleReason.value.trim();
                          if (!reason) {
                            say.say(
                              'Give a reason for the role change first (it is recorded in the audit log).',
                              'error',
                            );
                            roleReason.focus();
                            return;
                          }
                          try {
                            const res = await api.updateUser(u.id, { role: role.value, reason });
                            roleReason.value = '';
                            if (res?.request) say.say(DSL_REQUESTED, 'ok');
                            else say.say(`Role changed; ${u.username} is signed out everywhere.`, 'ok');
                            await load();
                          } catch (err) {
                            say.say(/** @type {Error} */ (err).message, 'error');
                          }
                        },
                      },
                      'Save role',
                    ),
                    self
                      ? null
                      : h(
                          'button',
                          {
                            type: 'button',
                            class: 'secondary',
                            onclick: async () => {
                              try {
                                await api.updateUser(u.id, {
                                  disabled: !u.disabled,
                                  reason: u.disabled ? 'enabled by admin' : 'disabled by admin',
                                });
                                await load();
                              } catch (err) {
                                say.say(/** @type {Error} */ (err).message, 'error');
                              }
                            },
                          },
                          u.disabled ? 'Enable' : 'Disable',
                        ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary',
                        onclick: async () => {
                          try {
                            const res = await api.resetPassword(u.id);
                            if (res?.request) say.say(DSL_REQUESTED, 'ok');
                            else showOnce(u.username, String(res.oneTimePassword ?? ''));
                            await load();
                          } catch (err) {
                            say.say(/** @type {Error} */ (err).message, 'error');
                          }
                        },
                      },
                      'Reset password',
                    ),
                    u.mfaEnabled
                      ? h(
                          'button',
                          {
                            type: 'button',
                            class: 'secondary',
                            onclick: async () => {
                              const reason = roleReason.value.trim();
                              if (!reason) {
                                say.say('Give a reason first (it is recorded in the audit log).', 'error');
                                roleReason.focus();
                                return;
                              }
                              try {
                                await api.mfaReset(u.id, reason);
                                say.say(`${u.username} sets up their authenticator app again.`, 'ok');
                                await load();
                              } catch (err) {
                                say.say(/** @type {Error} */ (err).message, 'error');
                              }
                            },
                          },
                          'Reset 2-step',
                        )
                      : null,
                  ),
                ),
              );
            }),
          ),
        ),
      );
    } catch (err) {
      mount(list, renderError(err));
    }
    await loadPending();
  };

  /** People who signed in with the school's provider and have no role yet (sso-pending.js). */
  const loadPending = async () => {
    // Assigning SSO roles is trust-wide (the server refuses a school admin).
    if (!trustWide) return;
    await drawPending(pendingList, {
      reason: () => roleReason.value.trim(),
      needReason: () => roleReason.focus(),
      say: (text, kind) => say.say(text, kind),
      changed: load,
    });
  };
  const pendingList = h('div');

  const username = /** @type {HTMLInputElement} */ (
    h('input', { required: true, pattern: '[a-z0-9][a-z0-9._\\-]{1,63}', autocomplete: 'off' })
  );
  const displayName = /** @type {HTMLInputElement} */ (h('input', { maxlength: '200' }));
  const role = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      null,
      ROLES.map((r) => h('option', { value: r, selected: r === 'it' }, r)),
    )
  );
  // A new account of a trust-wide admin: trust-wide unless chosen; of a school admin: all its schools.
  const newSchool = schoolPicker(
    schools.trustWide ? null : schools.list.map((x) => x.id),
    'Schools of the new account',
  );
  mount(
    main,
    h('h1', null, 'Staff accounts'),
    h(
      'form',
      {
        class: 'card filters',
        onsubmit: async (/** @type {Event} */ e) => {
          e.preventDefault();
          const chosen = schools.show ? picked(newSchool) : null;
          if (typeof chosen === 'string') {
            say.say(chosen, 'error');
            return;
          }
          try {
            const res = await api.createUser({
              username: username.value.trim().toLowerCase(),
              displayName: displayName.value.trim(),
              role: role.value,
              ...(chosen ? { schools: chosen } : {}),
            });
            if (res.oneTimePassword)
              showOnce(res.user?.username ?? username.value, String(res.oneTimePassword));
            username.value = '';
            displayName.value = '';
            say.say(res.request ? DSL_REQUESTED : 'Account created.', 'ok');
            await load();
          } catch (err) {
            say.say(/** @type {Error} */ (err).message, 'error');
          }
        },
      },
      field('Username', username, 'lower case, e.g. j.smith'),
      field('Name', displayName),
      field('Role', role),
      schools.show
        ? field(
            'Schools',
            newSchool,
            schools.trustWide ? 'trust-wide, or one or more schools' : 'one or more of your schools',
          )
        : null,
      h('button', { type: 'submit' }, 'Create account'),
    ),
    say.el,
    secret,
    field(
      'Reason for a role change (required before "Save role", "Give role", "Refuse", "Reset 2-step")',
      roleReason,
    ),
    list,
    trustWide ? h('h2', null, 'Signed in with SSO, waiting for a role') : null,
    trustWide ? pendingList : null,
  );
  await load();
}
