// Replacement requests waiting for approval (admin, IT), shown above the device table: an
// enrolment of a machine id whose device is still live, without proof of that device's key. A
// legitimate one is a reinstalled school laptop; an illegitimate one is someone taking over a
// device with a BYOD code or the enrol secret and its (public) machine id. Approving revokes the
// old device and lets the new one connect; denying leaves the old one as it is. Both need a
// reason and are audited. Everything in a request that came from the device is shown as text.
import { api } from './api.js';
import { badge, ext, extLong, fmtAgo, fmtTime, h, mount } from './h.js';
import { onLive } from './live.js';
import { renderError, statusLine } from './ui.js';

/**
 * A section that fills itself; empty (hidden) when nothing waits. A new request leaves a note on
 * the device it would replace, which arrives as a `device` message: the queue reloads then (at
 * most once a second, and not while a reason is being typed). Call `stop` when the page is left.
 */
export function replacementQueue() {
  const box = h('section', {
    class: 'card',
    id: 'replacement-queue',
    'aria-labelledby': 'replacements-h',
    hidden: true,
  });
  void load(box);
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  const off = onLive('device', () => {
    timer ??= setTimeout(() => {
      timer = null;
      const typing = [...box.querySelectorAll('textarea')].some(
        (t) => /** @type {HTMLTextAreaElement} */ (t).value,
      );
      if (!typing) void load(box);
    }, 1000);
  });
  return {
    el: box,
    stop: () => {
      off();
      if (timer) clearTimeout(timer);
    },
  };
}

/** @param {HTMLElement} box */
async function load(box) {
  /** @type {any[]} */
  let list;
  try {
    list = (await api.replacements('pending'))?.replacements ?? [];
  } catch (err) {
    // DSL users may read devices but not decide replacements: show nothing to them.
    if (/** @type {any} */ (err)?.status === 403) return;
    box.hidden = false;
    mount(box, h('h2', { id: 'replacements-h' }, 'Replacement requests'), renderError(err));
    return;
  }
  box.hidden = list.length === 0;
  mount(
    box,
    h('h2', { id: 'replacements-h' }, `Replacement requests waiting for approval (${list.length})`),
    h(
      'p',
      { class: 'muted small' },
      'Someone enrolled a machine that is already enrolled as a live device, without its key. ',
      'Approve only a replacement you expected (a reinstalled laptop); approving revokes the old device.',
    ),
    list.map((r) => item(box, r)),
  );
}

/** @param {HTMLElement} box @param {any} r */
function item(box, r) {
  const reason = /** @type {HTMLTextAreaElement} */ (
    h('textarea', { 'aria-required': 'true', rows: '1', maxlength: '500', 'aria-label': 'Reason' })
  );
  const status = statusLine();
  /** @param {'approve' | 'deny'} what */
  const decide = async (what) => {
    const why = reason.value.trim();
    if (!why) {
      status.say('Give a reason: it is kept in the audit log.', 'error');
      reason.focus();
      return;
    }
    try {
      if (what === 'approve') await api.approveReplacement(r.id, why);
      else await api.denyReplacement(r.id, why);
      await load(box);
    } catch (err) {
      mount(status.el, renderError(err));
    }
  };
  return h(
    'article',
    { class: 'replacement', 'data-request-id': r.id },
    h(
      'p',
      null,
      badge(r.kind === 'byod' ? 'BYOD' : 'school', r.kind === 'byod' ? 'info' : ''),
      ' ',
      h('strong', null, ext(r.facts?.hostname ?? '', 60)),
      ` asked ${fmtAgo(r.requestedAt)} (${fmtTime(r.requestedAt)}) from ${r.ip} with the ${r.credential} to replace `,
      h(
        'a',
        { href: `#/devices/${encodeURIComponent(r.replaces)}` },
        ext(r.replacesHostname || r.replaces, 60),
      ),
      ' ',
      r.replacesConnected
        ? badge('online now', 'warn')
        : badge(`last seen ${fmtAgo(r.replacesLastSeenAt)}`, 'off'),
      r.byod?.userName ? [' · user ', ext(r.byod.userName, 60)] : null,
    ),
    h(
      'ul',
      { class: 'plain small' },
      (r.reasons ?? []).map((/** @type {string} */ x) => h('li', null, extLong(x, 300))),
    ),
    h(
      'div',
      { class: 'buttons' },
      reason,
      h('button', { type: 'button', onclick: () => decide('approve') }, 'Approve replacement'),
      h('button', { type: 'button', class: 'danger', onclick: () => decide('deny') }, 'Deny'),
    ),
    status.el,
  );
}
