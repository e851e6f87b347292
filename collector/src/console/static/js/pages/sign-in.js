// Sign-in settings (admin): the ONE sign-in settings record — the console's public URL, the
// OpenID Connect providers (issuer, client id, a write-only client secret that is never shown
// back, scopes, groups claim, role mappings, allowed domains), the roles whose password sign-in
// is switched off (never admin: the break-glass) and the roles that need an authenticator app
// (the server's floor shown and not removable) — and the people waiting for a role after their
// first SSO sign-in (sso-pending.js).
import { api } from '../api.js';
import { ext, field, h, mount } from '../h.js';
import { OPTIONS } from '../options.js';
import { drawPending } from '../sso-pending.js';
import { loading, renderError, statusLine } from '../ui.js';

/** Words for the presets (values from OPTIONS.ssoPresets). @type {Record<string, string>} */
const PRESET_LABEL = {
  google: 'Google Workspace',
  entra: 'Microsoft Entra ID',
  generic: 'Other OpenID Connect provider',
};

/** Splits a list typed with spaces, commas or new lines. @param {string} text */
const words = (text) =>
  text
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);

/** @param {HTMLElement} main */
export async function render(main) {
  mount(main, h('h1', null, 'Sign-in settings'), loading('Loading the sign-in settings'));
  let data;
  try {
    data = await api.signInSettings();
  } catch (err) {
    mount(main, h('h1', null, 'Sign-in settings'), renderError(err));
    return;
  }
  const say = statusLine();
  const pendingSay = statusLine();
  const settingsSlot = h('div');
  const pendingSlot = h('div');
  const pendingReason = /** @type {HTMLInputElement} */ (
    h('input', {
      maxlength: '1000',
      placeholder: 'e.g. new IT technician, confirmed with the business manager',
    })
  );
  const loadPending = () =>
    drawPending(pendingSlot, {
      reason: () => pendingReason.value.trim(),
      needReason: () => pendingReason.focus(),
      say: (text, kind) => pendingSay.say(text, kind),
      changed: loadPending,
    });
  mount(
    main,
    h('h1', null, 'Sign-in settings'),
    settingsSlot,
    h(
      'section',
      { class: 'card', id: 'sso-pending', 'aria-labelledby': 'pending-h' },
      h('h2', { id: 'pending-h' }, 'Signed in with SSO, waiting for a role'),
      h(
        'p',
        { class: 'muted' },
        'A person whose groups match no role mapping waits here with no access. Give a role (admin, it or governor — a DSL is made on the Staff page and approved by a DSL) or refuse.',
      ),
      field('Reason (recorded in the audit log; required before "Give role" or "Refuse")', pendingReason),
      pendingSay.el,
      pendingSlot,
    ),
  );
  drawSettings(settingsSlot, data, say);
  await loadPending();
}

/**
 * @param {HTMLElement} slot @param {any} data the GET answer `{settings, presets, mfaFloor}`
 * @param {ReturnType<typeof statusLine>} say
 */
function drawSettings(slot, data, say) {
  const s = data?.settings ?? {};
  const presets = data?.presets ?? {};
  /** @type {string[]} */
  const floor = Array.isArray(data?.mfaFloor) ? data.mfaFloor.map(String) : [];
  const publicUrl = /** @type {HTMLInputElement} */ (
    h('input', {
      name: 'publicUrl',
      class: 'wide',
      maxlength: '300',
      placeholder: 'https://custodian.school.example',
      value: String(s.publicUrl ?? ''),
    })
  );
  const list = h('div');
  /** @type {ReturnType<typeof providerEditor>[]} */
  const editors = [];
  const redraw = () =>
    mount(
      list,
      editors.map((e) => e.el),
    );
  /** @param {any} p */
  const add = (p) => {
    const ed = providerEditor(p, editors.length, publicUrl, () => {
      editors.splice(editors.indexOf(ed), 1);
      redraw();
    });
    editors.push(ed);
    redraw();
  };
  for (const p of Array.isArray(s.providers) ? s.providers : []) add(p);
  publicUrl.addEventListener('input', () => {
    for (const e of editors) e.refresh();
  });

  const newPreset = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: 'new-preset' },
      OPTIONS.ssoPresets.map((k) => h('option', { value: k }, PRESET_LABEL[k] ?? k)),
    )
  );
  const addButton = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: () => {
        const preset = newPreset.value;
        const base = presets[preset] ?? {};
        add({
          id: preset === 'generic' ? 'sso' : preset,
          label: PRESET_LABEL[preset] ?? preset,
          preset,
          issuer: String(base.issuer ?? ''),
          clientId: '',
          scopes: Array.isArray(base.scopes) ? base.scopes : ['openid', 'email', 'profile'],
          groupsClaim: String(base.groupsClaim ?? ''),
          roleMapping: [],
          allowedDomains: [],
          enabled: false,
          hasClientSecret: false,
        });
      },
    },
    'Add provider',
  );

  const disabled = new Set(
    (Array.isArray(s.localLoginDisabledRoles) ? s.localLoginDisabledRoles : []).map(String),
  );
  const localBoxes = OPTIONS.localLoginRoles.map((role) => ({
    role,
    box: /** @type {HTMLInputElement} */ (
      h('input', { type: 'checkbox', name: `local-off-${role}`, checked: disabled.has(role) })
    ),
  }));
  const mfaOn = new Set((Array.isArray(s.mfaRequiredRoles) ? s.mfaRequiredRoles : []).map(String));
  const mfaBoxes = OPTIONS.roles.map((role) => ({
    role,
    box: /** @type {HTMLInputElement} */ (
      h('input', {
        type: 'checkbox',
        name: `mfa-${role}`,
        checked: mfaOn.has(role) || floor.includes(role),
        disabled: floor.includes(role),
      })
    ),
  }));

  const save = async () => {
    say.say('Saving…');
    const body = {
      publicUrl: publicUrl.value.trim().replace(/\/$/, ''),
      providers: editors.map((e) => e.read()),
      localLoginDisabledRoles: localBoxes.filter((b) => b.box.checked).map((b) => b.role),
      mfaRequiredRoles: mfaBoxes.filter((b) => b.box.checked && !floor.includes(b.role)).map((b) => b.role),
    };
    try {
      const res = await api.putSignInSettings(body);
      drawSettings(slot, { ...data, settings: res?.settings ?? body }, say);
      say.say('Saved. The client secret is stored and will not be shown again.', 'ok');
    } catch (err) {
      const e = /** @type {any} */ (err);
      say.say(`${String(e?.message ?? e)}${e?.code ? ` (${e.code})` : ''}`, 'error');
    }
  };

  mount(
    slot,
    h(
      'form',
      {
        onsubmit: (/** @type {Event} */ e) => {
          e.preventDefault();
          void save();
        },
      },
      h(
        'section',
        { class: 'card', id: 'sso-providers', 'aria-labelledby': 'sso-h' },
        h('h2', { id: 'sso-h' }, 'Single sign-on (OpenID Connect)'),
        field(
          'Console address (public URL)',
          publicUrl,
          'The https origin staff use for the console. The redirect URI given to the provider is built from it, never from the request.',
        ),
        list,
        h('div', { class: 'buttons' }, field('Preset for a new provider', newPreset), addButton),
      ),
      h(
        'section',
        { class: 'card', id: 'local-login', 'aria-labelledby': 'local-h' },
        h('h2', { id: 'local-h' }, 'Password sign-in switched off'),
        h(
          'p',
          { class: 'muted' },
          'Staff with these roles must use SSO: even a right password is refused (CUST_ERR_LOCAL_LOGIN_DISABLED). Switch a role off only once its staff sign in with SSO.',
        ),
        localBoxes.map((b) => h('label', { class: 'check' }, b.box, ` ${b.role}`)),
        h(
          'label',
          { class: 'check' },
          h('input', { type: 'checkbox', name: 'local-off-admin', disabled: true }),
          ' admin — cannot be switched off: local admin accounts (with an authenticator app) are the way in when the provider is down',
        ),
      ),
      h(
        'section',
        { class: 'card', id: 'mfa-roles', 'aria-labelledby': 'mfa-h' },
        h('h2', { id: 'mfa-h' }, 'Authenticator app required'),
        h(
          'p',
          { class: 'muted' },
          'Local accounts with these roles must set up an authenticator app before they can do anything. SSO accounts use the provider’s own two-step sign-in.',
        ),
        mfaBoxes.map((b) =>
          h(
            'label',
            { class: 'check', 'data-mfa-role': b.role },
            b.box,
            ` ${b.role}`,
            floor.includes(b.role)
              ? h('span', { class: 'muted' }, ' — always required (server setting), cannot be lowered')
              : '',
          ),
        ),
      ),
      h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Save sign-in settings')),
      say.el,
    ),
  );
}

/**
 * One provider's fields. The client secret field starts empty whatever is stored: typing sets a
 * new one, leaving it empty keeps the stored one (the server never sends it).
 * @param {any} p @param {number} n @param {HTMLInputElement} publicUrl @param {() => void} remove
 */
function providerEditor(p, n, publicUrl, remove) {
  /** @param {string} name @param {unknown} value @param {Record<string, unknown>} [attrs] */
  const input = (name, value, attrs = {}) =>
    /** @type {HTMLInputElement} */ (h('input', { name, value: String(value ?? ''), ...attrs }));
  const id = input('id', p.id, { pattern: '[a-z0-9][a-z0-9\\-]{0,31}', maxlength: '32', required: true });
  const label = input('label', p.label, { maxlength: '80', required: true });
  const preset = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: 'preset' },
      OPTIONS.ssoPresets.map((k) =>
        h('option', { value: k, selected: k === p.preset }, PRESET_LABEL[k] ?? k),
      ),
    )
  );
  const issuer = input('issuer', p.issuer, { class: 'wide', maxlength: '500', required: true });
  const clientId = input('clientId', p.clientId, { class: 'wide', maxlength: '500', required: true });
  const secret = input('clientSecret', '', {
    type: 'password',
    autocomplete: 'new-password',
    maxlength: '2000',
    placeholder: p.hasClientSecret ? 'stored — leave empty to keep it' : 'required',
  });
  const scopes = input('scopes', (Array.isArray(p.scopes) ? p.scopes : []).join(' '), { class: 'wide' });
  const groupsClaim = input('groupsClaim', p.groupsClaim, { maxlength: '100' });
  const domains = input(
    'allowedDomains',
    (Array.isArray(p.allowedDomains) ? p.allowedDomains : []).join(' '),
    {
      class: 'wide',
    },
  );
  const enabled = /** @type {HTMLInputElement} */ (
    h('input', { type: 'checkbox', name: 'enabled', checked: p.enabled === true })
  );
  const redirect = h('code', { 'data-redirect-uri': '' });
  const refresh = () => {
    redirect.textContent = `${publicUrl.value.trim().replace(/\/$/, '') || '<console address>'}/api/v1/auth/sso/${id.value.trim() || '<id>'}/callback`;
  };
  id.addEventListener('input', refresh);
  refresh();

  const mappingRows = h('div', { class: 'mappings' });
  /** @type {{ group: HTMLInputElement, role: HTMLSelectElement, el: HTMLElement }[]} */
  const mappings = [];
  /** @param {{ group?: unknown, role?: unknown }} m */
  const addMapping = (m) => {
    const group = input('mapping-group', m.group, { maxlength: '200', 'aria-label': 'Group or app role' });
    const role = /** @type {HTMLSelectElement} */ (
      h(
        'select',
        { name: 'mapping-role', 'aria-label': 'gives the role' },
        OPTIONS.ssoRoles.map((r) => h('option', { value: r, selected: r === m.role }, r)),
      )
    );
    const row = {
      group,
      role,
      el: h(
        'div',
        { class: 'row', 'data-mapping': '' },
        group,
        ' → ',
        role,
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              mappings.splice(mappings.indexOf(row), 1);
              row.el.remove();
            },
          },
          'Remove mapping',
        ),
      ),
    };
    mappings.push(row);
    mappingRows.append(row.el);
  };
  for (const m of Array.isArray(p.roleMapping) ? p.roleMapping : []) addMapping(m);

  const el = h(
    'fieldset',
    { class: 'card', 'data-provider': String(n) },
    h('legend', null, 'Provider ', ext(p.label || p.id || 'new', 80)),
    field('Provider id', id, 'Short, used in the redirect URI; lower case letters, digits, "-".'),
    field('Button text ("Sign in with …")', label),
    field('Preset', preset),
    field('Issuer', issuer, 'https only. Entra: https://login.microsoftonline.com/<tenant-id>/v2.0'),
    field('Client id', clientId),
    field(
      'Client secret',
      secret,
      p.hasClientSecret
        ? 'A secret is stored and is never shown. Leave this empty to keep it; type a new one to replace it.'
        : 'No secret is stored yet.',
    ),
    field('Scopes', scopes, 'Separated by spaces; must include openid.'),
    field(
      'Groups claim',
      groupsClaim,
      'The ID token claim with groups or app roles (Entra: roles). Empty: an admin gives every role.',
    ),
    h(
      'div',
      { class: 'field' },
      h('span', null, 'Role mappings (group or app role → role; never dsl)'),
      mappingRows,
    ),
    h(
      'button',
      { type: 'button', class: 'secondary', onclick: () => addMapping({ role: 'it' }) },
      'Add mapping',
    ),
    field(
      'Allowed domains',
      domains,
      'Google Workspace: the school’s domain(s), checked against the hd claim. Separated by spaces.',
    ),
    h('label', { class: 'check' }, enabled, ' Enabled (shows "Sign in with …" on the login page)'),
    h('p', { class: 'small' }, 'Redirect URI to register with the provider: ', redirect),
    h('button', { type: 'button', class: 'danger', onclick: remove }, 'Remove provider'),
  );
  return {
    el,
    refresh,
    read() {
      const typed = secret.value;
      return {
        id: id.value.trim(),
        label: label.value.trim(),
        preset: preset.value,
        issuer: issuer.value.trim(),
        clientId: clientId.value.trim(),
        ...(typed ? { clientSecret: typed } : {}),
        scopes: words(scopes.value),
        groupsClaim: groupsClaim.value.trim(),
        roleMapping: mappings
          .map((m) => ({ group: m.group.value.trim(), role: m.role.value }))
          .filter((m) => m.group),
        allowedDomains: words(domains.value.toLowerCase()),
        enabled: enabled.checked,
      };
    },
  };
}
