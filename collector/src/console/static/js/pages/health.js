// Device health and lifecycle (admin, IT): the health queue (offline in school hours, agent
// stopped without its shutdown notice, lock or USB enforcement failing, suspected clones, stream
// gaps) with acknowledge/resolve; the stale devices with bulk revoke/retire for leavers
// (stale-devices.js); the school's health settings (health-settings.js).
import { api } from '../api.js';
import { badge, ext, fmtTime, h, mount } from '../h.js';
import { renderHealthSettings } from '../health-settings.js';
import { OPTIONS } from '../options.js';
import { renderStaleDevices } from '../stale-devices.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @type {Record<string, string>} */
const KIND = {
  offline: 'offline in school hours',
  'agent-stopped': 'agent stopped without shutdown',
  'lock-failing': 'screen lock failing',
  'usb-enforcement-failing': 'USB blocking failing',
  'clone-suspected': 'suspected clone',
  'outbox-gap': 'events missing',
  'agent-uninstalled': 'agent uninstalled',
};

/** @param {any} a */
function who(a) {
  if (a.state === 'resolved') return `resolved by ${a.resolvedBy} ${fmtTime(a.resolvedAt)}`;
  if (a.state === 'acknowledged') return `acknowledged by ${a.acknowledgedBy} ${fmtTime(a.acknowledgedAt)}`;
  return '';
}

/** @param {HTMLElement} main */
export async function render(main) {
  const say = statusLine();
  const queue = h('div', null, loading('Loading the health queue'));
  const staleBox = h('div', null, loading('Loading stale devices'));
  const settingsBox = h('div', null, loading('Loading settings'));
  const stateSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'health-state', onchange: () => void loadQueue() },
      h('option', { value: 'open,acknowledged' }, 'open and acknowledged'),
      OPTIONS.healthStates.map((s) => h('option', { value: s }, s)),
    )
  );

  const loadQueue = async () => {
    try {
      const { alerts } = await api.healthAlerts({ state: stateSelect.value });
      mount(
        queue,
        alerts.length === 0
          ? h('p', { class: 'muted', id: 'health-empty' }, 'Nothing in the queue.')
          : h(
              'div',
              { class: 'table-wrap' },
              table(
                'Device health queue',
                ['Opened', 'Device', 'Problem', 'State', 'Note', 'Actions'],
                alerts.map((/** @type {any} */ a) => {
                  const note = /** @type {HTMLInputElement} */ (
                    h('input', {
                      type: 'text',
                      maxlength: 500,
                      'aria-label': 'Note',
                      placeholder: 'note (optional)',
                    })
                  );
                  /** @param {'acknowledgeHealth'|'resolveHealth'} call @param {string} done */
                  const act = (call, done) => async () => {
                    try {
                      await api[call](a.id, note.value.trim() || undefined);
                      say.say(done, 'ok');
                      await loadQueue();
                    } catch (err) {
                      say.say(/** @type {Error} */ (err).message, 'error');
                    }
                  };
                  return h(
                    'tr',
                    { 'data-health-id': a.id, 'data-device-id': a.deviceId, 'data-kind': a.kind },
                    h('td', { class: 'nowrap' }, fmtTime(a.openedAt)),
                    h(
                      'td',
                      null,
                      h(
                        'a',
                        { href: `#/devices/${encodeURIComponent(a.deviceId)}` },
                        ext(a.hostname || a.deviceId, 40),
                      ),
                      ' ',
                      h('code', { class: 'muted' }, ext(a.deviceId, 64)),
                    ),
                    h(
                      'td',
                      null,
                      h('strong', null, KIND[a.kind] ?? ext(a.kind, 40)),
                      h('br'),
                      ext(a.summary, 300),
                    ),
                    h(
                      'td',
                      { class: 'health-state' },
                      badge(a.state, a.state === 'open' ? 'warn' : ''),
                      ' ',
                      who(a),
                    ),
                    h('td', null, a.state === 'resolved' ? ext(a.resolution ?? '', 200) : note),
                    h(
                      'td',
                      null,
                      h(
                        'div',
                        { class: 'buttons' },
                        a.state === 'open'
                          ? h(
                              'button',
                              { type: 'button', onclick: act('acknowledgeHealth', 'Acknowledged.') },
                              'Acknowledge',
                            )
                          : null,
                        a.state !== 'resolved'
                          ? h(
                              'button',
                              { type: 'button', onclick: act('resolveHealth', 'Resolved.') },
                              'Resolve',
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
      mount(queue, renderError(err));
    }
  };

  mount(
    main,
    h('h1', null, 'Device health'),
    h(
      'section',
      { 'aria-labelledby': 'health-queue-h' },
      h('h2', { id: 'health-queue-h' }, 'Health queue'),
      h('div', { class: 'field' }, h('label', { for: 'health-state' }, 'Show'), stateSelect),
      say.el,
      queue,
    ),
    h(
      'section',
      { 'aria-labelledby': 'stale-h' },
      h('h2', { id: 'stale-h' }, 'Stale devices (leavers)'),
      staleBox,
    ),
    h(
      'section',
      { 'aria-labelledby': 'health-settings-h' },
      h('h2', { id: 'health-settings-h' }, 'Settings'),
      settingsBox,
    ),
  );
  await Promise.all([loadQueue(), renderStaleDevices(staleBox), renderHealthSettings(settingsBox)]);
}
