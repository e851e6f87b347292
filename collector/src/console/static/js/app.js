// Console shell: who is signed in, the navigation for their role, hash routing to pages, and the
// severity-5 banner for safeguarding staff. Pages are modules exporting
// `render(main, ctx) → cleanup?`; the shell calls the cleanup when the page is left.
import { api, setCsrfToken, setUnauthenticatedHandler } from './api.js';
import { h, mount } from './h.js';
import { connectLive, disconnectLive, onLive } from './live.js';
import { loadSchools } from './schools.js';
import { renderError } from './ui.js';

/** @typedef {{ username: string, role: 'admin'|'it'|'dsl'|'governor', mustChangePassword?: boolean, mustEnrolMfa?: boolean, schools?: string[] | null }} User */
/** @typedef {{ user: User, params: Record<string, string>, query: URLSearchParams, navigate: (hash: string) => void, refreshUser: () => Promise<void> }} PageContext */

/**
 * Which pages each role sees; the server enforces the same rules on every API route. `trust`:
 * trust-wide staff only (the server refuses an account limited to some schools). `schools`: only
 * in a trust of several schools (a one-school deployment shows no school anywhere).
 */
const NAV = [
  { hash: '#/devices', label: 'Devices', roles: ['admin', 'it', 'dsl'] },
  { hash: '#/health', label: 'Device health', roles: ['admin', 'it'] },
  { hash: '#/alerts', label: 'Alerts', roles: ['dsl'] },
  { hash: '#/incidents', label: 'Incidents', roles: ['dsl'] },
  { hash: '#/inbox', label: 'Requests & notices', roles: ['dsl'] },
  { hash: '#/policy', label: 'Policy & enrolment', roles: ['admin', 'it'] },
  { hash: '#/reports', label: 'Reports', roles: ['admin', 'dsl', 'governor'] },
  { hash: '#/data-protection', label: 'Data protection', roles: ['admin', 'dsl'], trust: true },
  { hash: '#/notify', label: 'Notifications', roles: ['admin', 'dsl'], trust: true },
  { hash: '#/school-notify', label: 'School alert contacts', roles: ['admin', 'dsl'], schools: true },
  { hash: '#/users', label: 'Staff', roles: ['admin'] },
  { hash: '#/sign-in', label: 'Sign-in', roles: ['admin'] },
  { hash: '#/schools', label: 'Schools', roles: ['admin'], trust: true },
  { hash: '#/audit', label: 'Audit log', roles: ['admin'] },
];

const HOME = { admin: '#/devices', it: '#/devices', dsl: '#/alerts', governor: '#/reports' };

/** Hash patterns → page modules (loaded on first use). */
const ROUTES = [
  { re: /^#\/login$/, page: 'login' },
  { re: /^#\/password$/, page: 'password' },
  { re: /^#\/mfa$/, page: 'mfa' },
  { re: /^#\/account$/, page: 'account' },
  { re: /^#\/devices$/, page: 'devices' },
  { re: /^#\/devices\/([^/]+)$/, page: 'device', names: ['id'] },
  { re: /^#\/health$/, page: 'health' },
  { re: /^#\/alerts$/, page: 'alerts' },
  { re: /^#\/alerts\/([^/]+)$/, page: 'alert', names: ['id'] },
  { re: /^#\/incidents$/, page: 'incidents' },
  { re: /^#\/incidents\/([^/]+)$/, page: 'incident', names: ['id'] },
  { re: /^#\/policy$/, page: 'policy' },
  { re: /^#\/reports$/, page: 'reports' },
  { re: /^#\/data-protection$/, page: 'data-protection' },
  { re: /^#\/audit$/, page: 'audit' },
  { re: /^#\/users$/, page: 'users' },
  { re: /^#\/sign-in$/, page: 'sign-in' },
  { re: /^#\/inbox$/, page: 'inbox' },
  { re: /^#\/notify$/, page: 'notify' },
  { re: /^#\/school-notify$/, page: 'school-notify' },
  { re: /^#\/schools$/, page: 'schools' },
];

/** @type {User | null} */
let user = null;
/** Whether the signed-in account works in a trust of several schools (pages marked `schools`). */
let severalSchools = false;
/** @type {(() => void) | void | null} */
let cleanup = null;
let renderSeq = 0;
/** @type {(() => void) | null} */
let stopBanner = null;
/** The page asked for before sign-in (e.g. an alert linked from an email). @type {string | null} */
let afterSignIn = null;

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const top = /** @type {HTMLElement} */ (document.getElementById('top'));
const banner = /** @type {HTMLElement} */ (document.getElementById('banner'));

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

async function loadUser() {
  try {
    const me = await api.me();
    user = { ...(me.user ?? me), mustEnrolMfa: me.mustEnrolMfa === true };
    setCsrfToken(me.csrfToken ?? null);
    // Until the password is changed (or 2-step set up) the collector answers nothing else.
    const ready = user && !user.mustChangePassword && !user.mustEnrolMfa;
    severalSchools =
      Boolean(ready) &&
      (Array.isArray(user?.schools) || (await loadSchools(/** @type {User} */ (user))).show);
  } catch (err) {
    if (/** @type {any} */ (err).status !== 401) throw err;
    user = null;
    setCsrfToken(null);
  }
}

function renderTop() {
  if (!user) {
    mount(top, h('div', { class: 'brand' }, 'Custodian'));
    return;
  }
  const current = location.hash.split('/').slice(0, 2).join('/');
  const u = user;
  mount(
    top,
    h('div', { class: 'brand' }, 'Custodian'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      NAV.filter(
        (n) =>
          n.roles.includes(u.role) &&
          !(n.trust && Array.isArray(u.schools)) &&
          (!n.schools || severalSchools),
      ).map((n) => h('a', { href: n.hash, 'aria-current': n.hash === current ? 'page' : null }, n.label)),
    ),
    h(
      'div',
      { class: 'who' },
      h(
        'a',
        { class: 'muted', href: '#/account', title: 'My account' },
        `${u.username} · ${u.role}${Array.isArray(u.schools) ? ` · ${u.schools.join(', ')}` : ''}`,
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: async () => {
            try {
              await api.logout();
            } finally {
              user = null;
              setCsrfToken(null);
              disconnectLive();
              navigate('#/login');
            }
          },
        },
        'Sign out',
      ),
    ),
  );
}

/** Severity-5 alerts reach logged-in DSLs at once: live push, a banner that stays until dismissed. */
function startBanner() {
  stopBanner?.();
  stopBanner = null;
  if (user?.role !== 'dsl') return;
  stopBanner = onLive('alert', (data) => {
    const alert = data?.alert ?? data;
    if (Number(alert?.severity) < 5) return;
    const id = String(alert.id ?? '');
    mount(
      banner,
      h(
        'div',
        { class: 'banner sev5' },
        h('strong', null, 'Severity 5 alert: '),
        `${String(alert.category ?? 'unknown category')} on ${String(alert.hostname ?? alert.deviceId ?? 'a device')}`,
        ' ',
        h('a', { href: `#/alerts/${encodeURIComponent(id)}` }, 'Review now'),
        ' ',
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => banner.replaceChildren() },
          'Dismiss',
        ),
      ),
    );
  });
}

async function route() {
  const seq = ++renderSeq;
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
  const full = location.hash || '#/';
  // `#/login?sso=CODE`: the page's own query after `?` (the SSO callback reports refusals so).
  const q = full.indexOf('?');
  let hash = q < 0 ? full : full.slice(0, q);
  const pageQuery = new URLSearchParams(q < 0 ? '' : full.slice(q + 1));
  if (!user && hash !== '#/login') {
    // A link from a notification email (#/alerts/…) opens after sign-in, not the home page.
    if (hash !== '#/') afterSignIn = hash;
    hash = '#/login';
  }
  if (user?.mustChangePassword && hash !== '#/password') hash = '#/password';
  else if (user?.mustEnrolMfa && hash !== '#/mfa') hash = '#/mfa';
  if (user && !user.mustChangePassword && !user.mustEnrolMfa && (hash === '#/' || hash === '#/login')) {
    hash = afterSignIn ?? HOME[user.role] ?? '#/devices';
    afterSignIn = null;
  } else if (user && (hash === '#/' || hash === '#/login')) hash = HOME[user.role] ?? '#/devices';
  if (hash !== full && !(q >= 0 && hash === full.slice(0, q))) {
    history.replaceState(null, '', hash);
  }
  renderTop();
  const match = ROUTES.map((r) => ({ r, m: r.re.exec(hash) })).find((x) => x.m);
  if (!match?.m) {
    mount(main, h('h1', null, 'Not found'), h('p', null, 'There is no such page.'));
    return;
  }
  /** @type {Record<string, string>} */
  const params = {};
  (match.r.names ?? []).forEach((name, i) => {
    params[name] = decodeURIComponent(match.m?.[i + 1] ?? '');
  });
  try {
    const mod = await import(`./pages/${match.r.page}.js`);
    if (seq !== renderSeq) return;
    // Each render gets its own container: a page still finishing an await after the user has
    // moved on writes into this detached element, never over the page that replaced it.
    const view = h('div', { class: 'view' });
    mount(main, view);
    /** @type {PageContext} */
    const ctx = {
      user: /** @type {User} */ (user),
      params,
      query: pageQuery,
      navigate,
      refreshUser: async () => {
        await loadUser();
        if (user && !user.mustChangePassword && !user.mustEnrolMfa) connectLive(user.role);
        startBanner();
      },
    };
    const result = await mod.render(view, ctx);
    if (seq !== renderSeq) {
      if (typeof result === 'function') result();
      return;
    }
    cleanup = result;
  } catch (err) {
    if (seq === renderSeq) mount(main, renderError(err));
  }
}

async function startConsole() {
  setUnauthenticatedHandler(() => {
    user = null;
    disconnectLive();
    navigate('#/login');
  });
  try {
    await loadUser();
  } catch (err) {
    mount(main, renderError(err));
    return;
  }
  if (user && !user.mustChangePassword && !user.mustEnrolMfa) connectLive(user.role);
  startBanner();
  window.addEventListener('hashchange', () => void route());
  await route();
}

async function startEnrol() {
  mount(top, h('div', { class: 'brand' }, 'Custodian'));
  const mod = await import('./pages/enrol.js');
  await mod.render(main);
}

if (location.pathname === '/enrol') void startEnrol();
else void startConsole();
