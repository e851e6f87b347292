// The "Identity" section of the device page: how the device was enrolled, what it replaced or
// was replaced by, why a clone is suspected, and (admin, IT) revoke or retire it with a reason.
// Kept out of pages/device.js so that page's other sections change independently.
import { api } from './api.js';
import { badge, ext, extLong, field, fmtTime, h, mount } from './h.js';
import { renderError, statusLine } from './ui.js';

/**
 * @param {any} raw the device record (`GET /devices/:id` → device)
 * @param {{ canAct: boolean, onChanged: () => void }} opts
 * @returns {{ el: HTMLElement, update: (raw: any) => void }} `update` redraws from a newer record
 *   (the live feed), unless someone is typing a reason.
 */
export function identitySection(raw, opts) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'identity-h' });
  draw(box, raw, opts);
  return {
    el: box,
    update: (next) => {
      const typing = /** @type {HTMLTextAreaElement | null} */ (box.querySelector('#identity-reason'));
      if (typing?.value) return;
      draw(box, next, opts);
    },
  };
}

/** @param {HTMLElement} box @param {any} d @param {{ canAct: boolean, onChanged: () => void }} opts */
function draw(box, d, opts) {
  const revoked = d?.revokedAt !== undefined && d?.revokedAt !== null;
  const retired = d?.retiredAt !== undefined && d?.retiredAt !== null;
  /** @type {any[]} */
  const suspicion = Array.isArray(d?.cloneSuspicion) ? d.cloneSuspicion : [];
  const state = retired
    ? badge('retired', 'bad')
    : revoked
      ? badge('revoked', 'bad')
      : badge('enrolled', 'ok');
  mount(
    box,
    h('h2', { id: 'identity-h' }, 'Identity'),
    h(
      'dl',
      { class: 'facts', id: 'identity-facts' },
      fact('State', h('span', { id: 'identity-state' }, state)),
      fact('Enrolled', fmtTime(d?.enrolledAt)),
      revoked
        ? fact(
            'Revoked',
            h(
              'span',
              { id: 'identity-revoked' },
              `${fmtTime(d.revokedAt)} by `,
              ext(d.revokedBy ?? '', 60),
              ': ',
              extLong(d.revokedReason ?? '', 300),
            ),
          )
        : null,
      retired
        ? fact('Retired', [
            `${fmtTime(d.retiredAt)} by `,
            ext(d.retiredBy ?? '', 60),
            ': ',
            ext(d.retiredReason ?? '', 200),
            d.purgedAt ? ` · data deleted by retention ${fmtTime(d.purgedAt)}` : ' · data not deleted yet',
          ])
        : null,
      d?.replaces ? fact('Replaces', deviceLink(d.replaces)) : null,
      d?.replacement
        ? fact(
            'Replacement',
            d.replacement.how === 'approval'
              ? [
                  'approved by ',
                  ext(d.replacement.approvedBy ?? '', 60),
                  ': ',
                  ext(d.replacement.reason ?? '', 200),
                ]
              : d.replacement.how === 'proof'
                ? 'the old device key was shown'
                : 'the old identity had not been seen for a long time',
          )
        : null,
      d?.replacedBy ? fact('Replaced by', deviceLink(d.replacedBy)) : null,
      d?.revokedConnectAttempts
        ? fact(
            'Revoked key still connecting',
            `${d.revokedConnectAttempts.count} times, last ${fmtTime(d.revokedConnectAttempts.lastAt)} from ${d.revokedConnectAttempts.lastAddress}`,
          )
        : null,
      fact(
        'Clone suspicion',
        suspicion.length === 0
          ? 'none'
          : h(
              'ul',
              { class: 'plain', id: 'clone-suspicion' },
              suspicion
                .slice(-10)
                .reverse()
                .map((s) =>
                  h(
                    'li',
                    null,
                    badge('suspected clone', 'warn'),
                    ` ${fmtTime(s.at)} `,
                    extLong(s.reason, 300),
                  ),
                ),
            ),
      ),
    ),
    opts.canAct && !retired ? actions(box, d, opts) : null,
  );
}

/** Revoke / retire with a required reason. @param {HTMLElement} box @param {any} d @param {{ canAct: boolean, onChanged: () => void }} opts */
function actions(box, d, opts) {
  const reason = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { id: 'identity-reason', 'aria-required': 'true', rows: '2', maxlength: '500' })
  );
  const status = statusLine();
  /** @param {'revoke' | 'retire'} what */
  const act = async (what) => {
    const why = reason.value.trim();
    if (!why) {
      status.say(`Say why you ${what} this device: it is kept in the audit log.`, 'error');
      reason.focus();
      return;
    }
    status.say(what === 'revoke' ? 'Revoking…' : 'Retiring…');
    try {
      const res = what === 'revoke' ? await api.revokeDevice(d.id, why) : await api.retireDevice(d.id, why);
      draw(box, res?.device ?? d, opts);
      opts.onChanged();
    } catch (err) {
      status.say('', '');
      mount(status.el, renderError(err));
    }
  };
  const revoked = d?.revokedAt !== undefined && d?.revokedAt !== null;
  return h(
    'form',
    { class: 'identity-actions', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    h(
      'p',
      { class: 'muted small' },
      'Revoke: the agent is disconnected and its key refused from now on (re-enrolment needs a new enrolment). ',
      'Retire: revoke it for good; retention then deletes its timeline and screenshots (not alerts or their evidence) after retention.retiredDays (30 by default).',
    ),
    field('Reason (required, recorded in the audit log)', reason),
    h(
      'div',
      { class: 'buttons' },
      revoked
        ? null
        : h('button', { type: 'button', class: 'danger', onclick: () => act('revoke') }, 'Revoke device'),
      h('button', { type: 'button', class: 'danger', onclick: () => act('retire') }, 'Retire device'),
    ),
    status.el,
  );
}

/** @param {string} id */
function deviceLink(id) {
  return h('a', { href: `#/devices/${encodeURIComponent(id)}` }, ext(id, 40));
}

/** @param {string} label @param {unknown} value */
function fact(label, value) {
  return [h('dt', null, label), h('dd', null, value)];
}
