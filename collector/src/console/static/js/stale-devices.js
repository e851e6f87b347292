// Stale devices (Device health page): devices not seen for the stale-days setting, selected for
// bulk revoke / retire (leavers) with one reason, recorded in the audit log for each device; and
// the CSV report.
import { api } from './api.js';
import { ext, fmtAgo, h, mount } from './h.js';
import { OPTIONS } from './options.js';
import { renderError, statusLine, table } from './ui.js';

/** @type {Record<string, string>} */
const ACTION = { revoke: 'Revoke selected', retire: 'Retire selected' };

/** @param {HTMLElement} staleBox */
export async function renderStaleDevices(staleBox) {
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
  await loadStale();
}
