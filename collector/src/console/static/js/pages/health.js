// Device health and lifecycle (admin, IT): the health queue (offline in school hours, agent
// stopped without its shutdown notice, lock or USB enforcement failing, suspected clones, stream
// gaps) with acknowledge/resolve, and the stale devices (not seen for the stale-days setting)
// with bulk revoke/retire for leavers — a reason is required and each device is audited.
import { api } from '../api.js';
import { badge, ext, fmtAgo, fmtTime, h, mount } from '../h.js';
import { renderHealthSettings } from '../health-settings.js';
import { OPTIONS } from '../options.js';
import { loading, renderError, statusLine, table } from '../ui.js';

/** @type {Record<string, string>} */
const KIND = {
  offline: 'offline in school hours',
  'agent-stopped': 'agent stopped without shutdown',
  'lock-failing': 'screen lock failing',
  'usb-enforcement-failing': 'USB blocking failing',
  'clone-suspected': 'suspected clone',
  'outbox-gap': 'events missing',
};
/** @type {Record<string, string>} */
const ACTION = { revoke: 'Revoke selected', retire: 'Retire selected' };

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

  const reason = /** @type {HTMLInputElement} */ (
    h('input', { type: 'text', id: 'bulk-reason', maxlength: 500, placeholder: 'e.g. Year 13 leavers, July' })
  );
  const bulkSay = statusLine();

  const loadStale = async () => {
    try {
      const data = await api.staleDevices();
      /** @type {HTMLInputElement[]} */
      const boxes = [];
      const bulk = (/** @type {string} */ action) => async () => {
        const ids = boxes.filter((b) => b.checked).map((b) => b.value);
        if (ids.length === 0) return bulkSay.say('Select the devices first.', 'error');
        if (!reason.value.trim())
          return bulkSay.say('Say why (kept in the audit log for each device).', 'error');
        try {
          const res = await api.bulkDevices(action, ids, reason.value.trim());
          const failed = res.results.filter((/** @type {any} */ r) => !r.ok);
          bulkSay.say(
            `${action === 'retire' ? 'Retired' : 'Revoked'} ${res.results.length - failed.length} device(s).` +
              (failed.length
                ? ` Not done: ${failed.map((/** @type {any} */ r) => `${r.deviceId} (${r.error.message})`).join(', ')}`
                : ''),
            failed.length ? 'error' : 'ok',
          );
          reason.value = '';
          await loadStale();
        } catch (err) {
          bulkSay.say(/** @type {Error} */ (err).message, 'error');
        }
      };
      mount(
        staleBox,
        h(
          'p',
          null,
          `Not seen for ${data.staleDays} days or more (never connected: since enrolment). `,
          h('a', { href: api.staleReportUrl(), download: 'stale-devices.csv' }, 'Download the report (CSV)'),
        ),
        data.devices.length === 0
          ? h('p', { class: 'muted', id: 'stale-empty' }, 'No stale devices.')
          : h(
              'div',
              { class: 'table-wrap' },
              table(
                'Stale devices',
                ['Select', 'Device', 'Kind', 'Last seen', 'Days unseen'],
                data.devices.map((/** @type {any} */ s) => {
                  const box = /** @type {HTMLInputElement} */ (
                    h('input', {
                      type: 'checkbox',
                      value: s.device.id,
                      'aria-label': `Select ${s.device.id}`,
                    })
                  );
                  boxes.push(box);
                  return h(
                    'tr',
                    { 'data-stale-id': s.device.id },
                    h('td', null, box),
                    h(
                      'td',
                      null,
                      h(
                        'a',
                        { href: `#/devices/${encodeURIComponent(s.device.id)}` },
                        ext(s.device.hostname || s.device.id, 40),
                      ),
                      ' ',
                      h('code', { class: 'muted' }, ext(s.device.id, 64)),
                    ),
                    h('td', null, ext(s.device.kind, 10)),
                    h('td', { class: 'nowrap' }, s.lastSeenAt ? fmtAgo(s.lastSeenAt) : 'never'),
                    h('td', null, String(s.daysUnseen)),
                  );
                }),
              ),
            ),
        data.devices.length === 0
          ? null
          : h(
              'div',
              { class: 'bulk-actions' },
              h(
                'div',
                { class: 'field' },
                h(
                  'label',
                  { for: 'bulk-reason' },
                  'Reason (required, recorded in the audit log for each device)',
                ),
                reason,
              ),
              h(
                'div',
                { class: 'buttons' },
                OPTIONS.bulkActions.map((a) =>
                  h('button', { type: 'button', onclick: bulk(a) }, ACTION[a] ?? a),
                ),
              ),
              bulkSay.el,
            ),
      );
    } catch (err) {
      mount(staleBox, renderError(err));
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
  await Promise.all([loadQueue(), loadStale(), renderHealthSettings(settingsBox)]);
}
