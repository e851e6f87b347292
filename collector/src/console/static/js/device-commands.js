// The device page's "Commands" card: IT and admins send an agent command (lock now, rescan USB,
// refresh inventory) to an online device, and everyone who sees the device sees the last
// commands with the result the agent reported, and a policy the agent refused. Kept apart from
// pages/device.js so the page's other controls change independently.
import { api } from './api.js';
import { badge, ext, fmtTime, h, mount } from './h.js';
import { OPTIONS } from './options.js';
import { statusLine, table } from './ui.js';

/** @type {Record<string, string>} Command kind (the collector's COMMAND_KINDS, from options.js) → button label. */
const LABELS = { LOCK_NOW: 'Lock now', RESCAN_USB: 'Rescan USB', REFRESH_INVENTORY: 'Refresh inventory' };
const ACTIONS = OPTIONS.commandKinds.map((kind) => [LABELS[kind] ?? kind, kind]);

/**
 * @param {string} id the device id
 * @param {boolean} canSend admin or it
 * @returns {{ el: HTMLElement, update: (d: import('./model.js').DeviceView) => void }}
 */
export function deviceCommands(id, canSend) {
  const list = h('div');
  const rejected = h('div');
  const line = statusLine();
  const reason = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'text',
      maxlength: '200',
      placeholder: 'optional',
      'aria-label': 'Reason for the command',
    })
  );
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  /** @param {string} kind @param {string} label */
  const send = async (kind, label) => {
    for (const b of buttons) b.disabled = true;
    line.say(`Sending “${label}”…`);
    try {
      await api.deviceCommand(id, kind, reason.value.trim());
      line.say(`“${label}” sent; waiting for the device to answer.`, 'ok');
      reason.value = '';
    } catch (err) {
      const e = /** @type {any} */ (err);
      line.say(`“${label}” not sent: ${e?.message ?? e}${e?.code ? ` (${e.code})` : ''}`, 'error');
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  for (const [label, kind] of ACTIONS) {
    buttons.push(
      /** @type {HTMLButtonElement} */ (
        h('button', { type: 'button', class: 'secondary', onclick: () => void send(kind, label) }, label)
      ),
    );
  }
  const el = h(
    'section',
    { class: 'card', 'aria-labelledby': 'cmd-h', id: 'device-commands' },
    h('h2', { id: 'cmd-h' }, 'Commands'),
    canSend
      ? [
          h('p', { class: 'muted small' }, 'Sent only while the device is online; every command is audited.'),
          h('div', { class: 'actions' }, buttons, h('label', null, ' Reason ', reason)),
          line.el,
        ]
      : null,
    rejected,
    list,
  );

  /** @param {import('./model.js').DeviceView} d */
  const update = (d) => {
    const live = d.raw?.status ?? d.raw?.live ?? {};
    /** @type {any[]} */
    const commands = Array.isArray(live.commands) ? [...live.commands].reverse() : [];
    mount(
      list,
      commands.length === 0
        ? h('p', { class: 'muted' }, 'No commands sent recently.')
        : table(
            'Recent commands, newest first',
            ['Sent', 'Command', 'By', 'Result'],
            commands.map((c) =>
              h(
                'tr',
                { 'data-command-id': String(c.id ?? '') },
                h('td', null, fmtTime(c.requestedAt)),
                h(
                  'td',
                  null,
                  LABELS[c.kind] ?? String(c.kind),
                  c.reason ? h('div', { class: 'muted small' }, ext(c.reason, 200)) : null,
                ),
                h('td', null, ext(c.requestedBy, 60)),
                h(
                  'td',
                  { class: 'command-result' },
                  !c.result
                    ? badge('waiting', 'warn')
                    : c.result.ok
                      ? [badge('done', 'ok'), ` ${fmtTime(c.result.at)}`]
                      : [badge('failed', 'bad'), ' ', ext(c.result.error, 300)],
                ),
              ),
            ),
          ),
    );
    const r = live.policyRejected;
    mount(
      rejected,
      r
        ? h(
            'p',
            { class: 'policy-rejected', role: 'status' },
            badge('policy refused', 'bad'),
            ` The agent refused policy v${Number(r.version)} (${fmtTime(r.at)}) and keeps enforcing the previous one: `,
            ext(r.error, 300),
          )
        : null,
    );
  };
  return { el, update };
}
