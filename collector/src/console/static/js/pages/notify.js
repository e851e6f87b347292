// Notification settings (admin, DSL): the SMTP relay (its password is never shown again), who
// is told (contacts, the rota, the alert threshold), the school calendar (hours, term dates),
// webhooks (a new one's secret is shown once), a "send test" button and the delivery log.
// Lists are edited as one line per item in a text box; the server checks every field.
import { api } from '../api.js';
import { ext, field, fmtTime, h, mount } from '../h.js';
import { OPTIONS } from '../options.js';
import { loading, renderError, saveThenRedraw, statusLine, table } from '../ui.js';

/** @param {string} text @returns {string[][]} one array of comma-separated cells per non-empty line */
export function lines(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => l.split(',').map((c) => c.trim()));
}

/** @param {string} text */
export function parseContacts(text) {
  return lines(text).map(([id = '', name = '', email = '', role = '']) => ({ id, name, email, role }));
}

/** @param {string} text */
export function parseBands(text) {
  return lines(text).map(([min = '', window = '', contacts = '']) => ({
    minSeverity: Number(min),
    window,
    contacts: contacts.split(/\s+/).filter((c) => c !== ''),
  }));
}

/** @param {string} text */
export function parseTerms(text) {
  return lines(text).map(([name = '', start = '', end = '']) => ({ name, start, end }));
}

/** @param {string[]} values @param {string} current */
export function select(values, current) {
  return h(
    'select',
    null,
    values.map((v) => h('option', { value: v, selected: v === current }, v)),
  );
}

/** @param {string} name @param {Record<string, unknown>} [attrs] */
export function input(name, attrs = {}) {
  return /** @type {HTMLInputElement} */ (h('input', { name, ...attrs }));
}

/** @param {HTMLElement} main */
export async function render(main) {
  mount(main, loading('Loading notification settings'));
  const say = statusLine();
  const secretBox = h('div', { 'aria-live': 'polite', id: 'webhook-secret' });

  const save = saveThenRedraw(say, () => draw());

  const draw = async () => {
    /** @type {any} */
    let s;
    try {
      s = (await api.notifySettings()).settings;
    } catch (err) {
      mount(main, renderError(err));
      return;
    }
    const smtp = s.smtp ?? {
      host: '',
      port: 587,
      security: 'starttls',
      user: '',
      from: '',
      passwordSet: false,
    };
    const host = input('host', { value: smtp.host });
    const port = input('port', { type: 'number', min: 1, max: 65535, value: smtp.port });
    const security = select([...OPTIONS.smtpSecurity], smtp.security);
    const user = input('user', { value: smtp.user });
    const password = input('password', {
      type: 'password',
      autocomplete: 'new-password',
      placeholder: smtp.passwordSet ? 'stored (leave empty to keep)' : 'none set',
    });
    const from = input('from', { type: 'email', value: smtp.from });

    const threshold = select(['1', '2', '3', '4', '5', '6'], String(s.alertMinSeverity));
    const escalate = input('escalate', {
      type: 'number',
      min: 1,
      max: 1440,
      value: s.rota.escalateAfterMinutes,
    });
    const stopOn = select([...OPTIONS.rotaStopOn], s.rota.stopOn);
    const contacts = /** @type {HTMLTextAreaElement} */ (
      h('textarea', {
        name: 'contacts',
        rows: 4,
        value: s.contacts
          .map((/** @type {any} */ c) => [c.id, c.name, c.email, c.role].join(', '))
          .join('\n'),
      })
    );
    const bands = /** @type {HTMLTextAreaElement} */ (
      h('textarea', {
        name: 'bands',
        rows: 3,
        value: s.rota.bands
          .map((/** @type {any} */ b) => [b.minSeverity, b.window, b.contacts.join(' ')].join(', '))
          .join('\n'),
      })
    );

    const timeZone = input('timeZone', { value: s.timeZone });
    const days = input('days', { value: s.schoolHours.days.join(' ') });
    const start = input('start', { type: 'time', value: s.schoolHours.start });
    const end = input('end', { type: 'time', value: s.schoolHours.end });
    const terms = /** @type {HTMLTextAreaElement} */ (
      h('textarea', {
        name: 'terms',
        rows: 4,
        value: s.termDates.map((/** @type {any} */ t) => [t.name, t.start, t.end].join(', ')).join('\n'),
      })
    );

    const hookName = input('hookName', { placeholder: 'DSL Teams channel' });
    const hookUrl = input('hookUrl', { type: 'url', placeholder: 'https://…' });
    const hookEvents = OPTIONS.webhookEvents.map(
      (ev) =>
        /** @type {HTMLInputElement} */ (
          h('input', { type: 'checkbox', value: ev, checked: ev === 'alert' })
        ),
    );
    const testTo = input('testTo', { type: 'email', placeholder: 'you@school.sch.uk' });

    /** @type {any[]} */
    let deliveries = [];
    try {
      deliveries = (await api.notifyDeliveries({ limit: 30 })).deliveries ?? [];
    } catch {
      deliveries = [];
    }

    mount(
      main,
      h('h1', null, 'Notifications'),
      h(
        'p',
        { class: 'muted' },
        'Emails and webhooks carry the alert id, severity, category and a link to the console — never the words, the window, the pupil or the screenshot.',
      ),
      say.el,
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'smtp-h' },
        h('h2', { id: 'smtp-h' }, 'Email (SMTP relay)'),
        h(
          'form',
          {
            id: 'smtp-form',
            onsubmit: (/** @type {Event} */ e) => {
              e.preventDefault();
              void save('Email settings saved.', () =>
                api.putNotifySettings({
                  smtp: host.value.trim()
                    ? {
                        host: host.value.trim(),
                        port: Number(port.value),
                        security: /** @type {HTMLSelectElement} */ (security).value,
                        user: user.value.trim(),
                        ...(password.value ? { password: password.value } : {}),
                        from: from.value.trim(),
                      }
                    : null,
                }),
              );
            },
          },
          field('Host', host, 'empty: send no email'),
          field('Port', port),
          field(
            'Security',
            security,
            'tls (port 465), starttls (587, required), none (a relay on this server only)',
          ),
          field('User', user),
          field('Password', password),
          field('From', from),
          h('button', { type: 'submit' }, 'Save email settings'),
        ),
        h(
          'form',
          {
            id: 'test-form',
            class: 'inline-form',
            onsubmit: (/** @type {Event} */ e) => {
              e.preventDefault();
              void save('Test email accepted by the relay.', () =>
                api.notifyTest({ channel: 'email', to: testTo.value.trim() }),
              );
            },
          },
          field('Send a test to', testTo),
          h('button', { type: 'submit', id: 'send-test' }, 'Send test'),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'rota-h' },
        h('h2', { id: 'rota-h' }, 'Who is told'),
        h(
          'form',
          {
            id: 'rota-form',
            onsubmit: (/** @type {Event} */ e) => {
              e.preventDefault();
              void save('Contacts and rota saved.', () =>
                api.putNotifySettings({
                  alertMinSeverity: Number(/** @type {HTMLSelectElement} */ (threshold).value),
                  contacts: parseContacts(contacts.value),
                  rota: {
                    escalateAfterMinutes: Number(escalate.value),
                    stopOn: /** @type {HTMLSelectElement} */ (stopOn).value,
                    bands: parseBands(bands.value),
                  },
                }),
              );
            },
          },
          field('Alerts at or above severity', threshold, '6 = no alert notifications'),
          field('Contacts', contacts, 'one per line: id, name, email, role (dsl, it, admin, governor)'),
          field(
            'Rota',
            bands,
            `one band per line: minimum severity, window (${OPTIONS.timeWindows.join(', ')}), contact ids in order separated by spaces; the first matching band is used`,
          ),
          field('Next contact after (minutes)', escalate),
          field('Stop the chain when the alert is', stopOn),
          h('button', { type: 'submit' }, 'Save contacts and rota'),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'cal-h' },
        h('h2', { id: 'cal-h' }, 'School calendar'),
        h(
          'form',
          {
            id: 'calendar-form',
            onsubmit: (/** @type {Event} */ e) => {
              e.preventDefault();
              void save('Calendar saved.', () =>
                api.putNotifySettings({
                  timeZone: timeZone.value.trim(),
                  schoolHours: {
                    days: days.value
                      .split(/[\s,]+/)
                      .filter((d) => d !== '')
                      .map(Number),
                    start: start.value,
                    end: end.value,
                  },
                  termDates: parseTerms(terms.value),
                }),
              );
            },
          },
          field('Time zone', timeZone),
          field('School days', days, '1 = Monday … 7 = Sunday'),
          field('School starts', start),
          field('School ends', end),
          field(
            'Term dates',
            terms,
            'one term per line: name, first day, last day (YYYY-MM-DD); other dates are holidays',
          ),
          h('button', { type: 'submit' }, 'Save calendar'),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'hooks-h' },
        h('h2', { id: 'hooks-h' }, 'Webhooks'),
        secretBox,
        s.webhooks.length === 0
          ? h('p', { class: 'muted' }, 'No webhooks.')
          : table(
              'Webhooks',
              ['Name', 'URL', 'Receives', ''],
              s.webhooks.map((/** @type {any} */ w) =>
                h(
                  'tr',
                  { 'data-webhook': w.id },
                  h('td', null, ext(w.name, 60)),
                  h('td', null, ext(w.url, 80)),
                  h('td', null, w.events.join(', ')),
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
                          onclick: () =>
                            save('Test delivered.', () =>
                              api.notifyTest({ channel: 'webhook', webhookId: w.id }),
                            ),
                        },
                        'Send test',
                      ),
                      h(
                        'button',
                        {
                          type: 'button',
                          class: 'danger',
                          onclick: () => save('Webhook removed.', () => api.deleteWebhook(w.id)),
                        },
                        'Remove',
                      ),
                    ),
                  ),
                ),
              ),
              { id: 'webhooks' },
            ),
        h(
          'form',
          {
            id: 'webhook-form',
            onsubmit: async (/** @type {Event} */ e) => {
              e.preventDefault();
              try {
                const res = await api.createWebhook({
                  name: hookName.value.trim(),
                  url: hookUrl.value.trim(),
                  events: hookEvents.filter((c) => c.checked).map((c) => c.value),
                });
                await draw();
                say.say('Webhook added.', 'ok');
                mount(
                  secretBox,
                  h(
                    'div',
                    { class: 'code-box' },
                    h('p', null, 'Signing secret (shown once; put it in the receiver now):'),
                    h('code', { class: 'big' }, String(res.secret ?? '')),
                  ),
                );
              } catch (err) {
                say.say(/** @type {Error} */ (err).message, 'error');
              }
            },
          },
          field('Name', hookName),
          field('URL', hookUrl),
          h(
            'fieldset',
            null,
            h('legend', null, 'Receives'),
            hookEvents.map((c) => h('label', null, c, ` ${c.value}`)),
          ),
          h('button', { type: 'submit' }, 'Add webhook'),
        ),
      ),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'log-h' },
        h('h2', { id: 'log-h' }, 'Delivery log'),
        deliveries.length === 0
          ? h('p', { class: 'muted' }, 'Nothing sent yet.')
          : table(
              'Delivery attempts, newest first',
              ['When', 'Endpoint', 'Attempt', 'Result', 'Answer'],
              deliveries.map((d) =>
                h(
                  'tr',
                  null,
                  h('td', { class: 'nowrap' }, fmtTime(d.at)),
                  h('td', null, ext(d.endpoint, 40)),
                  h('td', null, String(d.attempt)),
                  h('td', null, d.ok ? 'delivered' : 'failed'),
                  h('td', null, ext(d.detail, 120)),
                ),
              ),
              { id: 'deliveries' },
            ),
      ),
    );
  };
  await draw();
}
